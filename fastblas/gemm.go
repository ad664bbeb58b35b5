package fastblas

import (
	"sync"
	"time"
	"unsafe"

	"github.com/adamant-ml/adamant/fastblas/internal/asm"
	"github.com/adamant-ml/adamant/internal/workpool"
)

// float is the element type of the kernels.
type float interface{ ~float32 | ~float64 }

// mr is the micro-kernel's row count for both precisions: 6 rows × 2 vector
// registers leave 12 of the 16 YMM registers as accumulators, the other 4
// for B's two vectors and A's broadcasts.
const mr = 6

// kernelSpec holds one precision's micro-kernel and its blocking sizes.
type kernelSpec[T float] struct {
	// nr is the micro-kernel's column count (two YMM vectors).
	nr int
	// kc is the depth of one packed block of B: a kc×nr panel (16 KiB for
	// float32) stays in L1 while the kernel sweeps the rows of A.
	kc int
	// mc rows of A times kc (at most 240 KiB) stay in L2 while the kernel
	// sweeps the panels of B.
	mc int
	// nc columns of packed B (kc×nc, 1 MiB) stay in L2.
	nc     int
	kernel func(k int, a *T, ars, aps int, b, c *T, ldc int, alpha, beta T, load int)
	// gathered is kernel with A gathered (element (r, p) at
	// a[rows[r]+cols[p]]), for SgemmGathered; nil for float64.
	gathered func(k int, a *T, rows, cols *int32, b, c *T, ldc int, alpha, beta T, load int)
	// packRows copies the rows of a full panel of B (nr values each).
	packRows func(dst, src unsafe.Pointer, rows, stride int)
}

// The AVX2 kernels, and the AVX-512 ones with panels of B twice as wide.
// Both compute every element with the same instructions, so they give
// bit-identical results; the AVX-512 ones do twice the work per
// instruction.
var (
	spec32 = kernelSpec[float32]{nr: 16, kc: 256, mc: 240, nc: 1024, kernel: asm.Sgemm6x16, gathered: asm.Sgemm6x16Gathered, packRows: asm.PackRows64}
	spec64 = kernelSpec[float64]{nr: 8, kc: 256, mc: 120, nc: 512, kernel: asm.Dgemm6x8, packRows: asm.PackRows64}

	spec32AVX512 = kernelSpec[float32]{nr: 32, kc: 256, mc: 240, nc: 1024, kernel: asm.Sgemm6x32AVX512, gathered: asm.Sgemm6x32AVX512Gathered, packRows: asm.PackRows128AVX512}
	spec64AVX512 = kernelSpec[float64]{nr: 16, kc: 256, mc: 120, nc: 512, kernel: asm.Dgemm6x16AVX512, packRows: asm.PackRows128AVX512}
)

// maxNR is the widest panel of B of all kernels (float32, AVX-512).
const maxNR = 32

// gemmArgs is one validated gemm call.
type gemmArgs[T float] struct {
	aTrans, bTrans bool
	m, n, k        int
	alpha, beta    T
	a              []T
	lda            int
	b              []T
	ldb            int
	c              []T
	ldc            int
	// rows and cols, when set, make A gathered: op(A)[i, p] is
	// a[rows[i]+cols[p]] (SgemmGathered), and aTrans and lda are unused.
	rows, cols []int32
}

// workspace holds one goroutine's packing buffers. Workspaces live on a
// free list of their Implementation rather than in a sync.Pool: a pool is
// emptied by every garbage collection, and a training loop collects often,
// so the buffers would be reallocated again and again.
type workspace[T float] struct {
	packA, packB []T
	// tile receives the micro-kernel's output for blocks on the right and
	// bottom edges of C, so that the kernel (and with it the rounding) is
	// the same for every element.
	tile [mr * maxNR]T
	// job describes a parallel call while this workspace is its caller's.
	job job[T]
}

// freeList is a stack of idle workspaces.
type freeList[T float] struct {
	mu    sync.Mutex
	items []*workspace[T]
}

func (fl *freeList[T]) get() *workspace[T] {
	fl.mu.Lock()
	if n := len(fl.items); n > 0 {
		ws := fl.items[n-1]
		fl.items[n-1] = nil
		fl.items = fl.items[:n-1]
		fl.mu.Unlock()
		return ws
	}
	fl.mu.Unlock()
	return new(workspace[T])
}

func (fl *freeList[T]) put(ws *workspace[T]) {
	fl.mu.Lock()
	fl.items = append(fl.items, ws)
	fl.mu.Unlock()
}

// job is a gemm call split into parts: part p computes the p-th of parts
// column ranges (splitN) or row ranges of C, whole tiles each.
type job[T float] struct {
	workpool.State
	parts  int
	g      gemmArgs[T]
	sp     *kernelSpec[T]
	splitN bool
	// own is the caller's workspace, which holds this job.
	own *workspace[T]
}

// RunPart runs one part, with the caller's workspace or the worker's own.
// Each goroutine keeps to its workspace so that its packing buffers stay
// in its core's cache instead of travelling between cores through the
// free list.
func (j *job[T]) RunPart(part, worker int) {
	ws := j.own
	if worker != workpool.Caller {
		ws = workerWorkspace[T](&workerWS[worker])
	}
	g := &j.g
	if j.splitN {
		j0, j1 := partRange(g.n, j.sp.nr, j.parts, part)
		ws.gemm(j.sp, g, 0, g.m, j0, j1)
	} else {
		i0, i1 := partRange(g.m, mr, j.parts, part)
		ws.gemm(j.sp, g, i0, i1, 0, g.n)
	}
}

// workerWorkspaces are one pool worker's workspaces.
type workerWorkspaces struct {
	ws32 *workspace[float32]
	ws64 *workspace[float64]
}

// workerWS holds each pool worker's workspaces, by worker index: a worker
// runs one part at a time, so its entry needs no lock, and the entries are
// written only when a worker first meets a precision, so neighbours on a
// cache line do not slow each other down.
var workerWS [workpool.MaxWorkers]workerWorkspaces

// workerWorkspace returns w's workspace for T, creating it on first use.
func workerWorkspace[T float](w *workerWorkspaces) *workspace[T] {
	var zero T
	switch any(zero).(type) {
	case float32:
		if w.ws32 == nil {
			w.ws32 = new(workspace[float32])
		}
		return any(w.ws32).(*workspace[T])
	default:
		if w.ws64 == nil {
			w.ws64 = new(workspace[float64])
		}
		return any(w.ws64).(*workspace[T])
	}
}

// partRange returns the part-th of parts ranges of [0, n) cut at multiples
// of tile, with the tiles spread as evenly as possible.
func partRange(n, tile, parts, part int) (lo, hi int) {
	tiles := (n + tile - 1) / tile
	lo = part * tiles / parts * tile
	hi = min((part+1)*tiles/parts*tile, n)
	return lo, hi
}

// gemm runs a validated call with m, n > 0, on the calling goroutine only
// when oneThread is set.
func gemm[T float](impl *Implementation, fl *freeList[T], sp *kernelSpec[T], g gemmArgs[T], oneThread bool) {
	if g.alpha == 0 || g.k == 0 {
		scaleC(&g)
		return
	}
	if oneThread {
		ws := fl.get()
		ws.gemm(sp, &g, 0, g.m, 0, g.n)
		fl.put(ws)
		return
	}
	large := g.m*g.n*g.k >= impl.smallWork && impl.threads > 1
	var start time.Time
	if large {
		start = time.Now()
	}
	parts, splitN := impl.plan(g.m, g.n, g.k, sp.nr)
	ws := fl.get()
	measured := true
	if parts == 1 {
		ws.gemm(sp, &g, 0, g.m, 0, g.n)
	} else {
		j := &ws.job
		j.g, j.sp, j.own, j.parts, j.splitN = g, sp, ws, parts, splitN
		measured = workpool.Run(j, parts, min(parts, impl.threads)-1)
		// Drop the references to the caller's matrices.
		j.g, j.own = gemmArgs[T]{}, nil
	}
	fl.put(ws)
	if large {
		impl.choose.Record(parts > 1, measured, time.Since(start), g.m*g.n*g.k)
	}
}

// partsPerThread is how many parts a split call has per thread. Parts are
// claimed one at a time, by the caller and by the workers, so a thread that
// the operating system deschedules (other processes, a second core that is
// busy) holds up the call by at most one part, not by half of it.
const partsPerThread = 4

// plan decides how many parts a call is split into, and along which
// dimension. Column ranges are preferred even when there are fewer of them
// than partsPerThread asks for: each part packs only its own columns of B
// and reads A in place, so nothing is done twice, whereas every row range
// packs all of B (eight row ranges made the 64×128×784 product slower on
// two threads than on one). Row ranges are used only when C has fewer
// column tiles than threads. k is never split, so that every element of C
// is summed in the same order whatever the number of threads.
func (impl *Implementation) plan(m, n, k, nr int) (parts int, splitN bool) {
	if impl.threads <= 1 || (m*n*k < impl.smallWork && !impl.forceSplit) {
		return 1, false
	}
	if !impl.forceSplit && !impl.choose.Next() {
		return 1, false
	}
	want := impl.threads * partsPerThread
	tilesM, tilesN := (m+mr-1)/mr, (n+nr-1)/nr
	splitN = tilesN >= min(impl.threads, tilesM)
	tiles := tilesM
	if splitN {
		tiles = tilesN
	}
	return min(want, tiles), splitN
}

// scaleC computes C = beta·C, which is the whole result when alpha or k is
// 0. As in the reference BLAS, A and B are then not read, and beta = 0
// clears C without reading it.
func scaleC[T float](g *gemmArgs[T]) {
	if g.beta == 1 {
		return
	}
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		if g.beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= g.beta
		}
	}
}

// gemm computes rows [i0, i1) and columns [j0, j1) of C on the calling
// goroutine, in the loop order of Goto and van de Geijn ("Anatomy of
// high-performance matrix multiplication", ACM TOMS 34(3), 2008): column
// blocks of nc, depth blocks of kc (B packed once per block), row blocks of
// mc, then nr×mr micro-tiles. Unlike there, A is not packed: the kernel
// reads six rows of A (or six columns of Aᵀ) in place with two strides,
// which saves a copy of A per column block, the largest cost next to the
// kernel for the MLP's shapes. Only a last group of fewer than six rows is
// copied, zero-padded, to a small buffer.
func (ws *workspace[T]) gemm(sp *kernelSpec[T], g *gemmArgs[T], i0, i1, j0, j1 int) {
	m, n := i1-i0, j1-j0
	for jc := 0; jc < n; jc += sp.nc {
		ncur := min(sp.nc, n-jc)
		for pc := 0; pc < g.k; pc += sp.kc {
			kcur := min(sp.kc, g.k-pc)
			ws.packBlockB(sp, g, pc, kcur, j0+jc, ncur)
			// The first depth block applies beta; later ones add to C.
			beta, load := T(1), 1
			if pc == 0 {
				beta = g.beta
				if beta == 0 {
					load = 0
				}
			}
			for ic := 0; ic < m; ic += sp.mc {
				mcur := min(sp.mc, m-ic)
				if rows := mcur % mr; rows != 0 {
					ws.packEdgeA(sp, g, i0+ic+mcur-rows, rows, pc, kcur)
				}
				ws.macro(sp, g, i0+ic, mcur, pc, kcur, j0+jc, ncur, beta, load)
			}
		}
	}
}

// macro runs the micro-kernel over rows [i, i+mcur) and depth [p0, p0+kcur)
// of op(A) and the packed kcur×ncur block of B, into C's columns
// [j, j+ncur).
func (ws *workspace[T]) macro(sp *kernelSpec[T], g *gemmArgs[T], i, mcur, p0, kcur, j, ncur int, beta T, load int) {
	nr, ldc, c, alpha := sp.nr, g.ldc, g.c, g.alpha
	// Strides of op(A) in a: along rows (ars) and along k (aps).
	ars, aps := g.lda, 1
	if g.aTrans {
		ars, aps = 1, g.lda
	}
	for jr := 0; jr < ncur; jr += nr {
		nrr := min(nr, ncur-jr)
		bp := &ws.packB[jr*kcur]
		for ir := 0; ir < mcur; ir += mr {
			mrr := min(mr, mcur-ir)
			off := (i+ir)*ldc + j + jr
			gathered := g.rows != nil && mrr == mr
			if mrr == mr && nrr == nr {
				if gathered {
					sp.gathered(kcur, &g.a[0], &g.rows[i+ir], &g.cols[p0], bp, &c[off], ldc, alpha, beta, load)
				} else {
					sp.kernel(kcur, &g.a[(i+ir)*ars+p0*aps], ars, aps, bp, &c[off], ldc, alpha, beta, load)
				}
				continue
			}
			var ap *T
			rs, ps := ars, aps
			switch {
			case mrr < mr:
				ap, rs, ps = &ws.packA[0], 1, mr
			case !gathered:
				ap = &g.a[(i+ir)*ars+p0*aps]
			}
			// Edge tiles go through ws.tile so that the kernel writes
			// nothing outside the m×n block of C.
			t := ws.tile[:mr*nr]
			if load != 0 {
				for r := 0; r < mrr; r++ {
					copy(t[r*nr:r*nr+nrr], c[off+r*ldc:off+r*ldc+nrr])
				}
			}
			if gathered {
				sp.gathered(kcur, &g.a[0], &g.rows[i+ir], &g.cols[p0], bp, &t[0], nr, alpha, beta, load)
			} else {
				sp.kernel(kcur, ap, rs, ps, bp, &t[0], nr, alpha, beta, load)
			}
			for r := 0; r < mrr; r++ {
				copy(c[off+r*ldc:off+r*ldc+nrr], t[r*nr:r*nr+nrr])
			}
		}
	}
}
