package fastblas

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/adamant-ml/adamant/fastblas/internal/asm"
	"github.com/adamant-ml/adamant/internal/workpool"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"
)

// Implementation is a BLAS for Gorgonia (it satisfies gorgonia.BLAS and
// tensor.BLAS) whose Sgemm and Dgemm run cache-blocked AVX2+FMA (and
// AVX-512) kernels on a fixed pool of goroutines. Every other routine is
// gonum's, through the embedded gonum.Implementation. Create it with New
// (the zero value works, but is plain gonum); it is safe for concurrent
// use.
type Implementation struct {
	gonum.Implementation

	threads int
	// asm selects the assembly path; false sends Sgemm and Dgemm to gonum.
	// New sets it from the CPU's features; tests clear it to exercise the
	// fallback on machines that have AVX2.
	asm bool
	// s32 and s64 are the kernels in use: AVX-512 where the CPU has it.
	s32 *kernelSpec[float32]
	s64 *kernelSpec[float64]
	// smallWork is the m·n·k below which a call runs on the caller's
	// goroutine only: below it, splitting costs more than it saves.
	smallWork int
	// forceSplit, for tests, splits every call that has two tiles or more,
	// whatever its size and whatever choose prefers.
	forceSplit bool
	// choose decides whether large calls are split: see workpool.Chooser.
	choose *workpool.Chooser

	ws32 freeList[float32]
	ws64 freeList[float64]
}

// Option configures an Implementation, in the style of Gorgonia's
// functional options (WithLearnRate, WithShape).
type Option func(*Implementation)

// WithThreads sets how many goroutines one Sgemm or Dgemm call may use.
// The default, also chosen by n ≤ 0, is runtime.GOMAXPROCS(0) at the time
// New is called. Results do not depend on n: see the package documentation.
func WithThreads(n int) Option {
	return func(impl *Implementation) {
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		impl.threads = n
	}
}

// defaultSmallWork is the m·n·k under which a call stays on one goroutine.
// Such a product takes under 3 µs on one core, so a second thread could
// save little more than the bookkeeping of a split costs: 64×128×10 took
// 2.4 µs whole and 2.9 µs split when no worker joined. The MLP's three
// products with the 10-unit layer fall below it, its two 64×128×784-sized
// ones far above.
const defaultSmallWork = 64 * 64 * 32 // 131,072

// New returns an Implementation configured by opts. It does not change the
// BLAS Gorgonia uses: call Install for that, or pass the result to
// gorgonia.Use yourself.
func New(opts ...Option) *Implementation {
	impl := &Implementation{
		threads:   runtime.GOMAXPROCS(0),
		asm:       asm.Available,
		smallWork: defaultSmallWork,
		choose:    new(workpool.Chooser),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(impl)
		}
	}
	if impl.threads < 1 {
		impl.threads = 1
	}
	impl.useAVX512(asm.AvailableAVX512)
	return impl
}

// useAVX512 selects the AVX-512 kernels (on) or the AVX2 ones.
func (impl *Implementation) useAVX512(on bool) {
	impl.s32, impl.s64 = &spec32, &spec64
	if on {
		impl.s32, impl.s64 = &spec32AVX512, &spec64AVX512
	}
}

// pickSpec returns the narrower AVX2 kernel when C has no more columns
// than it covers (the MLP's 10-unit layer): the AVX-512 kernel would pad
// its panels of B to twice the width for no gain, and was 30% slower there.
// The two give bit-identical results.
func pickSpec[T float](sp, avx2 *kernelSpec[T], n int) *kernelSpec[T] {
	if n <= avx2.nr {
		return avx2
	}
	return sp
}

// Install creates an Implementation with New(opts...) and makes it the BLAS
// of both Gorgonia and its tensor package (gorgonia.Use). Call it once at
// program start, before any graph machine (TapeMachine, LispMachine) is
// created and never while one runs: Gorgonia reads its BLAS without
// synchronisation during execution.
func Install(opts ...Option) *Implementation {
	impl := New(opts...)
	gorgonia.Use(impl)
	return impl
}

// Threads reports how many goroutines one Sgemm or Dgemm call may use.
func (impl *Implementation) Threads() int { return impl.threads }

// OneThread returns a view of impl whose Sgemm and Dgemm run on the
// calling goroutine only, with the same kernels and so the same results,
// sharing impl's workspaces; every other routine is impl's. It is for
// callers that split their work over threads themselves: the convolution
// cuts a batch into chunks of images and runs a chunk per thread, each
// with its own products, which keeps a chunk's unrolled images in one
// core's cache and saves the threads meeting at every product. Calling
// it allocates nothing.
func (impl *Implementation) OneThread() gorgonia.BLAS { return oneThread{impl} }

// oneThread is the view OneThread returns.
type oneThread struct{ *Implementation }

// Sgemm is Implementation.Sgemm on the calling goroutine.
func (o oneThread) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	o.sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true)
}

// Dgemm is Implementation.Dgemm on the calling goroutine.
func (o oneThread) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	o.dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true)
}

// Accelerated reports whether Sgemm and Dgemm run the assembly kernels
// (AVX2+FMA, and AVX-512 where available) or, when false, gonum's code: on
// CPUs without AVX2 and FMA, on other architectures, in builds with the
// purego tag, and for the zero Implementation.
func (impl *Implementation) Accelerated() bool { return impl.asm }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices, where op(X) is X or Xᵀ as tA and tB say, op(A) is m×k, op(B) is
// k×n and C is m×n. It panics, with gonum's messages, on the arguments
// gonum's Sgemm panics on (a bad transpose flag, negative sizes, leading
// dimensions or slices too small): that is the blas.Float32 contract, and
// Gorgonia validates shapes before it calls. With beta = 0, C is not read,
// so NaNs in it do not propagate.
func (impl *Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false)
}

func (impl *Implementation) sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, oneThread bool) {
	if !impl.asm {
		impl.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	gemm(impl, &impl.ws32, pickSpec(impl.s32, &spec32, n), gemmArgs[float32]{
		aTrans: tA != blas.NoTrans, bTrans: tB != blas.NoTrans,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}, oneThread)
}

// SgemmGathered computes C = alpha·A·op(B) + beta·C on the calling
// goroutine, where the m×k matrix A is not stored but gathered:
// A[i, p] = a[rows[i]+cols[p]]. With a the zero-padded images of a batch,
// rows[i] the offset of output position i's window and cols[p] that of
// kernel cell p within a window, A is their unrolled (im2col) matrix, read
// from the images instead of being written out first; with the two tables
// swapped, its transpose. Each element of C gets the FMAs Sgemm gives it on
// the stored A, in the same order: the same bits.
//
// It reports false, computing nothing, where the assembly kernels do not
// run (see Accelerated); the caller then unrolls A itself. It panics on
// negative sizes, tables shorter than m or k, an offset outside a, and B
// or C too short, as Sgemm does.
func (impl *Implementation) SgemmGathered(tB blas.Transpose, m, n, k int, alpha float32, a []float32, rows, cols []int32, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if !impl.asm {
		return false
	}
	if len(rows) < m || len(cols) < k {
		panic(fmt.Sprintf("fastblas: SgemmGathered with %d row and %d column offsets for a %d×%d A", len(rows), len(cols), m, k))
	}
	if m > 0 && k > 0 {
		if slices.Min(rows[:m]) < 0 || slices.Min(cols[:k]) < 0 {
			panic("fastblas: SgemmGathered with a negative offset")
		}
		if last := int(slices.Max(rows[:m])) + int(slices.Max(cols[:k])); last >= len(a) {
			panic(fmt.Sprintf("fastblas: SgemmGathered offsets reach element %d of %d", last, len(a)))
		}
	}
	// A's own checks pass trivially: it is validated above.
	if !checkGemm(blas.NoTrans, tB, m, n, k, m*k, max(1, k), len(b), ldb, len(c), ldc) {
		return true
	}
	gemm(impl, &impl.ws32, pickSpec(impl.s32, &spec32, n), gemmArgs[float32]{
		bTrans: tB != blas.NoTrans,
		m:      m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, ldb: ldb, c: c, ldc: ldc,
		rows: rows[:m], cols: cols[:k],
	}, true)
	return true
}

// Dgemm is Sgemm for float64 matrices; see Sgemm for the semantics.
func (impl *Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	impl.dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false)
}

func (impl *Implementation) dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int, oneThread bool) {
	if !impl.asm {
		impl.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	gemm(impl, &impl.ws64, pickSpec(impl.s64, &spec64, n), gemmArgs[float64]{
		aTrans: tA != blas.NoTrans, bTrans: tB != blas.NoTrans,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}, oneThread)
}

// gonum's panic messages (gonum/blas/gonum/errors.go, unexported there).
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// checkGemm repeats gonum's Sgemm/Dgemm argument checks in gonum's order,
// so a bad call panics with the same message as it would without
// fastblas. It returns false when there is nothing to compute (m or n is 0).
func checkGemm(tA, tB blas.Transpose, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) bool {
	switch tA {
	default:
		panic(badTranspose)
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	}
	switch tB {
	default:
		panic(badTranspose)
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	}
	if m < 0 {
		panic(mLT0)
	}
	if n < 0 {
		panic(nLT0)
	}
	if k < 0 {
		panic(kLT0)
	}
	aTrans := tA != blas.NoTrans
	if aTrans {
		if lda < max(1, m) {
			panic(badLdA)
		}
	} else if lda < max(1, k) {
		panic(badLdA)
	}
	bTrans := tB != blas.NoTrans
	if bTrans {
		if ldb < max(1, k) {
			panic(badLdB)
		}
	} else if ldb < max(1, n) {
		panic(badLdB)
	}
	if ldc < max(1, n) {
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return false
	}
	if aTrans {
		if lenA < (k-1)*lda+m {
			panic(shortA)
		}
	} else if lenA < (m-1)*lda+k {
		panic(shortA)
	}
	if bTrans {
		if lenB < (n-1)*ldb+k {
			panic(shortB)
		}
	} else if lenB < (k-1)*ldb+n {
		panic(shortB)
	}
	if lenC < (m-1)*ldc+n {
		panic(shortC)
	}
	return true
}
