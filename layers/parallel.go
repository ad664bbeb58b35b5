package layers

import (
	"sync"

	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// rangeJob is [0, n) cut into parts for the process's worker pool (the
// one fastblas and Adam use), so that the passes between a convolution's
// products (unrolling images, folding them back, pooling) run on every
// core the BLAS was given instead of leaving its workers spinning.
type rangeJob struct {
	workpool.State
	n, parts int
	fn       func(lo, hi int)
}

// RunPart runs fn over the part-th of parts equal ranges.
func (j *rangeJob) RunPart(part, _ int) {
	j.fn(part*j.n/j.parts, (part+1)*j.n/j.parts)
}

var rangeJobs = sync.Pool{New: func() any { return new(rangeJob) }}

// partsPerThread is how many ranges each thread's share is cut into, so
// that a thread the operating system runs late holds the call up by a
// small part only.
const partsPerThread = 4

// parallelFor calls fn over disjoint ranges covering [0, n), on the
// calling goroutine and on the pool's workers when the installed BLAS
// runs on several threads (it has a Threads method, as fastblas does).
// fn must write only what its range owns, so that the result does not
// depend on how [0, n) was cut.
func parallelFor(n int, fn func(lo, hi int)) {
	threads := 1
	if t, ok := G.WhichBLAS().(interface{ Threads() int }); ok {
		threads = t.Threads()
	}
	if threads <= 1 || n < 2 {
		fn(0, n)
		return
	}
	j := rangeJobs.Get().(*rangeJob)
	j.n, j.parts, j.fn = n, min(n, threads*partsPerThread), fn
	workpool.Run(j, j.parts, threads-1)
	j.fn = nil
	rangeJobs.Put(j)
}
