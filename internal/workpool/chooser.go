package workpool

import (
	"sync"
	"time"
)

// Chooser decides, for a stream of similar calls, between splitting them
// over the pool and running them on the caller's goroutine alone, by the
// time each way has taken lately. Two threads are not always faster: when
// other processes keep the other core busy, the operating system runs a
// worker late, a worker that claimed a part holds up the caller for a
// whole scheduler time slice (3–5 ms on our virtual machines, against an
// Adam step of 0.1 ms), and its polling takes CPU time from the caller;
// and in a Gorgonia training loop on our 2-core virtual machines, where
// the operands of a product were just written by the caller's core, moving
// them to the worker's core cost about what the second core saved.
// Splitting is tried first; every probeEvery calls the other way is run
// probeLen times in a row, so that the choice follows the machine. While
// the choice is solo, the pool's workers park after their spinning time
// and leave the other cores to whoever needs them.
//
// The zero Chooser is ready and prefers splitting; it is safe for
// concurrent use.
type Chooser struct {
	// Backoff doubles the spacing of probes, up to maxBackoff times
	// probeEvery calls, each time a probe leaves the choice as it was, and
	// resets it when the choice changes. Where a probe is expensive, as a
	// split probe is on a machine whose other cores are busy (a stall of a
	// whole time slice per probe, 8 probes every 128 Adam steps tripled
	// the mean step), this bounds what probing costs; leaving a way that
	// has become slow needs no probe, so only the return to a way that has
	// become fast again is delayed.
	Backoff bool

	mu sync.Mutex
	// perWork is an exponentially weighted mean of nanoseconds per unit of
	// work, for [split, solo]; 0 means not measured yet.
	perWork [2]float64
	solo    bool // the way currently preferred
	calls   int  // calls since the last probe began
	probing int  // calls left in the current probe
	// every is the spacing of probes in calls; 0 means probeEvery.
	every int
}

const (
	probeEvery = 128
	// probeLen calls in a row, because the first split call after a
	// solo period finds the workers parked and waking them takes longer
	// than the call; such calls are not measured (see Record).
	probeLen = 8
	// maxBackoff bounds the spacing of probes with Backoff, as a multiple
	// of probeEvery: 4096 calls, about 3 s of MNIST training steps.
	maxBackoff = 32
	// ewmaWeight is the weight of the newest measurement.
	ewmaWeight = 0.125
)

// Next reports whether the next call should be split.
func (c *Chooser) Next() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probing > 0 {
		c.probing--
		if c.probing == 0 && c.Backoff {
			c.every = min(2*c.spacing(), maxBackoff*probeEvery)
		}
		return c.solo
	}
	c.calls++
	// Probe at once while the other way has never been measured.
	if c.calls >= c.spacing() || c.perWork[b2i(!c.solo)] == 0 && c.calls > probeLen {
		c.calls = 0
		c.probing = probeLen
	}
	return !c.solo
}

// Record adds the duration d of a call that did work units of work
// (m·n·k for a product, elements for an optimizer step), split or not. A
// split call that found no worker polling (measured false: Run's result)
// is not recorded: it measures how long waking takes, not how fast two
// threads are.
func (c *Chooser) Record(split, measured bool, d time.Duration, work int) {
	if !measured || work <= 0 {
		return
	}
	r := float64(d.Nanoseconds()) / float64(work)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := &c.perWork[b2i(!split)]
	if *p == 0 {
		*p = r
	} else {
		*p += ewmaWeight * (r - *p)
	}
	if par, solo := c.perWork[0], c.perWork[1]; solo > 0 && par > 0 {
		if was := c.solo; was != (solo <= par) {
			c.solo = !was
			c.every = probeEvery
		}
	}
}

// spacing returns the number of calls from one probe to the next.
func (c *Chooser) spacing() int {
	if c.every == 0 {
		return probeEvery
	}
	return c.every
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
