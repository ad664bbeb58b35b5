package tuning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/pkg/errors"
)

// TPE defaults, Optuna's (optuna.samplers.TPESampler).
const (
	// DefaultTPEStartupTrials is how many trials TPE draws at random before
	// it models the results.
	DefaultTPEStartupTrials = 10
	// DefaultTPECandidates is how many candidates TPE draws from the model
	// of the good trials for each proposal.
	DefaultTPECandidates = 24
)

// TPEOption configures TPE.
type TPEOption func(*tpe)

// TPEStartupTrials sets how many trials are drawn at random, as Random
// draws them, before the model takes over (default
// DefaultTPEStartupTrials). Counted are the finished trials the proposal
// sees, not the trials handed out.
func TPEStartupTrials(n int) TPEOption { return func(t *tpe) { t.startup = n } }

// TPECandidates sets how many candidates each proposal draws from l(x), the
// density of the good trials, before keeping the one that maximises
// l(x)/g(x) (default DefaultTPECandidates).
func TPECandidates(n int) TPEOption { return func(t *tpe) { t.candidates = n } }

// TPEMultivariate models the dimensions jointly when on (default off, as
// Optuna's multivariate=False): l and g become mixtures of products of
// per-dimension kernels, one product per observation, so that a candidate
// is drawn around one good configuration in every dimension at once and
// scored by the joint ratio l(x)/g(x). Interactions the univariate model
// cannot see (the best learning rate growing with the batch size) are then
// learnt. Kernel widths follow Optuna's multivariate rule:
// 0.2·n^(−1/(d+4))·range for n observations in d dimensions, clipped as in
// the univariate model.
func TPEMultivariate(on bool) TPEOption { return func(t *tpe) { t.multivariate = on } }

type tpe struct {
	trials, startup, candidates int
	seed                        uint64
	multivariate                bool
}

// TPE is the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio &
// Kégl 2011, "Algorithms for Hyper-Parameter Optimization") with Optuna's
// default settings: it runs trials configurations, the first
// TPEStartupTrials of them at random, the others proposed from the results
// so far.
//
// How a proposal is made, as Optuna's univariate TPESampler makes it:
//   - The finished trials the proposal sees (see Run) are ranked: ok trials
//     by the metric, then pruned ones (by epochs reached, most first, then
//     by their last value); failed and NaN trials are left out. The best
//     γ(n) = min(⌈n/10⌉, 25) of the n are "good", the rest "bad".
//   - Pending trials (handed out, results not seen yet) are counted as bad:
//     the constant liar strategy with the worst value (Ginsbourger et al.
//     2010; Optuna's constant_liar), so that concurrent workers do not all
//     explore the same spot.
//   - For each dimension on its own, a Parzen estimator is fitted to the
//     good values, l(x), and one to the bad values, g(x): a mixture of one
//     normal per observation, truncated to the range, on the log scale for
//     LogUniform, on integers (probability of [x−½, x+½]) for IntRange,
//     plus a prior component (the middle of the range, as wide as the
//     range). A kernel's width is the larger distance to its neighbours,
//     clipped to [range/min(100, n+2), range]. Older observations weigh less
//     once there are more than 25 (Optuna's default_weights). A Choice is
//     categorical: each observation adds weight 1 to its value on top of a
//     uniform prior of total weight 1.
//   - TPECandidates values are drawn from l, and the one with the largest
//     log l(x) − log g(x) is proposed.
//
// Each proposal draws from its own stream, seeded by the search seed and the
// trial ID, so a search is reproducible for a given number of concurrent
// trials (which fixes what each proposal sees), and a resumed search
// proposes what the uninterrupted one would have. In a discrete space a
// configuration already handed out is not proposed again (the candidates
// are redrawn, then a random unseen one is taken), and the search ends
// early when the space is exhausted.
func TPE(trials int, seed uint64, opts ...TPEOption) Strategy {
	t := tpe{trials: trials, seed: seed, startup: DefaultTPEStartupTrials, candidates: DefaultTPECandidates}
	for _, o := range opts {
		if o != nil {
			o(&t)
		}
	}
	return t
}

func (t tpe) String() string {
	mv := ""
	if t.multivariate {
		mv = ", multivariate"
	}
	return fmt.Sprintf("tpe(trials=%d, seed=%d, startup=%d, candidates=%d%s)", t.trials, t.seed, t.startup, t.candidates, mv)
}

func (t tpe) start(s *Space, c *config) (scheduler, error) {
	if err := checkTrials("tpe", t.trials, c); err != nil {
		return nil, err
	}
	switch {
	case t.startup < 1:
		return nil, errors.Errorf("tuning: tpe startup trials = %d is out of range [1, ∞)", t.startup)
	case t.candidates < 1:
		return nil, errors.Errorf("tuning: tpe candidates = %d is out of range [1, ∞)", t.candidates)
	}
	size, discrete := s.discreteSize()
	return &tpeScheduler{t: t, space: s, c: c, discrete: discrete, size: size, seen: map[string]bool{}}, nil
}

type tpeScheduler struct {
	t        tpe
	space    *Space
	c        *config
	discrete bool
	size     int
	seen     map[string]bool // configurations handed out, in a discrete space
	told     []*Result
	handed   int
}

func (s *tpeScheduler) tell(res *Result) { s.told = append(s.told, res) }

func (s *tpeScheduler) next(pending []Trial) (Trial, decision, error) {
	if s.handed == s.t.trials || (s.discrete && s.handed == s.size) {
		return Trial{}, done, nil
	}
	id := s.handed
	r := newRand(trialSeed(s.t.seed, id))
	good, bad, ok := s.split(pending)
	p := drawUnseen(s.space, r, s.seen, s.discrete, func() Params {
		if ok {
			return s.t.propose(s.space, r, good, bad)
		}
		return s.space.sample(r)
	})
	s.handed++
	return Trial{ID: id, Params: p, Seed: trialSeed(s.t.seed, id)}, propose, nil
}

// drawUnseen returns draw(), redrawn while it lands on a configuration
// already in seen (in a discrete space only, and at most 100 times; then
// the first unseen point of r's random stream), and records it in seen.
// The space must have an unseen point left.
func drawUnseen(space *Space, r *rand.Rand, seen map[string]bool, discrete bool, draw func() Params) Params {
	var p Params
	for attempt := 0; attempt < 100; attempt++ {
		p = draw()
		if !discrete || !seen[p.key()] {
			break
		}
		p = nil
	}
	if p == nil {
		// Candidates keep landing on trials already run: take the first
		// unseen point of the random stream.
		for p = space.sample(r); seen[p.key()]; p = space.sample(r) {
		}
	}
	if discrete {
		seen[p.key()] = true
	}
	return p
}

// split ranks the finished trials and returns the parameters of the good
// and the bad ones (pending trials among the bad), each in trial order; ok
// is false while there are fewer than the startup number of finished
// trials.
func (s *tpeScheduler) split(pending []Trial) (good, bad []Params, ok bool) {
	var done, pruned []*Result
	for _, r := range s.told {
		switch {
		case r.Status == StatusOK:
			done = append(done, r)
		case r.Status == StatusPruned && len(r.History) > 0:
			pruned = append(pruned, r)
		}
	}
	n := len(done) + len(pruned)
	if n < s.t.startup {
		return nil, nil, false
	}
	sortResults(done, s.c)
	sort.SliceStable(pruned, func(i, j int) bool {
		a, b := pruned[i], pruned[j]
		if len(a.History) != len(b.History) {
			return len(a.History) > len(b.History)
		}
		va, vb := a.Metrics[s.c.metric], b.Metrics[s.c.metric]
		if va != vb {
			return s.c.better(va, vb)
		}
		return a.Trial.ID < b.Trial.ID
	})
	good, bad = splitRanked(append(done, pruned...), pending)
	return good, bad, true
}

// splitRanked splits results ranked best first into the parameters of the
// best γ(n) = min(⌈n/10⌉, 25) (good) and of the others (bad), each in
// trial order, and counts the pending trials as bad (constant liar).
func splitRanked(ranked []*Result, pending []Trial) (good, bad []Params) {
	nGood := min((len(ranked)+9)/10, 25)
	byID := func(rs []*Result) []Params {
		rs = append([]*Result(nil), rs...)
		sort.Slice(rs, func(i, j int) bool { return rs[i].Trial.ID < rs[j].Trial.ID })
		out := make([]Params, len(rs))
		for i, r := range rs {
			out[i] = r.Trial.Params
		}
		return out
	}
	good, bad = byID(ranked[:nGood]), byID(ranked[nGood:])
	for _, t := range pending {
		bad = append(bad, t.Params)
	}
	return good, bad
}

// propose draws the tpe's candidates from l and returns the one with the
// largest l(x)/g(x): dimension by dimension, or jointly when multivariate.
func (t tpe) propose(space *Space, r *rand.Rand, good, bad []Params) Params {
	if t.multivariate {
		return t.proposeJointly(space, r, good, bad)
	}
	p := make(Params, len(space.dims))
	for _, d := range space.dims {
		l, g := newParzen(d, good, 0), newParzen(d, bad, 0)
		var best any
		bestScore := math.Inf(-1)
		for range t.candidates {
			x := l.sample(r)
			if score := l.logPDF(x) - g.logPDF(x); best == nil || score > bestScore {
				best, bestScore = x, score
			}
		}
		p[d.Name()] = l.value(best)
	}
	return p
}

// proposeJointly is propose for the multivariate model: each candidate
// picks one component of l (an observation or the prior) and draws every
// dimension from that component's kernels.
func (t tpe) proposeJointly(space *Space, r *rand.Rand, good, bad []Params) Params {
	dims := len(space.dims)
	ls, gs := make([]parzen, dims), make([]parzen, dims)
	for i, d := range space.dims {
		ls[i], gs[i] = newParzen(d, good, dims), newParzen(d, bad, dims)
	}
	weights := ls[0].mixture()
	x, best := make([]float64, dims), make([]float64, dims)
	bestScore := math.Inf(-1)
	for c := range t.candidates {
		k := pick(r, weights)
		for i, l := range ls {
			x[i] = l.sampleComponent(r, k)
		}
		if score := jointLogPDF(ls, x) - jointLogPDF(gs, x); c == 0 || score > bestScore {
			copy(best, x)
			bestScore = score
		}
	}
	p := make(Params, dims)
	for i, d := range space.dims {
		p[d.Name()] = ls[i].value(best[i])
	}
	return p
}

// jointLogPDF is the log density at x of the mixture whose component k is
// the product of the ps' components k (they share their weights).
func jointLogPDF(ps []parzen, x []float64) float64 {
	weights := ps[0].mixture()
	terms := make([]float64, len(weights))
	for k, w := range weights {
		terms[k] = math.Log(w)
		for i, p := range ps {
			terms[k] += p.componentLogPDF(k, x[i])
		}
	}
	return logSumExp(terms)
}

// parzen is a one-dimensional Parzen estimator; x is a float64 position
// (log scale for LogUniform) or a category index.
// Its components are one per observation, in order, then the prior.
type parzen interface {
	sample(r *rand.Rand) float64
	logPDF(x float64) float64
	value(x any) any // the parameter value of a position
	// mixture returns the components' weights (summing to 1).
	mixture() []float64
	// sampleComponent draws from component k alone, and componentLogPDF
	// is its log density.
	sampleComponent(r *rand.Rand, k int) float64
	componentLogPDF(k int, x float64) float64
}

// defaultWeights is Optuna's default_weights: equal up to 25 observations,
// beyond that the oldest ramp down linearly from 1 to 1/n.
func defaultWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if n > 25 {
		ramp := n - 25
		for i := range ramp {
			if ramp == 1 {
				w[i] = 1 / float64(n)
			} else {
				w[i] = 1/float64(n) + (1-1/float64(n))*float64(i)/float64(ramp-1)
			}
		}
	}
	return w
}

// priorWeight is the weight of the prior component relative to an
// observation's (Optuna's prior_weight).
const priorWeight = 1.0

// newParzen fits d's estimator to the observations; jointDims > 0 sets the
// kernel widths for a multivariate model over that many dimensions, 0
// the univariate neighbour rule.
func newParzen(d Dimension, obs []Params, jointDims int) parzen {
	switch d := d.(type) {
	case *choice:
		idx := make([]int, 0, len(obs))
		for _, p := range obs {
			if i := d.index(p[d.name]); i >= 0 {
				idx = append(idx, i)
			}
		}
		return newCategorical(d, idx)
	case *intRange:
		xs := make([]float64, len(obs))
		for i, p := range obs {
			xs[i] = float64(p.Int(d.name))
		}
		return newNumeric(xs, float64(d.lo), float64(d.hi), 1, jointDims, func(x float64) any { return int(x) })
	case *uniform:
		lo, hi := d.lo, d.hi
		xs := make([]float64, len(obs))
		for i, p := range obs {
			xs[i] = p.Float(d.name)
		}
		toValue := func(x float64) any { return math.Min(math.Max(x, d.lo), d.hi) }
		if d.log {
			lo, hi = math.Log(lo), math.Log(hi)
			for i := range xs {
				xs[i] = math.Log(xs[i])
			}
			toValue = func(x float64) any { return math.Min(math.Max(math.Exp(x), d.lo), d.hi) }
		}
		return newNumeric(xs, lo, hi, 0, jointDims, toValue)
	}
	panic(fmt.Sprintf("tuning: no Parzen estimator for %T", d))
}

// numeric is a mixture of truncated normals on [lo−step/2, hi+step/2];
// step 1 makes it integer-valued.
type numeric struct {
	mus, sigmas, weights []float64
	lo, hi, step         float64
	norms                []float64 // each component's mass inside the bounds
	toValue              func(float64) any
}

func newNumeric(xs []float64, lo, hi, step float64, jointDims int, toValue func(float64) any) *numeric {
	width := hi - lo + step
	prior := (lo + hi) / 2
	n := len(xs)
	m := &numeric{lo: lo, hi: hi, step: step, toValue: toValue}
	// Widths: the larger gap to the neighbours among the observations, the
	// prior's centre and the bounds; the outermost take their inner gap.
	order := make([]int, n+1)
	all := append(append([]float64(nil), xs...), prior)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return all[order[a]] < all[order[b]] })
	ends := make([]float64, 0, n+3)
	ends = append(ends, lo-step/2)
	for _, i := range order {
		ends = append(ends, all[i])
	}
	ends = append(ends, hi+step/2)
	sorted := make([]float64, n+1)
	for k := range sorted {
		sorted[k] = math.Max(ends[k+1]-ends[k], ends[k+2]-ends[k+1])
	}
	if len(ends) >= 4 {
		sorted[0] = ends[2] - ends[1]
		sorted[n] = ends[n+1] - ends[n]
	}
	minSigma := width / math.Min(100, float64(n+2))
	sig := make([]float64, n+1)
	for k, i := range order {
		sig[i] = math.Min(math.Max(sorted[k], minSigma), width)
	}
	if jointDims > 0 {
		// One width for all, shrinking with n as a d-dimensional kernel
		// density estimate's should (Scott's rule; Optuna's
		// SIGMA0_MAGNITUDE 0.2).
		h := 0.2 * math.Pow(math.Max(float64(n), 1), -1/float64(jointDims+4)) * width
		for i := range sig {
			sig[i] = math.Min(math.Max(h, minSigma), width)
		}
	}
	m.mus = append(xs[:n:n], prior)
	m.sigmas = append(sig[:n], width)
	m.weights = append(defaultWeights(n), priorWeight)
	normalize(m.weights)
	m.norms = make([]float64, len(m.mus))
	for k := range m.mus {
		m.norms[k] = normalCDF((m.hi+step/2-m.mus[k])/m.sigmas[k]) - normalCDF((m.lo-step/2-m.mus[k])/m.sigmas[k])
	}
	return m
}

func normalize(w []float64) {
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
}

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

func pick(r *rand.Rand, w []float64) int {
	u := r.Float64()
	for i, v := range w {
		if u < v {
			return i
		}
		u -= v
	}
	return len(w) - 1
}

func (m *numeric) sample(r *rand.Rand) float64 { return m.sampleComponent(r, pick(r, m.weights)) }

func (m *numeric) mixture() []float64 { return m.weights }

func (m *numeric) sampleComponent(r *rand.Rand, k int) float64 {
	mu, sigma := m.mus[k], m.sigmas[k]
	a, b := m.lo-m.step/2, m.hi+m.step/2
	ca, cb := normalCDF((a-mu)/sigma), normalCDF((b-mu)/sigma)
	u := ca + r.Float64()*(cb-ca)
	x := mu + sigma*(-math.Sqrt2*math.Erfcinv(2*u))
	if math.IsNaN(x) {
		x = mu
	}
	x = math.Min(math.Max(x, a), b)
	if m.step > 0 {
		x = math.Min(math.Max(m.lo+math.Round((x-m.lo)/m.step)*m.step, m.lo), m.hi)
	}
	return x
}

func (m *numeric) logPDF(x float64) float64 {
	terms := make([]float64, len(m.mus))
	for k := range m.mus {
		terms[k] = math.Log(m.weights[k]) + math.Log(math.Max(m.componentPDF(k, x), 1e-300)) - math.Log(math.Max(m.norms[k], 1e-300))
	}
	return logSumExp(terms)
}

func (m *numeric) componentLogPDF(k int, x float64) float64 {
	return math.Log(math.Max(m.componentPDF(k, x), 1e-300)) - math.Log(math.Max(m.norms[k], 1e-300))
}

// componentPDF is component k's density at x before truncation: the
// probability of [x−½, x+½] for integers.
func (m *numeric) componentPDF(k int, x float64) float64 {
	mu, sigma := m.mus[k], m.sigmas[k]
	if m.step > 0 {
		return normalCDF((x+m.step/2-mu)/sigma) - normalCDF((x-m.step/2-mu)/sigma)
	}
	z := (x - mu) / sigma
	return math.Exp(-z*z/2) / (sigma * math.Sqrt(2*math.Pi))
}

func (m *numeric) value(x any) any { return m.toValue(x.(float64)) }

func logSumExp(v []float64) float64 {
	top := math.Inf(-1)
	for _, x := range v {
		top = math.Max(top, x)
	}
	if math.IsInf(top, -1) {
		return top
	}
	sum := 0.0
	for _, x := range v {
		sum += math.Exp(x - top)
	}
	return top + math.Log(sum)
}

// categorical is a mixture over a Choice's values: one row per
// observation, plus the uniform prior.
type categorical struct {
	d       *choice
	weights []float64   // of the rows
	rows    [][]float64 // each a distribution over the values
}

func newCategorical(d *choice, idx []int) *categorical {
	k, n := len(d.values), len(idx)
	c := &categorical{d: d, weights: append(defaultWeights(n), priorWeight)}
	normalize(c.weights)
	c.rows = make([][]float64, n+1)
	for i := range c.rows {
		row := make([]float64, k)
		for j := range row {
			row[j] = priorWeight / float64(n+1)
		}
		if i < n {
			row[idx[i]]++
		}
		normalize(row)
		c.rows[i] = row
	}
	return c
}

func (c *categorical) sample(r *rand.Rand) float64 { return c.sampleComponent(r, pick(r, c.weights)) }

func (c *categorical) mixture() []float64 { return c.weights }

func (c *categorical) sampleComponent(r *rand.Rand, k int) float64 {
	return float64(pick(r, c.rows[k]))
}

func (c *categorical) componentLogPDF(k int, x float64) float64 { return math.Log(c.rows[k][int(x)]) }

func (c *categorical) logPDF(x float64) float64 {
	p := 0.0
	for i, w := range c.weights {
		p += w * c.rows[i][int(x)]
	}
	return math.Log(p)
}

func (c *categorical) value(x any) any { return c.d.values[int(x.(float64))] }
