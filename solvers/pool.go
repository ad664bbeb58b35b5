package solvers

import (
	"runtime"
	"time"

	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// blocksize is the unit of work: large enough that handing a block to
// another core costs little next to computing it, small enough that the
// MNIST MLP's 784×128 weight spreads over several cores. Results do not
// depend on it except through the clipping norm's summation order, which
// is fixed per block regardless of which goroutine runs it.
const blocksize = 16384

// parallelMin is the step size, in elements, below which handing blocks to
// another core costs more than it saves.
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

// blockJob is one task over all blocks of an Adam, as the worker pool
// sees it: part i is block i. It lives in the Adam, so handing it to the
// pool allocates nothing.
type blockJob struct {
	workpool.State
	a *Adam
	t task
	// helpers is how many pool workers may join this step's runs.
	helpers int
	// timed says whether this step is timed for the chooser, from start;
	// awake whether a worker was polling when its first run began; split
	// whether the previous timed step was split.
	timed, awake, split bool
	start               time.Time
}

// RunPart runs the job's task on block i; blocks are independent and
// each writes only its own elements and its own partial sum, so any
// goroutine may run any block.
func (j *blockJob) RunPart(i, worker int) {
	if testHookWorkerBlock != nil && worker != workpool.Caller {
		testHookWorkerBlock()
	}
	j.a.runBlock(j.t, i)
}

// testHookWorkerBlock, set only by tests, is called whenever a pool
// worker runs a block.
var testHookWorkerBlock func()

// planStep decides whether this step's blocks are shared with the pool's
// workers, and with how many: WithWorkers, GOMAXPROCS and the size of the
// step bound them, and the chooser (workpool.Chooser) drops the helpers
// while steps have lately been faster without them, as on a machine whose
// other cores are busy with other processes.
func (a *Adam) planStep() {
	j := &a.job
	j.helpers, j.timed, j.awake = 0, false, false
	if len(a.blocks) < 2 || a.totalLen() < parallelMin {
		return
	}
	w := a.workers
	if w == 0 {
		w = runtime.NumCPU()
	}
	n := min(w, runtime.GOMAXPROCS(0)) - 1
	if n < 1 {
		return
	}
	if a.forceSplit || a.choose.Next() {
		j.helpers = n
	}
	j.timed, j.start = true, time.Now()
}

// endStep gives the chooser the duration of a successful step. A split
// step that found no worker polling is left out when it follows a solo
// step, since it then measures the wake-up that ends a solo period; after
// a split step it counts, because then steps come too far apart for the
// workers' polling to bridge, and every split step pays for a wake-up.
func (a *Adam) endStep() {
	j := &a.job
	if !j.timed {
		return
	}
	split := j.helpers > 0
	a.choose.Record(split, !split || j.awake || j.split, time.Since(j.start), a.totalLen())
	j.split = split
}

// run does task t on every block, on the calling goroutine and on up to
// the step's helpers. The pool is workpool's, which fastblas uses too:
// its workers poll for work for a while after each call instead of
// blocking, so a block reaches another core in well under a microsecond
// during training, where waking a blocked goroutine took longer than the
// whole step. Which goroutine runs which block changes nothing in the
// results.
func (a *Adam) run(t task) {
	j := &a.job
	j.a, j.t = a, t
	awake := workpool.Run(j, len(a.blocks), j.helpers)
	if t == taskSumsq {
		j.awake = awake
	}
}

func (a *Adam) totalLen() int {
	n := 0
	for i := range a.slots {
		n += a.slots[i].st.n
	}
	return n
}

// runBlock does task t on block i.
func (a *Adam) runBlock(t task, i int) {
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
