package tuning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// Strategy decides which trials Run executes: Grid, Random or Halving. The
// set is closed because Halving needs to work hand in hand with the runner
// (it sees each rung's results before choosing the next rung).
type Strategy interface {
	// String describes the strategy and its settings for logs and
	// results.json, "random(trials=20, seed=1)".
	String() string

	start(s *Space, c *config) (scheduler, error)
}

// scheduler hands out the trials of one search, one batch at a time. Each
// batch runs to completion before the next is asked for.
type scheduler interface {
	// next returns the next batch given the results of the previous one (nil
	// on the first call), or nil when the search is over. It may change the
	// Status of the results it is given (Halving marks the trials it does
	// not promote as pruned).
	next(prev []*Result) ([]Trial, error)
}

// trialSeed derives trial id's seed from the search seed with SplitMix64
// (Steele, Lea & Flood 2014), so that a trial's seed depends on nothing but
// the search seed and its ID: adding trials to a search leaves the seeds of
// the existing ones alone.
func trialSeed(seed uint64, id int) uint64 {
	z := seed + uint64(id+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRand is the one place search randomness comes from. The stream
// constant only has to differ from what trials use for their own seeds.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x7475_6e69_6e67)) // "tuning"
}

// sampleTrials draws n configurations, one dimension after another in the
// space's order, from a single stream: the first n trials of a longer search
// with the same seed are these n.
func sampleTrials(s *Space, n int, seed uint64) []Trial {
	r := newRand(seed)
	trials := make([]Trial, n)
	for i := range trials {
		p := make(Params, len(s.dims))
		for _, d := range s.dims {
			p[d.Name()] = d.sample(r)
		}
		trials[i] = Trial{ID: i, Params: p, Seed: trialSeed(seed, i)}
	}
	return trials
}

// oneBatch hands out a fixed list of trials once.
type oneBatch struct {
	trials []Trial
	done   bool
}

func (b *oneBatch) next([]*Result) ([]Trial, error) {
	if b.done {
		return nil, nil
	}
	b.done = true
	return b.trials, nil
}

type grid struct{ points int }

// Grid runs the full cross product of the space: every Choice value, and
// pointsPerRange points of every range (evenly spaced for Uniform,
// geometrically spaced for LogUniform, both ends included; see IntRange for
// integers). Trials are numbered with the first dimension varying slowest.
// Run refuses a grid larger than WithMaxTrials before running anything.
// Trial seeds are derived from seed 0 and the trial ID.
func Grid(pointsPerRange int) Strategy { return grid{points: pointsPerRange} }

func (g grid) String() string { return fmt.Sprintf("grid(points=%d)", g.points) }

func (g grid) start(s *Space, c *config) (scheduler, error) {
	if g.points < 1 {
		return nil, errors.Errorf("tuning: grid points per range = %d is out of range [1, ∞)", g.points)
	}
	// Count before building, so that an absurd grid fails fast instead of
	// allocating itself.
	counts := make([]string, len(s.dims))
	total := 1
	for i, d := range s.dims {
		n := g.points
		switch d := d.(type) {
		case *choice:
			n = len(d.values)
		case *intRange:
			if span := d.span(); span != 0 && span < uint64(n) {
				n = int(span)
			}
		}
		counts[i] = fmt.Sprint(n)
		if total > c.maxTrials/n {
			total = c.maxTrials + 1 // overflow-safe "too many"
		} else {
			total *= n
		}
	}
	if total > c.maxTrials {
		return nil, errors.Errorf("tuning: the grid has %s trials, more than the maximum of %d; use fewer points per range or raise WithMaxTrials",
			gridSize(counts), c.maxTrials)
	}
	values := make([][]any, len(s.dims))
	for i, d := range s.dims {
		values[i] = d.grid(g.points)
	}
	trials := make([]Trial, 0, total)
	idx := make([]int, len(s.dims))
	for id := 0; ; id++ {
		p := make(Params, len(s.dims))
		for i, d := range s.dims {
			p[d.Name()] = values[i][idx[i]]
		}
		trials = append(trials, Trial{ID: id, Params: p, Seed: trialSeed(0, id)})
		// Odometer increment: the last dimension turns fastest.
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(values[k]) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	return &oneBatch{trials: trials}, nil
}

func gridSize(counts []string) string {
	if len(counts) == 1 {
		return counts[0]
	}
	return strings.Join(counts, " × ")
}

type random struct {
	trials int
	seed   uint64
}

// Random runs trials configurations drawn independently from the space (each
// dimension uniformly on its own scale), seeded: the same seed gives the same
// trials, parameters, IDs and trial seeds. Random search beats grid search
// when only a few of the dimensions matter (Bergstra & Bengio 2012).
func Random(trials int, seed uint64) Strategy { return random{trials: trials, seed: seed} }

func (r random) String() string {
	return fmt.Sprintf("random(trials=%d, seed=%d)", r.trials, r.seed)
}

func (r random) start(s *Space, c *config) (scheduler, error) {
	if r.trials < 1 || r.trials > c.maxTrials {
		return nil, errors.Errorf("tuning: random trials = %d is out of range [1, %d] (raise WithMaxTrials for more)", r.trials, c.maxTrials)
	}
	return &oneBatch{trials: sampleTrials(s, r.trials, r.seed)}, nil
}

type halving struct {
	trials, minEpochs, maxEpochs, eta int
	seed                              uint64
}

// Halving is synchronous successive halving (Jamieson & Talwalkar 2016;
// Li et al. 2018, "Hyperband"): many configurations get a small budget and
// only the best earn more.
//
// Rules:
//   - Rung 0 runs trials random configurations (drawn as Random(trials, seed)
//     draws them) for minEpochs epochs each.
//   - Rung i's budget is minEpochs·eta^i epochs, for every i with
//     minEpochs·eta^i ≤ maxEpochs, except that the last rung is raised to
//     maxEpochs (or, if that would be rung 0, maxEpochs gets a rung of its
//     own). With minEpochs 1 and eta 3: maxEpochs 9 gives rungs of 1, 3 and
//     9 epochs, maxEpochs 10 gives 1, 3 and 10, maxEpochs 2 gives 1 and 2.
//   - After a rung of n trials has finished, the best ceil(n/eta) of them by
//     the metric (ties broken by the lower trial ID) go to the next rung.
//     Failed and NaN trials are never promoted, so fewer may go on; the
//     search ends early if none can. The others are marked "pruned".
//   - A promoted trial keeps its ID, Params, Seed and Dir; its Epochs is the
//     new total budget and Rung the new rung, so an objective that
//     checkpoints into Dir can resume and train only the missing epochs.
//
// Every rung waits for the previous one, which makes the outcome independent
// of the number of workers and of timing; the price is idle workers at the
// end of a rung.
func Halving(trials int, seed uint64, minEpochs, maxEpochs, eta int) Strategy {
	return halving{trials: trials, seed: seed, minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta}
}

func (h halving) String() string {
	return fmt.Sprintf("halving(trials=%d, seed=%d, epochs=%d..%d, eta=%d)", h.trials, h.seed, h.minEpochs, h.maxEpochs, h.eta)
}

// budgets lists the epochs of every rung.
func (h halving) budgets() []int {
	b := []int{h.minEpochs}
	for e := h.minEpochs; e <= h.maxEpochs/h.eta; { // e*eta <= maxEpochs, without overflow
		e *= h.eta
		b = append(b, e)
	}
	switch last := len(b) - 1; {
	case b[last] == h.maxEpochs:
	case last == 0:
		b = append(b, h.maxEpochs)
	default:
		b[last] = h.maxEpochs
	}
	return b
}

func (h halving) start(s *Space, c *config) (scheduler, error) {
	switch {
	case h.trials < 1 || h.trials > c.maxTrials:
		return nil, errors.Errorf("tuning: halving trials = %d is out of range [1, %d] (raise WithMaxTrials for more)", h.trials, c.maxTrials)
	case h.minEpochs < 1:
		return nil, errors.Errorf("tuning: halving minEpochs = %d is out of range [1, ∞)", h.minEpochs)
	case h.maxEpochs < h.minEpochs:
		return nil, errors.Errorf("tuning: halving maxEpochs = %d is out of range [minEpochs = %d, ∞)", h.maxEpochs, h.minEpochs)
	case h.eta < 2:
		return nil, errors.Errorf("tuning: halving eta = %d is out of range [2, ∞)", h.eta)
	}
	return &halvingScheduler{h: h, budgets: h.budgets(), trials: sampleTrials(s, h.trials, h.seed), c: c}, nil
}

type halvingScheduler struct {
	h       halving
	budgets []int
	trials  []Trial
	c       *config
	rung    int // rung of the batch handed out last
	started bool
}

func (s *halvingScheduler) next(prev []*Result) ([]Trial, error) {
	if !s.started {
		s.started = true
		return s.rungTrials(s.trials, 0), nil
	}
	keep := (len(prev) + s.h.eta - 1) / s.h.eta
	var ok []*Result
	for _, r := range prev {
		if r.Status == StatusOK {
			ok = append(ok, r)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool {
		a, b := ok[i].Metrics[s.c.metric], ok[j].Metrics[s.c.metric]
		if a != b {
			return (a < b) == s.c.minimize
		}
		return ok[i].Trial.ID < ok[j].Trial.ID
	})
	last := s.rung+1 >= len(s.budgets)
	if last {
		return nil, nil
	}
	if keep > len(ok) {
		keep = len(ok)
	}
	for _, r := range ok[keep:] {
		r.Status = StatusPruned
	}
	if keep == 0 {
		return nil, nil
	}
	promoted := make([]Trial, keep)
	for i, r := range ok[:keep] {
		promoted[i] = r.Trial
	}
	sort.Slice(promoted, func(i, j int) bool { return promoted[i].ID < promoted[j].ID })
	return s.rungTrials(promoted, s.rung+1), nil
}

func (s *halvingScheduler) rungTrials(trials []Trial, rung int) []Trial {
	s.rung = rung
	out := make([]Trial, len(trials))
	for i, t := range trials {
		t.Rung = rung
		t.Epochs = s.budgets[rung]
		t.Params = t.Params.clone()
		out[i] = t
	}
	return out
}

// isFinite reports whether v is a usable metric value.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
