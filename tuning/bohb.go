package tuning

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
)

// BOHB defaults, Falkner et al.'s.
const (
	// DefaultBOHBRandomFraction is the share of new configurations BOHB
	// draws at random rather than from its model.
	DefaultBOHBRandomFraction = 1.0 / 3
	// DefaultBOHBCandidates is how many candidates BOHB's model draws for
	// each proposal (the paper's num_samples).
	DefaultBOHBCandidates = 64
)

// BOHBOption configures BOHB.
type BOHBOption func(*bohb)

// BOHBRounds runs the bracket table n times (default 1), as
// HyperbandRounds does.
func BOHBRounds(n int) BOHBOption { return func(b *bohb) { b.hyperband.rounds = n } }

// BOHBRandomFraction sets the share of new configurations drawn at random
// instead of from the model (default DefaultBOHBRandomFraction), in [0, 1]:
// it keeps BOHB as exploratory as Hyperband where the model is wrong.
func BOHBRandomFraction(f float64) BOHBOption { return func(b *bohb) { b.randomFraction = f } }

// BOHBModel configures the TPE model that proposes BOHB's configurations:
// TPEStartupTrials is the number of results at one budget the model needs
// (default: the number of dimensions + 1, the paper's
// min_points_in_model), TPECandidates the candidates per proposal (default
// DefaultBOHBCandidates), TPEMultivariate whether the dimensions are
// modelled jointly (default on, as the paper's KDE).
func BOHBModel(opts ...TPEOption) BOHBOption {
	return func(b *bohb) {
		for _, o := range opts {
			if o != nil {
				o(&b.model)
			}
		}
	}
}

type bohb struct {
	hyperband
	model          tpe
	randomFraction float64
}

// BOHB is Bayesian optimisation and Hyperband (Falkner, Klein & Hutter
// 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at
// Scale"): Hyperband's brackets and rounds, as Hyperband(seed, minEpochs,
// maxEpochs, eta) runs them, but each configuration a bracket starts is
// drawn when a worker takes it, from a TPE model of the results so far:
//
//   - The model is fitted on the results at the largest budget (epochs)
//     that has at least TPEStartupTrials of them (see BOHBModel): ok
//     results, and those a bracket did not promote, whose metric at that
//     budget is as good an observation. They are split into good and bad
//     by TPE's rule, pending trials of that budget count as bad (constant
//     liar), and TPE proposes the configuration (see TPE).
//   - While no budget has enough results, and for a BOHBRandomFraction
//     share of the draws (decided by each trial's own stream), the
//     configuration is drawn at random as Random draws it.
//
// Unlike the paper, the model needs only TPEStartupTrials results, not
// twice as many: with few brackets per round (a small maxEpochs/minEpochs)
// the paper's rule would leave most of a search random.
//
// Trial IDs and seeds are assigned bracket after bracket as Hyperband
// assigns them; promotions follow Hyperband's rule and continuation. As
// the draws depend on the results delivered so far (see Run), a BOHB
// search is reproducible for a given number of concurrent trials, like
// TPE, and a resumed one proposes what the uninterrupted one would have.
// In a discrete space no configuration is started twice. Katib has no
// BOHB.
func BOHB(seed uint64, minEpochs, maxEpochs, eta int, opts ...BOHBOption) Strategy {
	b := bohb{
		hyperband:      hyperband{seed: seed, minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta, rounds: 1},
		model:          tpe{seed: seed, candidates: DefaultBOHBCandidates, multivariate: true},
		randomFraction: DefaultBOHBRandomFraction,
	}
	for _, o := range opts {
		if o != nil {
			o(&b)
		}
	}
	return b
}

func (b bohb) String() string {
	model := fmt.Sprintf("candidates=%d", b.model.candidates)
	if b.model.startup > 0 {
		model = fmt.Sprintf("startup=%d, %s", b.model.startup, model)
	}
	if b.model.multivariate {
		model += ", multivariate"
	}
	return fmt.Sprintf("bohb(seed=%d, epochs=%d..%d, eta=%d, rounds=%d, random=%.3g, %s)",
		b.seed, b.minEpochs, b.maxEpochs, b.eta, b.rounds, b.randomFraction, model)
}

func (b bohb) start(s *Space, c *config) (scheduler, error) {
	table, err := b.table(c)
	if err != nil {
		return nil, err
	}
	switch {
	case !(b.randomFraction >= 0 && b.randomFraction <= 1):
		return nil, errors.Errorf("tuning: bohb random fraction = %v is out of range [0, 1]", b.randomFraction)
	case b.model.startup < 0:
		return nil, errors.Errorf("tuning: bohb model startup trials = %d is out of range [1, ∞)", b.model.startup)
	case b.model.candidates < 1:
		return nil, errors.Errorf("tuning: bohb model candidates = %d is out of range [1, ∞)", b.model.candidates)
	}
	if b.model.startup == 0 {
		b.model.startup = len(s.dims) + 1
	}
	n := tableTrials(table)
	size, discrete := s.discreteSize()
	if discrete {
		n = min(n, size)
	}
	trials := make([]Trial, n)
	for id := range trials {
		trials[id] = Trial{ID: id, Seed: trialSeed(b.seed, id)}
	}
	sched := &bohbScheduler{b: b, space: s, c: c, discrete: discrete, seen: map[string]bool{}}
	sched.brackets = b.brackets(table, trials, c, sched.draw)
	return sched, nil
}

// bohbScheduler runs Hyperband's brackets and fills in each new trial's
// configuration from the model.
type bohbScheduler struct {
	*brackets
	b        bohb
	space    *Space
	c        *config
	discrete bool
	seen     map[string]bool
	told     []*Result
	pending  []Trial // of the current next call
}

func (s *bohbScheduler) next(pending []Trial) (Trial, decision, error) {
	s.pending = pending
	return s.brackets.next(pending)
}

func (s *bohbScheduler) tell(res *Result) {
	s.brackets.tell(res)
	s.told = append(s.told, res)
}

// draw sets t.Params: at random for the random fraction or while no budget
// has enough results, else TPE's proposal from the results at the largest
// budget that has.
func (s *bohbScheduler) draw(t *Trial) {
	r := newRand(t.Seed)
	random := r.Float64() < s.b.randomFraction
	ranked, pending := s.observations()
	t.Params = drawUnseen(s.space, r, s.seen, s.discrete, func() Params {
		if random || ranked == nil {
			return s.space.sample(r)
		}
		good, bad := splitRanked(ranked, pending)
		return s.b.model.propose(s.space, r, good, bad)
	})
}

// observations returns the results at the largest budget with at least
// the model's startup number of them, best first, and the pending trials
// at that budget; nil if no budget has enough.
func (s *bohbScheduler) observations() (ranked []*Result, pending []Trial) {
	byBudget := map[int][]*Result{}
	for _, r := range s.told {
		// A trial a bracket did not promote is marked pruned but was
		// measured in full at its budget; a pruner's pruning cannot occur
		// here (BOHB takes none).
		if (r.Status == StatusOK || r.Status == StatusPruned) && isFinite(r.Metrics[s.c.metric]) {
			byBudget[r.Trial.Epochs] = append(byBudget[r.Trial.Epochs], r)
		}
	}
	budget := math.MinInt
	for e, rs := range byBudget {
		if len(rs) >= s.b.model.startup && e > budget {
			budget = e
		}
	}
	if budget == math.MinInt {
		return nil, nil
	}
	ranked = append([]*Result(nil), byBudget[budget]...)
	sortResults(ranked, s.c)
	for _, t := range s.pending {
		if t.Epochs == budget {
			pending = append(pending, t)
		}
	}
	return ranked, pending
}
