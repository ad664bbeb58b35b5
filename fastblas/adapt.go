package fastblas

import (
	"sync"
	"time"
)

// chooser decides, for the large calls of one Implementation, between
// splitting them over the workers and running them on the caller's
// goroutine alone, by the time each way has taken lately. Two threads are
// not always faster: when other processes keep the other core busy, the
// operating system runs a worker late and its polling takes CPU time from
// the caller; and in a Gorgonia training loop on our 2-core virtual
// machines, where the operands were just written by the caller's core,
// moving them to the worker's core cost about what the second core saved.
// Splitting is tried first; every probeEvery calls the other way is run
// probeLen times in a row, so that the choice follows the machine. Results
// do not depend on the choice: see the package documentation.
type chooser struct {
	mu sync.Mutex
	// perWork is an exponentially weighted mean of nanoseconds per unit of
	// m·n·k, for [solo, split]; 0 means not measured yet.
	perWork [2]float64
	split   bool // the way currently preferred
	calls   int  // calls since the last probe began
	probing int  // calls left in the current probe
}

const (
	probeEvery = 128
	// probeLen calls in a row, because the first split call after a
	// solo period finds the workers parked and waking them takes longer
	// than the call; such calls are not measured (see record).
	probeLen = 8
	// ewmaWeight is the weight of the newest measurement.
	ewmaWeight = 0.125
)

func newChooser() *chooser { return &chooser{split: true} }

// next reports whether the next large call should be split.
func (c *chooser) next() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probing > 0 {
		c.probing--
		return !c.split
	}
	c.calls++
	// Probe at once while the other way has never been measured.
	if c.calls >= probeEvery || c.perWork[b2i(!c.split)] == 0 && c.calls > probeLen {
		c.calls = 0
		c.probing = probeLen
	}
	return c.split
}

// record adds the duration of a large call with m·n·k = work. A split call
// during which no worker was polling is not recorded: it measures how long
// waking takes, not how fast two threads are.
func (c *chooser) record(split, measured bool, d time.Duration, work int) {
	if !measured || work <= 0 {
		return
	}
	r := float64(d.Nanoseconds()) / float64(work)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := &c.perWork[b2i(split)]
	if *p == 0 {
		*p = r
	} else {
		*p += ewmaWeight * (r - *p)
	}
	if solo, par := c.perWork[0], c.perWork[1]; solo > 0 && par > 0 {
		c.split = par < solo
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
