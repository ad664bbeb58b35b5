package fastblas

import (
	"sync"
	"sync/atomic"
)

// runner is one part of a split call, run by a worker goroutine.
type runner interface{ runPart(part int) }

type task struct {
	r    runner
	part int
}

// The worker pool is shared by all Implementations and grows to the largest
// number of helpers any call has asked for. Its goroutines block on the
// channel when idle and cost no CPU; keeping them avoids starting
// goroutines on every call (a task is sent by value, so a call allocates
// nothing).
var workers struct {
	mu      sync.Mutex
	started atomic.Int64
	tasks   chan task
}

func init() {
	workers.tasks = make(chan task, 256)
}

// submit hands part of r to the pool, first making sure that at least
// helpers workers exist.
func submit(r runner, part, helpers int) {
	if int(workers.started.Load()) < helpers {
		startWorkers(helpers)
	}
	workers.tasks <- task{r: r, part: part}
}

func startWorkers(n int) {
	workers.mu.Lock()
	defer workers.mu.Unlock()
	for int(workers.started.Load()) < n {
		go work()
		workers.started.Add(1)
	}
}

func work() {
	for t := range workers.tasks {
		t.r.runPart(t.part)
	}
}
