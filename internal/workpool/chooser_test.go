package workpool

import (
	"testing"
	"time"
)

// TestChooserFollowsTheFasterWay checks the choice between split and solo
// calls: split first, solo probed early, then whichever was faster, with
// the other probed again every probeEvery calls; unmeasured calls count
// for nothing.
func TestChooserFollowsTheFasterWay(t *testing.T) {
	var c Chooser
	run := func(n int, splitTook, soloTook time.Duration, measured bool) (splits int) {
		for i := 0; i < n; i++ {
			split := c.Next()
			d := soloTook
			if split {
				d, splits = splitTook, splits+1
			}
			c.Record(split, measured, d, 1000)
		}
		return splits
	}
	// Split is twice as fast: after the first probe, only probes are solo.
	if got := run(probeLen+1, time.Millisecond, 2*time.Millisecond, true); got != probeLen+1 {
		t.Fatalf("first %d calls: %d split, want all", probeLen+1, got)
	}
	if got := run(probeLen, time.Millisecond, 2*time.Millisecond, true); got != 0 {
		t.Fatalf("first probe: %d of %d calls split, want 0", got, probeLen)
	}
	if got := run(1000, time.Millisecond, 2*time.Millisecond, true); got < 1000-1000/probeEvery*probeLen-probeLen {
		t.Fatalf("split twice as fast: %d of 1000 calls split", got)
	}
	// Now solo is three times as fast: the chooser switches at the next
	// probe and then splits only to probe.
	run(2*probeEvery, 3*time.Millisecond, time.Millisecond, true)
	if got := run(1000, 3*time.Millisecond, time.Millisecond, true); got > 1000/probeEvery*probeLen+probeLen {
		t.Fatalf("solo three times as fast: %d of 1000 calls split", got)
	}
	// Unmeasured calls change nothing.
	before := c.perWork
	run(100, time.Nanosecond, time.Hour, false)
	if c.perWork != before {
		t.Fatalf("unmeasured calls changed the means from %v to %v", before, c.perWork)
	}
}

// TestChooserBackoff checks that with Backoff, probes that confirm the
// choice come ever more rarely, down to one every maxBackoff·probeEvery
// calls, and that a change of choice brings back the normal spacing.
func TestChooserBackoff(t *testing.T) {
	c := Chooser{Backoff: true}
	// probes counts the calls that ran the way not preferred by the
	// durations given.
	run := func(n int, splitTook, soloTook time.Duration) (probes int) {
		for range n {
			split := c.Next()
			d := soloTook
			if split {
				d = splitTook
			}
			if split != (splitTook < soloTook) {
				probes++
			}
			c.Record(split, true, d, 1000)
		}
		return probes
	}
	const long = 20 * maxBackoff * probeEvery
	if got, max := run(long, time.Millisecond, 3*time.Millisecond), 40*probeLen; got > max {
		t.Fatalf("split faster throughout: %d solo calls in %d, want at most %d", got, long, max)
	}
	if c.spacing() != maxBackoff*probeEvery {
		t.Fatalf("spacing %d after many confirming probes, want %d", c.spacing(), maxBackoff*probeEvery)
	}
	// Split becomes slow: the split calls measure it, so the chooser
	// leaves split within a few calls, without waiting for a probe.
	if got := run(probeLen, 9*time.Millisecond, 3*time.Millisecond); got == probeLen {
		t.Fatalf("split three times slower: still split after %d calls", got)
	}
	if c.spacing() != probeEvery {
		t.Fatalf("spacing %d after the choice changed, want %d", c.spacing(), probeEvery)
	}
}
