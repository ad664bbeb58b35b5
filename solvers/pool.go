package solvers

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gorgonia.org/tensor"
)

// blocksize is the unit of work: large enough that handing a block to
// another core costs little next to computing it, small enough that the
// MNIST MLP's 784×128 weight spreads over several cores. Results do not
// depend on it except through the clipping norm's summation order, which
// is fixed per block regardless of which goroutine runs it.
const blocksize = 16384

// parallelMin is the step size, in elements, below which waking helpers
// costs more than it saves.
const parallelMin = 2 * blocksize

// block is a run [lo, hi) of one slot's elements.
type block struct {
	slot   int
	lo, hi int
}

type task uint8

const (
	taskSumsq task = iota
	taskUpdate
)

// workState is an Adam's share of the worker pool: the next block to
// claim and the helpers still running.
type workState struct {
	next    atomic.Int64
	wg      sync.WaitGroup
	workers int // 0 and 1: the calling goroutine only
}

// job asks a helper to claim blocks of a until none are left.
type job struct {
	a *Adam
	t task
}

// The helpers are shared by every solver in the process and started once,
// on the first step large enough to use them. They block on jobs when
// idle, which costs nothing, and reusing them keeps Step free of
// allocations (starting a goroutine with arguments allocates a closure).
var (
	jobs      chan job
	startOnce sync.Once
	helpers   int
)

func startHelpers() {
	helpers = max(runtime.NumCPU()-1, 0)
	jobs = make(chan job, helpers)
	for i := 0; i < helpers; i++ {
		go func() {
			for j := range jobs {
				j.a.drain(j.t)
				j.a.work.wg.Done()
			}
		}()
	}
}

// run does task t on every block, on the calling goroutine and as many
// helpers as WithWorkers, GOMAXPROCS and the number of blocks allow.
// Blocks are independent, so which goroutine claims which block changes
// nothing in the results.
func (a *Adam) run(t task) {
	a.work.next.Store(0)
	n := 0
	if total := len(a.blocks); total > 1 && a.totalLen() >= parallelMin {
		if want := min(a.work.workers, runtime.GOMAXPROCS(0)); want > 1 {
			startOnce.Do(startHelpers)
			n = min(want-1, helpers, total-1)
		}
	}
	if n > 0 {
		a.work.wg.Add(n)
		for i := 0; i < n; i++ {
			jobs <- job{a: a, t: t}
		}
	}
	a.drain(t)
	if n > 0 {
		a.work.wg.Wait()
	}
}

func (a *Adam) totalLen() int {
	n := 0
	for i := range a.slots {
		n += a.slots[i].st.n
	}
	return n
}

// drain claims and runs blocks until none are left.
func (a *Adam) drain(t task) {
	for {
		i := int(a.work.next.Add(1) - 1)
		if i >= len(a.blocks) {
			return
		}
		b := a.blocks[i]
		s := &a.slots[b.slot]
		st := s.st
		switch t {
		case taskSumsq:
			if st.dtype == tensor.Float32 {
				a.sums[i] = sumsq32(s.g.Float32s()[b.lo:b.hi])
			} else {
				a.sums[i] = sumsq64(s.g.Float64s()[b.lo:b.hi])
			}
		case taskUpdate:
			if st.dtype == tensor.Float32 {
				var vmax []float32
				if st.max32 != nil {
					vmax = st.max32[b.lo:b.hi]
				}
				update32(&s.k, s.w.Float32s()[b.lo:b.hi], s.g.Float32s()[b.lo:b.hi], st.m32[b.lo:b.hi], st.v32[b.lo:b.hi], vmax)
			} else {
				var vmax []float64
				if st.max64 != nil {
					vmax = st.max64[b.lo:b.hi]
				}
				update64(&s.k, s.w.Float64s()[b.lo:b.hi], s.g.Float64s()[b.lo:b.hi], st.m64[b.lo:b.hi], st.v64[b.lo:b.hi], vmax)
			}
		}
	}
}
