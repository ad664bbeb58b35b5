package layers

import (
	"sync"

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

// convPass names a pass of convJob.
type convPass uint8

const (
	// passUnroll pads images [n0, n0+n) of x and unrolls them into col.
	passUnroll convPass = iota
	// passFold folds col back into the images' gradients in dx.
	passFold
)

// convJob runs one pass over the images of a chunk. A convolution op keeps
// one per node and element type (convJobs), so the passes allocate
// nothing.
type convJob[T float] struct {
	ranges
	pass               convPass
	g                  convGeom
	n0                 int
	x, col, padded, dx []T
}

// RunPart implements workpool.Job.
func (j *convJob[T]) RunPart(part, _ int) {
	lo, hi := j.bounds(part)
	g, in, pin, ld := j.g, j.g.c*j.g.h*j.g.w, j.g.paddedLen(), j.n*j.g.p()
	for i := lo; i < hi; i++ {
		xp := j.padded[i*pin : (i+1)*pin]
		img := (j.n0 + i) * in
		switch j.pass {
		case passUnroll:
			padImage(g, j.x[img:img+in], xp)
			im2col(g, xp, j.col, ld, i*g.p())
		case passFold:
			clear(xp)
			col2im(g, j.col, xp, ld, i*g.p())
			cropImage(g, xp, j.dx[img:img+in])
		}
	}
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

// runConvPass runs a pass over images [n0, n0+n) of a chunk.
func runConvPass[T float](js *convJobs, pass convPass, g convGeom, n0, n int, x, col, padded, dx []T) {
	j := jobFor[T](js)
	j.pass, j.g, j.n0, j.x, j.col, j.padded, j.dx = pass, g, n0, x, col, padded, dx
	j.run(j, n)
	j.x, j.col, j.padded, j.dx = nil, nil, nil, nil
}
