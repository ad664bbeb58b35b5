package layers

import (
	"math"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// The passes between a convolution's products (unrolling images, folding
// them back) and the pooling run on the process's worker pool (the one
// fastblas and Adam use), on as many threads as the installed BLAS, so
// that they use every core instead of leaving the BLAS's workers spinning.
// Each part writes only what its own range of images or planes owns, so
// the results do not depend on how the range was cut.

// partsPerThread is how many ranges each thread's share is cut into, so
// that a thread the operating system runs late holds the call up by a
// small part only.
const partsPerThread = 4

// blasThreads is the thread count of the BLAS installed with gorgonia.Use
// when it has one (a Threads method, as fastblas has), else 1.
func blasThreads() int {
	if t, ok := G.WhichBLAS().(interface{ Threads() int }); ok {
		return max(t.Threads(), 1)
	}
	return 1
}

// ranges is the cutting of [0, n) into parts, embedded by the jobs.
type ranges struct {
	workpool.State
	n, parts int
}

// bounds returns the part-th range.
func (r *ranges) bounds(part int) (lo, hi int) {
	return part * r.n / r.parts, (part + 1) * r.n / r.parts
}

// run cuts [0, n) for j (whose ranges field is r) and runs its parts on
// the calling goroutine and on the pool.
func (r *ranges) run(j workpool.Job, n int) {
	threads := blasThreads()
	r.n, r.parts = n, max(min(n, threads*partsPerThread), 1)
	workpool.Run(j, r.parts, threads-1)
}

// rangeJob runs a function over the ranges. The closure it holds is an
// allocation per call, which is why the convolution's passes, run several
// times per chunk, have their own job type (convJob) instead.
type rangeJob struct {
	ranges
	fn func(lo, hi int)
}

// RunPart implements workpool.Job.
func (j *rangeJob) RunPart(part, _ int) { j.fn(j.bounds(part)) }

var rangeJobs = sync.Pool{New: func() any { return new(rangeJob) }}

// parallelFor calls fn over disjoint ranges covering [0, n).
func parallelFor(n int, fn func(lo, hi int)) {
	if blasThreads() <= 1 || n < 2 {
		fn(0, n)
		return
	}
	j := rangeJobs.Get().(*rangeJob)
	j.fn = fn
	j.run(j, n)
	j.fn = nil
	rangeJobs.Put(j)
}

// parallelElems is the fewest elements an elementwise pass is split
// over the threads for: a split costs a few µs of handing over, which a
// Dense layer's 64×128 activations (8K values, 3 µs of ReLU) would not pay
// back, while a convolution's (400K–800K values, 0.2–0.4 ms) do.
const parallelElems = 1 << 16

// reluJob runs reluMask over ranges of its slices.
type reluJob[T float] struct {
	ranges
	x, src, dst []T
}

// RunPart implements workpool.Job. The ranges are cut at multiples of 64
// elements, so every part but the last runs the vector kernel only.
func (j *reluJob[T]) RunPart(part, _ int) {
	lo, hi := j.bounds(part)
	lo &^= 63
	if hi != j.n {
		hi &^= 63
	}
	reluMask(j.x[lo:hi], j.src[lo:hi], j.dst[lo:hi])
}

// reluJobs holds reluJobs for each element type.
var reluJobs = typedPools{
	f32: sync.Pool{New: func() any { return new(reluJob[float32]) }},
	f64: sync.Pool{New: func() any { return new(reluJob[float64]) }},
}

// typedPools is a sync.Pool per element type, for values whose type
// depends on it.
type typedPools struct{ f32, f64 sync.Pool }

// poolOf returns p's pool for T.
func poolOf[T float](p *typedPools) *sync.Pool {
	if _, ok := any(T(0)).(float32); ok {
		return &p.f32
	}
	return &p.f64
}

// parallelReLUMask is reluMask over the threads when x is large; the
// elements are independent, so the result is the same.
func parallelReLUMask[T float](x, src, dst []T) {
	if blasThreads() <= 1 || len(x) < parallelElems {
		reluMask(x, src, dst)
		return
	}
	pool := poolOf[T](&reluJobs)
	j := pool.Get().(*reluJob[T])
	j.x, j.src, j.dst = x, src[:len(x)], dst[:len(x)]
	j.run(j, len(x))
	j.x, j.src, j.dst = nil, nil, nil
	pool.Put(j)
}

// sumJob runs sumChannels over ranges of channels.
type sumJob[T float] struct {
	ranges
	x, out           []T
	n, channels, pos int
}

// RunPart implements workpool.Job.
func (j *sumJob[T]) RunPart(part, _ int) {
	lo, hi := j.bounds(part)
	sumPlanes(j.x, j.out, j.n, j.channels, j.pos, lo, hi)
}

// sumJobs holds sumJobs for each element type.
var sumJobs = typedPools{
	f32: sync.Pool{New: func() any { return new(sumJob[float32]) }},
	f64: sync.Pool{New: func() any { return new(sumJob[float64]) }},
}

// convPass names a pass of convJob.
type convPass uint8

const (
	// passForward computes y = W·col + b.
	passForward convPass = iota
	// passData computes dx = col2im(Wᵀ·dy).
	passData
	// passFilter computes each chunk's share of dWᵀ = col·dyᵀ.
	passFilter
)

// convJob runs one pass of a convolution over the chunks of a batch, a
// chunk per part: each part unrolls its images, makes its product and
// writes its images' results, all on one goroutine, so that the chunk's
// unrolled images stay in that core's cache and the threads meet once per
// pass instead of at every product and every pass between products. A
// convolution op keeps one per node and element type (convJobs), so a pass
// allocates nothing once the lanes have grown.
type convJob[T float] struct {
	workpool.State
	pass convPass
	g    convGeom
	// blas makes the chunks' products: a one-thread view of the installed
	// BLAS when the chunks are split over threads, else the BLAS itself.
	blas G.BLAS
	// gather is blas when it multiplies gathered matrices (fastblas's
	// SgemmGathered, float32 only), else nil: the forward and filter
	// passes then read the unrolled chunk from its padded images through
	// the offset tables instead of unrolling it (im2col) first.
	gather gatheringBLAS
	// tables are the offsets of the gathered unrolled chunk, for g.
	tables convTables
	// x is the input (forward, filter), w the weights (forward, data), b
	// the bias, dy the output gradient (data, filter) and out the result:
	// y, dx, or the chunks' dWᵀ shares one after the other (filter).
	x, w, b, dy, out []T
	// lanes are the scratch buffers of the parts running at once, at most
	// one per thread; busy says which are taken.
	lanes []convLane[T]
	busy  []atomic.Bool
}

// convLane is one running part's scratch: a chunk unrolled, the matrix
// the product reads or writes next to it (F × nc·OH·OW, or nc·OH·OW × F
// for the filter pass), and the chunk's images zero-padded side by side
// (one at a time where it is unrolled).
type convLane[T float] struct {
	col, mat, padded []T
}

// gatheringBLAS is the optional method of a BLAS that multiplies a
// matrix gathered through offset tables (fastblas): A[i, p] is
// a[rows[i]+cols[p]], and it reports false when it cannot run here.
type gatheringBLAS interface {
	Accelerated() bool
	SgemmGathered(tB blas.Transpose, m, n, k int, alpha float32, a []float32, rows, cols []int32, b []float32, ldb int, beta float32, c []float32, ldc int) bool
}

// convTables are the offsets that gather a chunk's unrolled matrix from
// its padded images (padChunk): pixel[i·OH·OW + oy·OW + ox] is where
// output position (oy, ox) of image i has its window, cell[(c·k+ki)·k+kj]
// where kernel cell (c, ki, kj) is within a window. colᵀ is then
// gathered with rows = pixel, cols = cell, and col with the two swapped.
type convTables struct {
	g           convGeom
	pixel, cell []int32
}

// forGeom returns the tables for g, rebuilt only when the geometry
// changes.
func (t *convTables) forGeom(g convGeom) *convTables {
	if t.g == g && t.cell != nil {
		return t
	}
	hp, wp := g.h+2*g.pad, g.w+2*g.pad
	t.g = g
	t.pixel = t.pixel[:0]
	for i := 0; i < g.chunk(); i++ {
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				t.pixel = append(t.pixel, int32(i*g.paddedLen()+oy*g.stride*wp+ox*g.stride))
			}
		}
	}
	t.cell = t.cell[:0]
	for c := 0; c < g.c; c++ {
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				t.cell = append(t.cell, int32(c*hp*wp+ki*wp+kj))
			}
		}
	}
	return t
}

// padChunk pads images [n0, n0+nc) of x side by side into dst.
func padChunk[T float](g convGeom, x, dst []T, n0, nc int) {
	in, pl := g.c*g.h*g.w, g.paddedLen()
	for i := 0; i < nc; i++ {
		padImage(g, x[(n0+i)*in:(n0+i+1)*in], dst[i*pl:(i+1)*pl])
	}
}

// acquire claims a free lane. Run starts at most len(j.lanes) parts at
// once (the caller and threads−1 workers), so one is always free.
func (j *convJob[T]) acquire() int {
	for {
		for i := range j.busy {
			if j.busy[i].CompareAndSwap(false, true) {
				return i
			}
		}
	}
}

// RunPart implements workpool.Job: part c is chunk c.
func (j *convJob[T]) RunPart(chunk, _ int) {
	li := j.acquire()
	lane := &j.lanes[li]
	g := j.g
	kk, p, nb := g.kk(), g.p(), g.chunk()
	n0 := chunk * nb
	nc := min(nb, g.n-n0)
	ld := nc * p
	lane.mat = lane.mat[:g.f*ld]
	if j.gathers() {
		j.runGathered(lane, chunk, n0, nc)
		j.busy[li].Store(false)
		return
	}
	lane.col = lane.col[:kk*ld]
	in := g.c * g.h * g.w
	switch j.pass {
	case passForward:
		unrollChunk(g, j.x, lane, n0, nc)
		if g.pixelMajorForward() {
			gemmOn(j.blas, true, true, ld, g.f, kk, 1, lane.col, ld, j.w, kk, 0, lane.mat, g.f)
			j.writePixelMajor(lane.mat, n0, nc)
			break
		}
		gemmOn(j.blas, false, false, g.f, ld, kk, 1, j.w, kk, lane.col, ld, 0, lane.mat, ld)
		scatterBias(g, lane.mat, j.b, j.out, n0, nc)
	case passData:
		gatherChunk(g, j.dy, lane.mat, n0, nc)
		gemmOn(j.blas, true, false, kk, ld, g.f, 1, j.w, kk, lane.mat, ld, 0, lane.col, ld)
		for i := 0; i < nc; i++ {
			clear(lane.padded)
			col2im(g, lane.col, lane.padded, ld, i*p)
			cropImage(g, lane.padded, j.out[(n0+i)*in:(n0+i+1)*in])
		}
	case passFilter:
		unrollChunk(g, j.x, lane, n0, nc)
		transposeChunk(g, j.dy, lane.mat, n0, nc)
		share := j.out[chunk*kk*g.f : (chunk+1)*kk*g.f]
		gemmOn(j.blas, false, false, kk, g.f, ld, 1, lane.col, ld, lane.mat, g.f, 0, share, g.f)
	}
	j.busy[li].Store(false)
}

// gathers tells whether the pass reads the unrolled chunk through the
// offset tables (runGathered) rather than unrolling it: the filter pass
// and the pixel-major forward pass, when the BLAS can.
func (j *convJob[T]) gathers() bool {
	return j.gather != nil && (j.pass == passFilter || j.pass == passForward && j.g.pixelMajorForward())
}

// runGathered runs the forward (pixel-major) or filter pass of a chunk
// with its unrolled matrix gathered from its padded images: the products
// of the unrolled paths below, without writing the unrolled chunk.
func (j *convJob[T]) runGathered(lane *convLane[T], chunk, n0, nc int) {
	g := j.g
	kk, p := g.kk(), g.p()
	ld := nc * p
	pads := any(lane.padded).([]float32)
	padChunk(g, any(j.x).([]float32), pads, n0, nc)
	pixel, cell := j.tables.pixel[:ld], j.tables.cell
	switch j.pass {
	case passForward:
		// yᵀ = colᵀ·Wᵀ, then each image transposed with the bias.
		mat := any(lane.mat).([]float32)
		mustHaveRun(j.gather.SgemmGathered(blas.Trans, ld, g.f, kk, 1, pads, pixel, cell, any(j.w).([]float32), kk, 0, mat, g.f))
		j.writePixelMajor(lane.mat, n0, nc)
	case passFilter:
		// This chunk's dWᵀ = col·dyᵀ.
		transposeChunk(g, j.dy, lane.mat, n0, nc)
		share := any(j.out[chunk*kk*g.f : (chunk+1)*kk*g.f]).([]float32)
		mustHaveRun(j.gather.SgemmGathered(blas.NoTrans, kk, g.f, ld, 1, pads, cell, pixel, any(lane.mat).([]float32), g.f, 0, share, g.f))
	}
}

// writePixelMajor writes a chunk's forward product made pixel-major
// (yᵀ: each image's OH·OW × F block in mat) to images [n0, n0+nc) of the
// output, NCHW, with the bias added.
func (j *convJob[T]) writePixelMajor(mat []T, n0, nc int) {
	g := j.g
	size := g.f * g.p()
	for i := 0; i < nc; i++ {
		transposeAddBias(j.out[(n0+i)*size:(n0+i+1)*size], mat[i*size:(i+1)*size], j.b, g.p(), g.f)
	}
}

// mustHaveRun panics (the op's boundary turns it into an error) if a
// gathering BLAS that reported its kernels available refused a product,
// which would leave the result unwritten.
func mustHaveRun(ran bool) {
	if !ran {
		panic("layers: the BLAS refused a gathered product after reporting its kernels available")
	}
}

// unrollChunk pads images [n0, n0+nc) of x one by one and unrolls them
// side by side into lane.col.
func unrollChunk[T float](g convGeom, x []T, lane *convLane[T], n0, nc int) {
	in, p := g.c*g.h*g.w, g.p()
	for i := 0; i < nc; i++ {
		padImage(g, x[(n0+i)*in:(n0+i+1)*in], lane.padded)
		im2col(g, lane.padded, lane.col, nc*p, i*p)
	}
}

// growScratch returns buf with length n, reallocating only when it is too
// small, so the lanes reach their final size in the first step.
func growScratch[T float](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// convJobs holds a node's jobs, one per element type, made on first use.
type convJobs struct {
	f32 *convJob[float32]
	f64 *convJob[float64]
}

// jobFor returns js's job for T; a nil js (an op built by hand, in a test)
// gets a new one.
func jobFor[T float](js *convJobs) *convJob[T] {
	if js == nil {
		return new(convJob[T])
	}
	switch p := any(&js.f32).(type) {
	case **convJob[T]:
		if *p == nil {
			*p = new(convJob[T])
		}
		return *p
	}
	p := any(&js.f64).(**convJob[T])
	if *p == nil {
		*p = new(convJob[T])
	}
	return *p
}

// oneThreadBLAS is the optional method of a BLAS that splits its products
// over threads (fastblas): a view of it that runs every product on the
// calling goroutine, for callers that split their work themselves.
type oneThreadBLAS interface {
	OneThread() G.BLAS
}

// runConv runs pass over the chunks of a batch. With a BLAS that has a
// one-thread view and at least as many chunks as threads, the chunks are
// split over the threads and each product runs on one; otherwise the
// chunks run in order on the calling goroutine and the BLAS splits each
// product as it does. The chunks, and every sum within them, are the
// same either way, so the results are too.
func runConv[T float](js *convJobs, pass convPass, g convGeom, x, w, b, dy, out []T) {
	j := jobFor[T](js)
	chunks := g.chunks()
	installed := G.WhichBLAS()
	threads, helpers := blasThreads(), 0
	j.blas = installed
	if one, ok := installed.(oneThreadBLAS); ok && threads > 1 && chunks >= threads {
		j.blas, helpers = one.OneThread(), threads-1
	}
	j.pass, j.g, j.gather = pass, g, nil
	// The offsets are int32: a chunk's padded images must have fewer
	// than 2³¹ values (8 GiB of float32), which any real batch has.
	if gb, ok := j.blas.(gatheringBLAS); ok && gb.Accelerated() && pass != passData && g.chunk()*g.paddedLen() <= math.MaxInt32 {
		if _, f32 := any(out).([]float32); f32 {
			j.gather = gb
			j.tables.forGeom(g)
		}
	}
	if lanes := helpers + 1; len(j.lanes) < lanes {
		j.lanes = append(j.lanes, make([]convLane[T], lanes-len(j.lanes))...)
		j.busy = make([]atomic.Bool, lanes)
	}
	// Every lane is sized for a full chunk here, before any part runs:
	// which lanes a pass uses depends on how many workers join it, so a
	// lane grown on first use could first be used, and allocate, many
	// steps into training.
	ld := g.chunk() * g.p()
	for i := range j.lanes {
		lane := &j.lanes[i]
		if !j.gathers() {
			lane.col = growScratch(lane.col, g.kk()*ld)
		}
		lane.mat = growScratch(lane.mat, g.f*ld)
		lane.padded = growScratch(lane.padded, g.chunk()*g.paddedLen())
	}
	j.x, j.w, j.b, j.dy, j.out = x, w, b, dy, out
	workpool.Run(j, chunks, helpers)
	j.x, j.w, j.b, j.dy, j.out, j.blas, j.gather = nil, nil, nil, nil, nil, nil, nil
}
