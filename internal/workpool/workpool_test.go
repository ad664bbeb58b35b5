package workpool

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// countJob records which goroutine ran each part and checks that no
// worker index runs two parts at once.
type countJob struct {
	State
	ran    []atomic.Int32 // by part
	by     []int          // worker index that ran each part
	sums   []int          // busy work's results, by part
	busy   [MaxWorkers]atomic.Int32
	helped map[int]bool
	mu     sync.Mutex
	t      *testing.T
}

func newCountJob(t *testing.T, parts int) *countJob {
	return &countJob{ran: make([]atomic.Int32, parts), by: make([]int, parts), sums: make([]int, parts), helped: map[int]bool{}, t: t}
}

func (j *countJob) RunPart(p, worker int) {
	if worker != Caller {
		if worker < 0 || worker >= MaxWorkers {
			j.t.Errorf("part %d: worker index %d out of range", p, worker)
			return
		}
		if j.busy[worker].Add(1) != 1 {
			j.t.Errorf("worker %d runs two parts at once", worker)
		}
		defer j.busy[worker].Add(-1)
		j.mu.Lock()
		j.helped[worker] = true
		j.mu.Unlock()
	}
	// Long enough for a polling worker to join.
	x := 0
	for i := range 20000 {
		x += i
	}
	// Plain writes: the race detector reports them if Run returned while
	// a worker could still write, since the tests reuse the job at once.
	j.sums[p], j.by[p] = x, worker
	j.ran[p].Add(1)
}

// check fails unless every part ran exactly once.
func (j *countJob) check(t *testing.T) {
	t.Helper()
	for p := range j.ran {
		if n := j.ran[p].Load(); n != 1 {
			t.Fatalf("part %d ran %d times", p, n)
		}
	}
}

func TestRunRunsEveryPartOnce(t *testing.T) {
	for _, parts := range []int{0, 1, 2, 3, 8, 100} {
		for _, helpers := range []int{-1, 0, 1, 2, 7} {
			j := newCountJob(t, parts)
			Run(j, parts, helpers)
			j.check(t)
			if len(j.helped) > max(helpers, 0) {
				t.Fatalf("%d parts, %d helpers: %d workers joined", parts, helpers, len(j.helped))
			}
			// Run has returned, so the job is the caller's again.
			clear(j.by)
			clear(j.sums)
		}
	}
}

// TestRunWithoutHelpersStaysOnCaller: helpers ≤ 0 keeps every part on the
// calling goroutine, even while workers poll.
func TestRunWithoutHelpersStaysOnCaller(t *testing.T) {
	Run(newCountJob(t, 8), 8, 2) // leaves workers polling
	j := newCountJob(t, 8)
	if Run(j, 8, 0) {
		t.Error("Run with no helpers reports a worker")
	}
	j.check(t)
	for p, w := range j.by {
		if w != Caller {
			t.Fatalf("part %d ran on worker %d", p, w)
		}
	}
}

// TestRunJobReused runs the same job many times in a row, which is what
// fastblas and solvers do.
func TestRunJobReused(t *testing.T) {
	j := newCountJob(t, 16)
	for range 200 {
		for p := range j.ran {
			j.ran[p].Store(0)
		}
		Run(j, 16, 1)
		j.check(t)
	}
}

// TestRunConcurrentCallers: several goroutines share the pool, each with
// its own job.
func TestRunConcurrentCallers(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			j := newCountJob(t, 12)
			for range 50 {
				for p := range j.ran {
					j.ran[p].Store(0)
				}
				Run(j, 12, 3)
				j.check(t)
			}
		})
	}
	wg.Wait()
}

// nopJob does nothing per part.
type nopJob struct{ State }

func (*nopJob) RunPart(p, worker int) {}

func TestRunDoesNotAllocate(t *testing.T) {
	j := &nopJob{}
	Run(j, 4, 1) // grows the queue
	if a := testing.AllocsPerRun(100, func() { Run(j, 4, 1) }); a != 0 {
		t.Errorf("Run allocates %v times", a)
	}
}

// BenchmarkRunEmpty is the cost of splitting a call whose parts do
// nothing: the overhead a split must save to pay off.
func BenchmarkRunEmpty(b *testing.B) {
	j := &nopJob{}
	b.ReportAllocs()
	for b.Loop() {
		Run(j, 4, 1)
	}
}

// panicJob panics in the parts the caller runs.
type panicJob struct {
	State
	ran atomic.Int32
}

func (j *panicJob) RunPart(p, worker int) {
	j.ran.Add(1)
	if worker == Caller {
		panic("part failed")
	}
}

// TestRunCallerPanics: a part that panics on the caller's goroutine
// reaches the caller, and leaves the job off the queue and without
// workers, so the pool goes on working and its workers can park.
func TestRunCallerPanics(t *testing.T) {
	j := &panicJob{}
	func() {
		defer func() {
			if r := recover(); r != "part failed" {
				t.Fatalf("recovered %v, want the part's panic", r)
			}
		}()
		Run(j, 8, 1)
	}()
	if n := j.helpers.Load(); n != 0 {
		t.Fatalf("%d workers still in the job after Run panicked", n)
	}
	pool.mu.Lock()
	queued := slices.Contains(pool.jobs, Job(j))
	pool.mu.Unlock()
	if queued {
		t.Fatal("the job is still queued after Run panicked")
	}
	c := newCountJob(t, 8)
	Run(c, 8, 1)
	c.check(t)
}
