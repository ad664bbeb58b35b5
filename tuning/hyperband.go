package tuning

import (
	"fmt"

	"github.com/pkg/errors"
)

// Rung is one budget level of a successive-halving bracket: how many
// trials train to how many epochs in total.
type Rung struct {
	Trials, Epochs int
}

// HyperbandBrackets returns the brackets Hyperband runs for the given
// budgets (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar 2018,
// "Hyperband", Algorithm 1), most exploratory first.
//
// The budget ladder is Halving's: minEpochs·eta^i epochs for every i with
// minEpochs·eta^i ≤ maxEpochs, the last raised to maxEpochs; its length is
// s_max+1. Bracket s (s = s_max, ..., 0) starts n = ⌈(s_max+1)·eta^s/(s+1)⌉
// configurations on rung s_max−s of the ladder, and its rung i keeps
// ⌊n/eta^i⌋ of them. For minEpochs 1, maxEpochs 81, eta 3 that is the
// paper's table:
//
//	s=4: 81×1, 27×3, 9×9, 3×27, 1×81
//	s=3: 34×3, 11×9, 3×27, 1×81
//	s=2: 15×9, 5×27, 1×81
//	s=1: 8×27, 2×81
//	s=0: 5×81
func HyperbandBrackets(minEpochs, maxEpochs, eta int) ([][]Rung, error) {
	if err := checkLadder("hyperband", minEpochs, maxEpochs, eta); err != nil {
		return nil, err
	}
	ladder := halving{minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta}.budgets()
	sMax := len(ladder) - 1
	var out [][]Rung
	for s := sMax; s >= 0; s-- {
		pow := 1
		for range s {
			pow *= eta
		}
		n := ((sMax+1)*pow + s) / (s + 1) // ceil
		var b []Rung
		div := 1
		for i := 0; i <= s; i++ {
			b = append(b, Rung{Trials: n / div, Epochs: ladder[sMax-s+i]})
			div *= eta
		}
		out = append(out, b)
	}
	return out, nil
}

type hyperband struct {
	seed                              uint64
	minEpochs, maxEpochs, eta, rounds int
}

// HyperbandOption configures Hyperband.
type HyperbandOption func(*hyperband)

// HyperbandRounds runs the bracket table n times (default 1), each round
// with new configurations: the outer loop of Li et al., which a search
// whose maxEpochs/minEpochs is small needs to spend a useful budget.
func HyperbandRounds(n int) HyperbandOption { return func(h *hyperband) { h.rounds = n } }

// Hyperband hedges successive halving's choice of how early to judge
// (Li et al. 2018): it runs every bracket of HyperbandBrackets(minEpochs,
// maxEpochs, eta), each a synchronous successive halving that keeps the
// best ⌊n/eta^i⌋ of its n configurations at rung i. The configurations are
// drawn as Random draws them, bracket after bracket; trial IDs follow that
// order. As with Halving, a promoted trial keeps its ID, Params, Seed and
// Dir, and Trial.Rung is its level on the budget ladder (so the leaderboard
// ranks longer-trained trials first across brackets). While one bracket
// waits for a rung to finish, the next one starts trials, so workers idle
// only when every bracket waits; the trials run do not depend on that
// interleaving, since each bracket judges its own results only.
func Hyperband(seed uint64, minEpochs, maxEpochs, eta int, opts ...HyperbandOption) Strategy {
	h := hyperband{seed: seed, minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta, rounds: 1}
	for _, o := range opts {
		if o != nil {
			o(&h)
		}
	}
	return h
}

func (h hyperband) String() string {
	return fmt.Sprintf("hyperband(seed=%d, epochs=%d..%d, eta=%d, rounds=%d)", h.seed, h.minEpochs, h.maxEpochs, h.eta, h.rounds)
}

func (h hyperband) start(s *Space, c *config) (scheduler, error) {
	table, err := h.table(c)
	if err != nil {
		return nil, err
	}
	return h.brackets(table, sampleTrials(s, tableTrials(table), h.seed), c, nil), nil
}

// table is the bracket table repeated rounds times, checked against
// WithMaxTrials.
func (h hyperband) table(c *config) ([][]Rung, error) {
	once, err := HyperbandBrackets(h.minEpochs, h.maxEpochs, h.eta)
	if err != nil {
		return nil, err
	}
	if h.rounds < 1 {
		return nil, errors.Errorf("tuning: hyperband rounds = %d is out of range [1, ∞)", h.rounds)
	}
	var table [][]Rung
	for range h.rounds {
		table = append(table, once...)
	}
	if total := tableTrials(table); total > c.maxTrials {
		return nil, &TooManyTrialsError{Search: h.String(), Size: fmt.Sprint(total), Max: c.maxTrials, Hint: "use fewer rounds, a larger minEpochs or eta"}
	}
	return table, nil
}

// tableTrials counts the configurations a bracket table starts.
func tableTrials(table [][]Rung) int {
	total := 0
	for _, b := range table {
		total += b[0].Trials
	}
	return total
}

// brackets deals trials out to the brackets of table in order (a small
// discrete space runs out: later brackets get fewer, or none) and runs them
// side by side; fill, if not nil, sets a rung-0 trial's Params when it is
// handed out.
func (h hyperband) brackets(table [][]Rung, trials []Trial, c *config, fill func(*Trial)) *brackets {
	perRound := len(table) / h.rounds
	out := &brackets{}
	for i, b := range table {
		take := min(b[0].Trials, len(trials))
		budgets := make([]int, len(b))
		for j, r := range b {
			budgets[j] = r.Epochs
		}
		rungs := b
		br := newBracket(trials[:take], budgets, i%perRound, c,
			func(rung, _ int) int { return rungs[rung+1].Trials })
		br.fill = fill
		out.list = append(out.list, br)
		trials = trials[take:]
	}
	return out
}

// asha takes Halving's settings.
type asha struct{ halving }

// ASHA is asynchronous successive halving (Li, Jamieson, Rostamizadeh et
// al. 2020, "A System for Massively Parallel Hyperparameter Tuning",
// Algorithm 2): rungs as Halving's, but a free worker never waits for a
// rung to fill. It takes, from the highest rung down, the first trial that
// is among the best ⌊n/eta⌋ of the n results of its rung and not yet
// promoted, and continues it on the next rung (same ID, Params, Seed and
// Dir, so it resumes from its checkpoint); if there is none, it starts one
// of the trials configurations (drawn as Random draws them) on rung 0.
// When all have started and nothing can be promoted, it waits for the
// running trials, which may enable promotions. At the end, trials that
// were never promoted from a rung below the top are marked pruned.
//
// ASHA judges from the results delivered so far (see Run), so its trials
// depend on the number of concurrent trials, and are reproducible for a
// given one.
func ASHA(trials int, seed uint64, minEpochs, maxEpochs, eta int) Strategy {
	return asha{halving{trials: trials, seed: seed, minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta}}
}

func (a asha) String() string {
	return fmt.Sprintf("asha(trials=%d, seed=%d, epochs=%d..%d, eta=%d)", a.trials, a.seed, a.minEpochs, a.maxEpochs, a.eta)
}

func (a asha) start(s *Space, c *config) (scheduler, error) {
	if err := a.check("asha", c); err != nil {
		return nil, err
	}
	budgets := a.budgets()
	return &ashaScheduler{a: a, c: c, budgets: budgets, configs: sampleTrials(s, a.trials, a.seed),
		rungs: make([][]*Result, len(budgets)), promoted: make([]map[int]bool, len(budgets))}, nil
}

type ashaScheduler struct {
	a        asha
	c        *config
	budgets  []int
	configs  []Trial
	started  int
	rungs    [][]*Result    // delivered results by rung
	promoted []map[int]bool // trial IDs promoted out of each rung
}

func (*ashaScheduler) schedulesEarlyStopping() {}

func (s *ashaScheduler) tell(res *Result) {
	s.rungs[res.Trial.Rung] = append(s.rungs[res.Trial.Rung], res)
}

func (s *ashaScheduler) next(pending []Trial) (Trial, decision, error) {
	for k := len(s.budgets) - 2; k >= 0; k-- {
		var ok []*Result
		for _, r := range s.rungs[k] {
			if r.Status == StatusOK {
				ok = append(ok, r)
			}
		}
		sortResults(ok, s.c)
		top := min(len(s.rungs[k])/s.a.eta, len(ok))
		for _, r := range ok[:top] {
			if s.promoted[k][r.Trial.ID] {
				continue
			}
			if s.promoted[k] == nil {
				s.promoted[k] = map[int]bool{}
			}
			s.promoted[k][r.Trial.ID] = true
			return s.at(r.Trial, k+1), propose, nil
		}
	}
	if s.started < len(s.configs) {
		s.started++
		return s.at(s.configs[s.started-1], 0), propose, nil
	}
	if len(pending) > 0 {
		return Trial{}, wait, nil
	}
	for k := 0; k+1 < len(s.budgets); k++ {
		for _, r := range s.rungs[k] {
			if r.Status == StatusOK && !s.promoted[k][r.Trial.ID] {
				r.Status = StatusPruned
			}
		}
	}
	return Trial{}, done, nil
}

func (s *ashaScheduler) at(t Trial, rung int) Trial {
	t.Rung, t.Epochs, t.Params = rung, s.budgets[rung], t.Params.clone()
	return t
}
