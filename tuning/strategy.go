package tuning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// Strategy decides which trials Run executes: Grid, Random, TPE, Halving,
// Hyperband, ASHA or BOHB. The set is closed because the strategies work hand in
// hand with the runner (they see results in a fixed order to stay
// reproducible; see Run).
type Strategy interface {
	// String describes the strategy and its settings for logs and
	// results.json, "random(trials=20, seed=1)".
	String() string

	start(s *Space, c *config) (scheduler, error)
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
// with the same seed are these n. In a discrete space (Choice and IntRange
// only) a configuration already drawn is skipped, and fewer than n come
// back when the space has fewer than n points.
func sampleTrials(s *Space, n int, seed uint64) []Trial {
	r := newRand(seed)
	size, discrete := s.discreteSize()
	if discrete && size < n {
		n = size
	}
	seen := map[string]bool{}
	trials := make([]Trial, 0, n)
	for len(trials) < n {
		p := s.sample(r)
		if discrete {
			k := p.key()
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		id := len(trials)
		trials = append(trials, Trial{ID: id, Params: p, Seed: trialSeed(seed, id)})
	}
	return trials
}

// oneBatch hands out a fixed list of trials, ignoring results.
type oneBatch struct {
	trials []Trial
	handed int
}

func (b *oneBatch) next([]Trial) (Trial, decision, error) {
	if b.handed == len(b.trials) {
		return Trial{}, done, nil
	}
	b.handed++
	return b.trials[b.handed-1], propose, nil
}

func (b *oneBatch) tell(*Result) {}

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
		return nil, &TooManyTrialsError{Search: "the grid", Size: gridSize(counts), Max: c.maxTrials, Hint: "use fewer points per range"}
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
	if err := checkTrials("random", r.trials, c); err != nil {
		return nil, err
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

// check validates the settings; who names the strategy in errors.
func (h halving) check(who string, c *config) error {
	if err := checkTrials(who, h.trials, c); err != nil {
		return err
	}
	return checkLadder(who, h.minEpochs, h.maxEpochs, h.eta)
}

// checkLadder validates the budget settings Halving, Hyperband and ASHA
// share.
func checkLadder(who string, minEpochs, maxEpochs, eta int) error {
	switch {
	case minEpochs < 1:
		return errors.Errorf("tuning: %s minEpochs = %d is out of range [1, ∞)", who, minEpochs)
	case maxEpochs < minEpochs:
		return errors.Errorf("tuning: %s maxEpochs = %d is out of range [minEpochs = %d, ∞)", who, maxEpochs, minEpochs)
	case eta < 2:
		return errors.Errorf("tuning: %s eta = %d is out of range [2, ∞)", who, eta)
	}
	return nil
}

func (h halving) start(s *Space, c *config) (scheduler, error) {
	if err := h.check("halving", c); err != nil {
		return nil, err
	}
	eta := h.eta
	b := newBracket(sampleTrials(s, h.trials, h.seed), h.budgets(), 0, c,
		func(_, n int) int { return (n + eta - 1) / eta })
	return &brackets{list: []*bracket{b}}, nil
}

// bracket is one synchronous successive-halving bracket: every rung waits
// for the results of the whole previous rung.
type bracket struct {
	budgets []int // epochs of each rung
	base    int   // Trial.Rung of rung 0
	keep    func(rung, n int) int
	fill    func(*Trial) // sets a rung-0 trial's Params as it is handed out; nil when drawn up front
	c       *config
	rung    int
	queue   []Trial   // of the current rung, not handed out yet
	got     []*Result // results of the current rung
	want    int       // trials in the current rung
	over    bool
}

func newBracket(trials []Trial, budgets []int, base int, c *config, keep func(rung, n int) int) *bracket {
	b := &bracket{budgets: budgets, base: base, keep: keep, c: c}
	b.enter(0, trials)
	return b
}

func (b *bracket) enter(rung int, trials []Trial) {
	b.rung, b.got, b.want = rung, nil, len(trials)
	b.queue = make([]Trial, len(trials))
	for i, t := range trials {
		t.Rung = b.base + rung
		t.Epochs = b.budgets[rung]
		if t.Params != nil {
			t.Params = t.Params.clone()
		}
		b.queue[i] = t
	}
	b.over = len(trials) == 0
}

func (b *bracket) next() (Trial, decision) {
	for {
		switch {
		case len(b.queue) > 0:
			t := b.queue[0]
			b.queue = b.queue[1:]
			if t.Params == nil {
				b.fill(&t)
			}
			return t, propose
		case b.over:
			return Trial{}, done
		case len(b.got) < b.want:
			return Trial{}, wait
		}
		b.promote()
	}
}

// promote ranks a complete rung: the best keep(rung, n) ok trials go on,
// the other ok trials are marked pruned; the last rung prunes nothing.
func (b *bracket) promote() {
	if b.rung+1 >= len(b.budgets) {
		b.over = true
		return
	}
	var ok []*Result
	for _, r := range b.got {
		if r.Status == StatusOK {
			ok = append(ok, r)
		}
	}
	sortResults(ok, b.c)
	keep := min(b.keep(b.rung, len(b.got)), len(ok))
	for _, r := range ok[keep:] {
		r.Status = StatusPruned
	}
	promoted := make([]Trial, keep)
	for i, r := range ok[:keep] {
		promoted[i] = r.Trial
	}
	sort.Slice(promoted, func(i, j int) bool { return promoted[i].ID < promoted[j].ID })
	b.enter(b.rung+1, promoted)
}

// sortResults orders results best first by the metric, ties by trial ID.
func sortResults(rs []*Result, c *config) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].Metrics[c.metric], rs[j].Metrics[c.metric]
		if a != b {
			return c.better(a, b)
		}
		return rs[i].Trial.ID < rs[j].Trial.ID
	})
}

// brackets runs synchronous brackets side by side: while one waits for
// its rung to finish, the next one hands out trials, so workers idle only
// when every bracket waits. Each bracket decides from its own results
// alone, so the trials do not depend on the interleaving.
type brackets struct {
	list  []*bracket
	owner map[int]*bracket // by trial ID
}

func (*brackets) schedulesEarlyStopping() {}

func (h *brackets) next([]Trial) (Trial, decision, error) {
	waiting := false
	for _, b := range h.list {
		t, d := b.next()
		switch d {
		case propose:
			if h.owner == nil {
				h.owner = map[int]*bracket{}
			}
			h.owner[t.ID] = b
			return t, propose, nil
		case wait:
			waiting = true
		}
	}
	if waiting {
		return Trial{}, wait, nil
	}
	return Trial{}, done, nil
}

func (h *brackets) tell(res *Result) {
	if b := h.owner[res.Trial.ID]; b != nil {
		b.got = append(b.got, res)
	}
}

// isFinite reports whether v is a usable metric value.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
