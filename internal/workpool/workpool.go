package workpool

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxWorkers bounds the pool, and with it the helpers of one call; worker
// indices passed to RunPart are below it.
const MaxWorkers = 255

// Caller is the worker index RunPart receives when Run's own goroutine
// runs the part.
const Caller = -1

// spinTime is how long an idle worker keeps polling for work before it
// parks. Waking a parked goroutine whose thread sleeps took 40–300 µs on
// the virtual machines we measured, longer than the whole 64×784·784×128
// product or an Adam step, so a worker that parked between two calls would
// never help. A training step issues its split calls well within 1 ms of
// each other, so during training a worker stays awake, and it stops using
// a CPU 1 ms after the last call. It yields (runtime.Gosched) every few
// µs, so goroutines that have work run first.
const spinTime = time.Millisecond

// Spinning polls atomic counters, with a PAUSE instruction (tens of
// nanoseconds) between polls; these spacings, in polls, keep the expensive
// steps rare: a worker retries a queued call it could not join after
// retryPolls and reads the clock every checkPolls. Every yieldPolls (a few
// µs) an idle worker, and a caller waiting for the workers' last parts,
// calls runtime.Gosched, which lets other goroutines run on its P.
//
// That spacing matters to the data loader of a training loop. The loader
// is woken by the training goroutine (which hands back a buffer), so Go
// queues it on the training goroutine's P, where it runs only when that
// goroutine yields or blocks. The training goroutine yields while it waits
// for the workers' last parts; with a yield every 1,024 polls (50–100 µs)
// that almost never happened within one wait, the loader ran only when
// training blocked for its next batch, and an MNIST epoch spent 0.04 s of
// 0.33 s waiting for data (about 180 µs at every fourth batch). With a
// yield every 64 polls the loader fills batches in those waits, training
// does not wait for data (0–0.01 s per epoch), and the epoch takes 0.30 s.
const (
	retryPolls = 1 << 5
	checkPolls = 1 << 4
	yieldPolls = 1 << 6
)

// Job is work cut into parts. Implement it with a type that embeds State,
// which provides the unexported method, and pass a pointer to Run: the
// pool then needs no allocation to keep track of the call.
type Job interface {
	// RunPart runs part p. worker is Caller when Run's goroutine runs it,
	// else the index, in [0, MaxWorkers), of the pool worker that does;
	// a worker runs one part at a time, so memory kept per worker index
	// needs no lock.
	RunPart(p, worker int)
	state() *State
}

// State is the bookkeeping of a running Job: parts are claimed with next,
// by the caller and by every worker that joins. helpers counts the
// workers that may still touch the job; Run returns only when it is 0, so
// the caller may reuse the job at once. joined and limit, guarded by the
// pool's lock, keep a call to the helpers it asked for, so that a small
// call does not draw in every polling worker of a large pool. Its zero
// value is ready; a job must not be passed to Run again before the
// previous Run has returned.
type State struct {
	parts   int32
	next    atomic.Int32
	helpers atomic.Int32
	joined  int32
	limit   int32
}

func (s *State) state() *State { return s }

// help runs unclaimed parts of j on worker until none is left.
func help(j Job, st *State, worker int) {
	for {
		p := st.next.Add(1) - 1
		if p >= st.parts {
			return
		}
		j.RunPart(int(p), worker)
	}
}

// pool is the process-wide pool.
var pool struct {
	mu       sync.Mutex
	jobs     []Job // calls that may have unclaimed parts
	queued   atomic.Int32
	workers  int
	sleeping int
	wake     chan struct{}
	// polling counts the workers that are awake and polling for work.
	polling atomic.Int32
}

func init() {
	pool.wake = make(chan struct{}, MaxWorkers)
}

// Run runs parts 0 to parts-1 of j, on the calling goroutine and on up to
// helpers (at most MaxWorkers) pool workers, starting workers the pool
// does not have yet. Parts the workers have not claimed by the time the
// caller is free again are run by the caller, so a slow wake-up costs no
// more than running on one goroutine. Run returns when all parts are done
// and no worker touches j any more. Several goroutines may call Run at
// once, with different jobs.
//
// It reports whether a worker was polling when the call began, that is,
// whether the call's duration says how fast a split call is, rather than
// how slowly a parked thread wakes (300 µs on average in a training loop
// on our virtual machines). With helpers ≤ 0 or fewer than two parts, the
// caller runs every part and Run reports false.
func Run(j Job, parts, helpers int) (awake bool) {
	st := j.state()
	st.parts = int32(parts)
	st.next.Store(0)
	if helpers <= 0 || parts < 2 {
		help(j, st, Caller)
		return false
	}
	helpers = min(helpers, parts-1, MaxWorkers)
	st.joined, st.limit = 0, int32(helpers)
	pool.mu.Lock()
	for pool.workers < helpers {
		go work(pool.workers)
		pool.workers++
	}
	pool.jobs = append(pool.jobs, j)
	pool.queued.Store(int32(len(pool.jobs)))
	awake = pool.polling.Load() > 0
	for n := min(pool.sleeping, helpers); n > 0; n-- {
		pool.sleeping--
		pool.wake <- struct{}{}
	}
	pool.mu.Unlock()

	defer finish(j, st)
	help(j, st, Caller)
	return awake
}

// finish takes j off the queue, so that no more workers join it, and
// waits until the workers that did have left it. Once the caller's parts
// have returned, that means every part is done: a worker leaves only when
// no part is left to claim, and it counts as a helper from before it
// claims its first one, under the lock that finish takes. It runs
// deferred, so that a part that panics on the caller's goroutine
// (Adam.Step recovers such panics) leaves neither a stale queue entry,
// which would keep the workers from ever parking, nor a worker inside the
// job.
func finish(j Job, st *State) {
	pool.mu.Lock()
	if i := slices.Index(pool.jobs, j); i >= 0 {
		pool.jobs = slices.Delete(pool.jobs, i, i+1)
	}
	pool.queued.Store(int32(len(pool.jobs)))
	pool.mu.Unlock()
	// The remaining parts are running on workers; they take about as long
	// as the part the caller just ran, so spinning beats parking.
	for i := 1; st.helpers.Load() != 0; i++ {
		pause(1)
		if i%yieldPolls == 0 {
			runtime.Gosched()
		}
	}
}

// grab returns a queued call with unclaimed parts and room for another
// worker, registered as helped.
func grab() Job {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, j := range pool.jobs {
		if st := j.state(); st.next.Load() < st.parts && st.joined < st.limit {
			st.joined++
			st.helpers.Add(1)
			return j
		}
	}
	return nil
}

// work is the loop of the worker with index id.
func work(id int) {
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
				if j := grab(); j != nil {
					st := j.state()
					help(j, st, id)
					st.helpers.Add(-1)
					idle = time.Now()
					continue
				}
				retry = retryPolls
			}
			pause(1)
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
