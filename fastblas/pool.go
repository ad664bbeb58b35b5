package fastblas

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adamant-ml/adamant/fastblas/internal/asm"
)

// maxHelpers bounds the worker pool, and with it the parts of one call.
const maxHelpers = 255

// spinTime is how long an idle worker keeps polling for work before it
// parks. Waking a parked goroutine whose thread sleeps took 40–300 µs on
// the virtual machines we measured, longer than the whole 64×784·784×128
// product, so a worker that parked between two products would never help.
// A training step issues its large products well within 1 ms of each
// other, so during training a worker stays awake, and it stops using a CPU
// 1 ms after the last product. It yields (runtime.Gosched) now and then,
// so goroutines that have work run first.
const spinTime = time.Millisecond

// Spinning polls atomic counters, with a PAUSE instruction (tens of
// nanoseconds) between polls; these spacings, in polls, keep the expensive
// steps rare: a worker retries a queued call it could not join after
// retryPolls, reads the clock every checkPolls, and every yieldPolls it
// (or a waiting caller) calls runtime.Gosched, so that goroutines queued
// on its P still run, but not so often that the scheduler's global lock,
// which Gosched takes, slows down the goroutines that do the training.
const (
	retryPolls = 1 << 5
	checkPolls = 1 << 4
	yieldPolls = 1 << 10
)

// jobState is the part of a split call the pool sees: parts are claimed
// with next and counted with done, by the caller and by any worker that
// joins. helpers counts the workers that may still touch the job; the
// caller returns only when it is 0, so its workspace can be reused.
type jobState struct {
	parts   int32
	next    atomic.Int32
	done    atomic.Int32
	helpers atomic.Int32
}

// runner is a split call: its state and a way to run one part.
type runner interface {
	state() *jobState
	// runPart runs a part with the worker's workspaces w, or with the
	// caller's when w is nil.
	runPart(part int, w *workerWorkspaces)
}

// help runs unclaimed parts of r with the workspaces w (nil for the
// caller) until none is left, and returns how many it ran.
func help(r runner, st *jobState, w *workerWorkspaces) (ran int32) {
	for {
		p := st.next.Add(1) - 1
		if p >= st.parts {
			return ran
		}
		r.runPart(int(p), w)
		st.done.Add(1)
		ran++
	}
}

// The pool is shared by all Implementations; it grows to the largest
// number of helpers a call has asked for, and never shrinks (a parked
// goroutine costs a few KiB and no CPU).
var pool struct {
	mu       sync.Mutex
	jobs     []runner // calls that may have unclaimed parts
	queued   atomic.Int32
	workers  int
	sleeping int
	wake     chan struct{}
	// polling counts the workers that are awake and polling for work.
	polling atomic.Int32
}

func init() {
	pool.wake = make(chan struct{}, maxHelpers)
}

// runSplit runs all parts of r, on the calling goroutine and on up to
// helpers workers. Parts the workers have not claimed by the time the
// caller is free again are run by the caller, so a slow wake-up costs no
// more than running single-threaded. It reports whether a worker was
// polling when the call began, that is, whether the call's duration says
// how fast a split call is, rather than how slowly a parked thread wakes
// (300 µs on average in a training loop on our virtual machines).
func runSplit(r runner, helpers int) (awake bool) {
	st := r.state()
	st.next.Store(0)
	st.done.Store(0)
	pool.mu.Lock()
	for pool.workers < helpers {
		go work()
		pool.workers++
	}
	pool.jobs = append(pool.jobs, r)
	pool.queued.Store(int32(len(pool.jobs)))
	awake = pool.polling.Load() > 0
	for n := min(pool.sleeping, helpers); n > 0; n-- {
		pool.sleeping--
		pool.wake <- struct{}{}
	}
	pool.mu.Unlock()

	help(r, st, nil)

	pool.mu.Lock()
	if i := slices.Index(pool.jobs, r); i >= 0 {
		pool.jobs = slices.Delete(pool.jobs, i, i+1)
	}
	pool.queued.Store(int32(len(pool.jobs)))
	pool.mu.Unlock()
	// The remaining parts are running on workers; they take about as long
	// as the part the caller just ran, so spinning beats parking.
	for i := 1; st.done.Load() < st.parts || st.helpers.Load() != 0; i++ {
		asm.Pause(1)
		if i%yieldPolls == 0 {
			runtime.Gosched()
		}
	}
	return awake
}

// grab returns a queued call with unclaimed parts, registered as helped.
func grab() runner {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, r := range pool.jobs {
		if st := r.state(); st.next.Load() < st.parts {
			st.helpers.Add(1)
			return r
		}
	}
	return nil
}

func work() {
	var mine workerWorkspaces
	for {
		pool.polling.Add(1)
		idle := time.Now()
		// retry counts down the polls before the next attempt to join a
		// queued call after one failed: a call whose parts are all claimed
		// stays queued until its caller removes it, and grabbing it again
		// at every poll would contend for pool.mu.
		retry := 0
		for i := 1; ; i++ {
			if retry > 0 {
				retry--
			} else if pool.queued.Load() > 0 {
				if r := grab(); r != nil {
					st := r.state()
					help(r, st, &mine)
					st.helpers.Add(-1)
					idle = time.Now()
					continue
				}
				retry = retryPolls
			}
			asm.Pause(1)
			if i%checkPolls == 0 {
				if time.Since(idle) > spinTime {
					break
				}
				if i%yieldPolls == 0 {
					runtime.Gosched()
				}
			}
		}
		pool.polling.Add(-1)
		pool.mu.Lock()
		if pool.queued.Load() > 0 {
			pool.mu.Unlock()
			continue
		}
		pool.sleeping++
		pool.mu.Unlock()
		<-pool.wake
	}
}
