package tuning

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pkg/errors"
)

// Importance is how much each parameter of a search mattered to the
// metric, by fANOVA (Hutter, Hoos & Leyton-Brown 2014, "An Efficient
// Approach for Assessing Hyperparameter Importance"), the estimator
// Optuna uses by default.
type Importance struct {
	// Metric is the leaderboard's ranking metric.
	Metric string
	// Trials is the number of results the forest was fitted to, and
	// Epochs their budget (0: the objective's own default).
	Trials, Epochs int
	// Trees is the size of the forest.
	Trees int
	// Params are the parameters that vary in the space, most important
	// first (ties in the space's order).
	Params []ParamImportance
}

// ParamImportance is one parameter's share of the metric's variance.
type ParamImportance struct {
	// Name is the dimension's name.
	Name string
	// Importance is the parameter's main-effect variance normalised so
	// that the importances of a search sum to 1 (Optuna's normalisation).
	Importance float64
	// VarianceFraction is the main-effect variance as a fraction of the
	// total variance of the forest's prediction, averaged over the trees:
	// what the parameter explains on its own. The fractions of all
	// parameters add up to at most 1; the rest is interactions.
	VarianceFraction float64
}

// importanceConfig holds the forest's settings.
type importanceConfig struct {
	trees    int
	maxDepth int
	seed     uint64
	err      error
}

// ImportanceOption configures Leaderboard.Importance.
type ImportanceOption func(*importanceConfig)

// WithImportanceTrees sets the number of trees of the random forest
// (default 64, as Optuna's FanovaImportanceEvaluator), ≥ 1.
func WithImportanceTrees(n int) ImportanceOption {
	return func(c *importanceConfig) {
		if n < 1 {
			c.err = errors.Errorf("tuning: importance trees = %d, want ≥ 1", n)
			return
		}
		c.trees = n
	}
}

// WithImportanceMaxDepth limits the depth of each tree (default 64, as
// Optuna), ≥ 1.
func WithImportanceMaxDepth(d int) ImportanceOption {
	return func(c *importanceConfig) {
		if d < 1 {
			c.err = errors.Errorf("tuning: importance max depth = %d, want ≥ 1", d)
			return
		}
		c.maxDepth = d
	}
}

// WithImportanceSeed seeds the forest's bootstrap samples (default 0).
// The same seed and results give the same importances, bit for bit.
func WithImportanceSeed(seed uint64) ImportanceOption {
	return func(c *importanceConfig) { c.seed = seed }
}

// Importance estimates each parameter's importance from the finished
// results: those with status ok or pruned and a finite metric. A search
// whose trials ran for several budgets (Halving) compares like with like:
// the results of the budget most trials reached are used (the first rung
// for Halving; the larger budget on a tie). Parameters are encoded on the
// scale they are searched on: Uniform and IntRange linearly, LogUniform by
// the logarithm, each mapped onto [0, 1] by the space's bounds; a Choice
// is categorical, each of its values equally weighted. Choices with a
// single value cannot matter and are left out.
//
// The estimator is fANOVA over a random forest, as Optuna computes it
// (optuna/importance/_fanova): a forest of regression trees (CART, split
// by the largest decrease of squared error, each tree on a bootstrap
// sample, every parameter considered at every split; a Choice splits one
// value against the rest) predicts the metric from the parameters. For
// each tree, whose leaves partition the space into boxes, the marginal of
// parameter p — the prediction averaged over all other parameters — is
// computed exactly on the intervals between the tree's split points, and
// its variance over p's range divided by the variance of the tree's
// prediction over the whole space is p's variance fraction. Fractions are
// averaged over the trees whose prediction varies, and normalised to sum
// to 1. The ranking is invariant to the metric's direction and scale.
//
// It needs at least two results whose metric differs; otherwise it
// returns an error saying so.
func (l *Leaderboard) Importance(opts ...ImportanceOption) (*Importance, error) {
	c := importanceConfig{trees: 64, maxDepth: 64}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("tuning: nil ImportanceOption")
		}
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	if l == nil || l.space == "" {
		return nil, errors.New("tuning: importance needs the leaderboard of a search (Run records its space)")
	}
	space, err := ParseSpace(l.space)
	if err != nil {
		return nil, errors.Wrap(err, "tuning: importance: the leaderboard's space")
	}
	var dims []Dimension
	for _, d := range space.dims {
		if ch, ok := d.(*choice); ok && len(ch.values) < 2 {
			continue
		}
		dims = append(dims, d)
	}
	if len(dims) == 0 {
		return nil, errors.Errorf("tuning: importance: no parameter of %s varies", l.space)
	}
	results, epochs := l.importanceResults()
	if len(results) < 2 {
		return nil, errors.Errorf("tuning: importance needs at least 2 finished trials with a finite %s, have %d", l.Metric, len(results))
	}
	feats := make([]feature, len(dims))
	for j, d := range dims {
		if sc := DimensionScale(d); sc.Choices == nil && !(sc.Hi > sc.Lo) {
			return nil, errors.Errorf("tuning: importance: dimension %q has no range", d.Name())
		}
		feats[j] = newFeature(d)
	}
	x := make([][]float64, len(results))
	y := make([]float64, len(results))
	for i, r := range results {
		x[i] = make([]float64, len(dims))
		for j, d := range dims {
			v, ok := r.Trial.Params[d.Name()]
			if !ok {
				return nil, errors.Errorf("tuning: importance: trial %d has no parameter %q", r.Trial.ID, d.Name())
			}
			if x[i][j], err = feats[j].encode(v); err != nil {
				return nil, errors.Wrapf(err, "tuning: importance: trial %d", r.Trial.ID)
			}
		}
		y[i] = r.Metrics[l.Metric]
	}
	sum := make([]float64, len(dims))
	counted := 0
	for t := range c.trees {
		rng := rand.New(rand.NewPCG(c.seed, uint64(t)))
		tree := growTree(feats, x, y, bootstrap(rng, len(y)), c.maxDepth)
		fr, ok := tree.varianceFractions(feats)
		if !ok {
			continue
		}
		counted++
		for j := range sum {
			sum[j] += fr[j]
		}
	}
	if counted == 0 {
		return nil, errors.Errorf("tuning: importance: %s is the same in every one of the %d trials, so no parameter explains anything", l.Metric, len(results))
	}
	imp := &Importance{Metric: l.Metric, Trials: len(results), Epochs: epochs, Trees: c.trees}
	total := 0.0
	for j := range sum {
		sum[j] /= float64(counted)
		total += sum[j]
	}
	for j, d := range dims {
		p := ParamImportance{Name: d.Name(), VarianceFraction: sum[j]}
		if total > 0 {
			p.Importance = sum[j] / total
		}
		imp.Params = append(imp.Params, p)
	}
	sort.SliceStable(imp.Params, func(a, b int) bool { return imp.Params[a].Importance > imp.Params[b].Importance })
	return imp, nil
}

// importanceResults returns the finished results of the budget most of
// them share, and that budget.
func (l *Leaderboard) importanceResults() ([]Result, int) {
	byBudget := map[int][]Result{}
	for _, r := range l.Results {
		if v, ok := r.Metrics[l.Metric]; ok && isFinite(v) && (r.Status == StatusOK || r.Status == StatusPruned) {
			byBudget[r.Trial.Epochs] = append(byBudget[r.Trial.Epochs], r)
		}
	}
	best := -1
	for e, rs := range byBudget {
		if best < 0 || len(rs) > len(byBudget[best]) || (len(rs) == len(byBudget[best]) && e > best) {
			best = e
		}
	}
	rs := byBudget[best]
	// Leaderboard order is by metric; the forest's input is by trial, so
	// the result does not depend on how a tie in the metric was ranked.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Trial.ID < rs[j].Trial.ID })
	return rs, max(best, 0)
}

// Describe says what the importances were computed from:
// "val_loss (fANOVA, 64 trees, 27 trials, after 1 epoch)".
func (imp *Importance) Describe() string {
	budget := ""
	switch {
	case imp.Epochs == 1:
		budget = ", after 1 epoch"
	case imp.Epochs > 1:
		budget = fmt.Sprintf(", after %d epochs", imp.Epochs)
	}
	return fmt.Sprintf("%s (fANOVA, %d trees, %d trials%s)", imp.Metric, imp.Trees, imp.Trials, budget)
}

// String renders the importances as a table with a bar per parameter.
func (imp *Importance) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "parameter importance for %s:\n", imp.Describe())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  parameter\timportance\texplains\t")
	for _, p := range imp.Params {
		fmt.Fprintf(tw, "  %s\t%.3f\t%.3f\t%s\n", p.Name, p.Importance, p.VarianceFraction, strings.Repeat("█", int(math.Round(p.Importance*30))))
	}
	tw.Flush()
	// tabwriter pads the last cell of a line with no bar.
	lines := strings.SplitAfter(b.String(), "\n")
	for i, ln := range lines {
		if t := strings.TrimRight(ln, " \n"); t != strings.TrimSuffix(ln, "\n") {
			lines[i] = t + "\n"
		}
	}
	return strings.Join(lines, "")
}

// feature is one parameter as the forest sees it: a number in [0, 1]
// (continuous) or a category index (categorical, categories > 0).
type feature struct {
	name       string
	categories int
	index      map[string]int // canonical value → category
	lo, hi     float64        // continuous: the range before mapping
	log        bool
}

func newFeature(d Dimension) feature {
	sc := DimensionScale(d)
	f := feature{name: d.Name(), categories: len(sc.Choices), lo: sc.Lo, hi: sc.Hi, log: sc.Log}
	if sc.Log {
		f.lo, f.hi = math.Log(sc.Lo), math.Log(sc.Hi)
	}
	if f.categories > 0 {
		f.index = map[string]int{}
		for i, v := range d.(*choice).values {
			f.index[canonical(v)] = i
		}
	}
	return f
}

// Scale is how a dimension is searched, for whatever shows or models its
// values: a continuous range [Lo, Hi], logarithmic or linear, or an
// ordered list of choices.
type Scale struct {
	// Lo and Hi bound a Uniform, LogUniform or IntRange dimension.
	Lo, Hi float64
	// Log is set for LogUniform.
	Log bool
	// Integer is set for IntRange.
	Integer bool
	// Choices are a Choice's values as ParseSpace spells them, in order;
	// nil for the continuous kinds.
	Choices []string
}

// DimensionScale returns the scale of d; the zero Scale for a Dimension
// not built by this package's constructors.
func DimensionScale(d Dimension) Scale {
	switch d := d.(type) {
	case *choice:
		sc := Scale{Choices: make([]string, len(d.values))}
		for i, v := range d.values {
			sc.Choices[i] = formatValue(v)
		}
		return sc
	case *uniform:
		return Scale{Lo: d.lo, Hi: d.hi, Log: d.log}
	case *intRange:
		return Scale{Lo: float64(d.lo), Hi: float64(d.hi), Integer: true}
	}
	return Scale{}
}

// encode maps a parameter value onto the feature's scale; a continuous
// value outside the space's bounds (a result of an earlier, wider space)
// is clamped.
func (f *feature) encode(v any) (float64, error) {
	if f.categories > 0 {
		c, ok := f.index[canonical(v)]
		if !ok {
			return 0, errors.Errorf("parameter %q = %s is not one of the space's choices", f.name, formatValue(v))
		}
		return float64(c), nil
	}
	x := Params{f.name: v}.Float(f.name)
	if f.log {
		x = math.Log(x)
	}
	if math.IsNaN(x) {
		return 0, errors.Errorf("parameter %q = %v is not a number in its range", f.name, v)
	}
	return math.Min(math.Max((x-f.lo)/(f.hi-f.lo), 0), 1), nil
}

func bootstrap(rng *rand.Rand, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = rng.IntN(n)
	}
	return idx
}

// treeNode is a split (feature ≥ 0) or a leaf. A continuous split sends
// x ≤ threshold left; a categorical one sends category == int(threshold)
// left.
type treeNode struct {
	feature     int
	threshold   float64
	left, right int
	value       float64
}

type regressionTree struct{ nodes []treeNode }

// growTree fits a CART regression tree to the rows idx of x, y.
func growTree(feats []feature, x [][]float64, y []float64, idx []int, maxDepth int) *regressionTree {
	t := &regressionTree{}
	t.grow(feats, x, y, idx, maxDepth)
	return t
}

func (t *regressionTree) grow(feats []feature, x [][]float64, y []float64, idx []int, depth int) int {
	id := len(t.nodes)
	mean := 0.0
	for _, i := range idx {
		mean += y[i]
	}
	mean /= float64(len(idx))
	t.nodes = append(t.nodes, treeNode{feature: -1, value: mean})
	if depth == 0 || len(idx) < 2 {
		return id
	}
	f, thr, gain := bestSplit(feats, x, y, idx)
	// A gain at rounding level is no split: it would only fit noise of
	// the arithmetic.
	if f < 0 || gain <= 1e-12*sse(y, idx, mean) {
		return id
	}
	var left, right []int
	for _, i := range idx {
		if goesLeft(&feats[f], x[i][f], thr) {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	l := t.grow(feats, x, y, left, depth-1)
	r := t.grow(feats, x, y, right, depth-1)
	t.nodes[id] = treeNode{feature: f, threshold: thr, left: l, right: r, value: mean}
	return id
}

func goesLeft(f *feature, v, thr float64) bool {
	if f.categories > 0 {
		return v == thr
	}
	return v <= thr
}

func sse(y []float64, idx []int, mean float64) float64 {
	s := 0.0
	for _, i := range idx {
		d := y[i] - mean
		s += float64(d * d)
	}
	return s
}

// bestSplit returns the split of idx with the largest decrease of the sum
// of squared errors: for a continuous feature at the midpoints between
// consecutive distinct values, for a categorical one each category against
// the rest. Ties go to the first feature, then the lowest threshold.
func bestSplit(feats []feature, x [][]float64, y []float64, idx []int) (bestF int, bestThr, bestGain float64) {
	bestF = -1
	n := float64(len(idx))
	total := 0.0
	for _, i := range idx {
		total += y[i]
	}
	order := make([]int, len(idx))
	for f := range feats {
		if feats[f].categories > 0 {
			sums := make([]float64, feats[f].categories)
			counts := make([]float64, feats[f].categories)
			for _, i := range idx {
				c := int(x[i][f])
				sums[c] += y[i]
				counts[c]++
			}
			for c := range sums {
				if counts[c] == 0 || counts[c] == n {
					continue
				}
				// SSE decrease = nL·nR/n · (meanL − meanR)².
				ml, mr := sums[c]/counts[c], (total-sums[c])/(n-counts[c])
				gain := counts[c] * (n - counts[c]) / n * (ml - mr) * (ml - mr)
				if gain > bestGain {
					bestF, bestThr, bestGain = f, float64(c), gain
				}
			}
			continue
		}
		copy(order, idx)
		sort.SliceStable(order, func(a, b int) bool { return x[order[a]][f] < x[order[b]][f] })
		left := 0.0
		for k := 0; k+1 < len(order); k++ {
			left += y[order[k]]
			lo, hi := x[order[k]][f], x[order[k+1]][f]
			if lo == hi {
				continue
			}
			nl := float64(k + 1)
			ml, mr := left/nl, (total-left)/(n-nl)
			gain := nl * (n - nl) / n * (ml - mr) * (ml - mr)
			if gain > bestGain {
				bestF, bestThr, bestGain = f, lo+float64((hi-lo)/2), gain
			}
		}
	}
	return bestF, bestThr, bestGain
}

// box is a leaf's region: per feature an interval [lo, hi] of [0, 1]
// (continuous) or the set of categories it holds.
type box struct {
	lo, hi []float64
	cats   [][]bool
}

// measure is the fraction of feature f's range the box covers.
func (b *box) measure(f int) float64 {
	if b.cats[f] == nil {
		return b.hi[f] - b.lo[f]
	}
	n := 0
	for _, in := range b.cats[f] {
		if in {
			n++
		}
	}
	return float64(n) / float64(len(b.cats[f]))
}

type leaf struct {
	value float64
	box   box
}

// leaves walks the tree and returns every leaf with its box.
func (t *regressionTree) leaves(feats []feature) []leaf {
	root := box{lo: make([]float64, len(feats)), hi: make([]float64, len(feats)), cats: make([][]bool, len(feats))}
	for f := range feats {
		root.hi[f] = 1
		if k := feats[f].categories; k > 0 {
			root.cats[f] = make([]bool, k)
			for c := range root.cats[f] {
				root.cats[f][c] = true
			}
		}
	}
	var out []leaf
	var walk func(id int, b box)
	walk = func(id int, b box) {
		nd := t.nodes[id]
		if nd.feature < 0 {
			out = append(out, leaf{value: nd.value, box: b})
			return
		}
		f := nd.feature
		l, r := b.clone(), b.clone()
		if feats[f].categories > 0 {
			c := int(nd.threshold)
			for k := range l.cats[f] {
				l.cats[f][k] = b.cats[f][k] && k == c
				r.cats[f][k] = b.cats[f][k] && k != c
			}
		} else {
			l.hi[f] = math.Min(b.hi[f], nd.threshold)
			r.lo[f] = math.Max(b.lo[f], nd.threshold)
		}
		walk(nd.left, l)
		walk(nd.right, r)
	}
	walk(0, root)
	return out
}

func (b box) clone() box {
	c := box{lo: append([]float64(nil), b.lo...), hi: append([]float64(nil), b.hi...), cats: make([][]bool, len(b.cats))}
	for f, s := range b.cats {
		if s != nil {
			c.cats[f] = append([]bool(nil), s...)
		}
	}
	return c
}

// Sums of products are written float64(a*b) + c so that the compiler
// cannot fuse them into FMAs, which would make the importances differ
// between platforms (callbacks/schedule.go explains).
//
// varianceFractions returns, for every feature, the variance of the
// tree's marginal prediction over that feature divided by the variance of
// its prediction over the whole space (uniform over the unit box and
// over each categorical feature's values); false when the prediction is
// constant.
func (t *regressionTree) varianceFractions(feats []feature) ([]float64, bool) {
	ls := t.leaves(feats)
	// size[l][f] is leaf l's measure along f; weight is their product.
	size := make([][]float64, len(ls))
	weight := make([]float64, len(ls))
	mean := 0.0
	for i := range ls {
		size[i] = make([]float64, len(feats))
		weight[i] = 1
		for f := range feats {
			size[i][f] = ls[i].box.measure(f)
			weight[i] *= size[i][f]
		}
		mean += float64(weight[i] * ls[i].value)
	}
	variance := 0.0
	for i := range ls {
		d := ls[i].value - mean
		variance += float64(weight[i] * d * d)
	}
	if !(variance > 1e-300) {
		return nil, false
	}
	fractions := make([]float64, len(feats))
	for f := range feats {
		// Pieces of f's range on which the marginal is constant: between
		// the tree's split points, or each category.
		var pieces []struct{ at, width float64 }
		if k := feats[f].categories; k > 0 {
			for c := range k {
				pieces = append(pieces, struct{ at, width float64 }{float64(c), 1 / float64(k)})
			}
		} else {
			cuts := []float64{0, 1}
			for _, nd := range t.nodes {
				if nd.feature == f {
					cuts = append(cuts, nd.threshold)
				}
			}
			sort.Float64s(cuts)
			for k := 0; k+1 < len(cuts); k++ {
				if w := cuts[k+1] - cuts[k]; w > 0 {
					pieces = append(pieces, struct{ at, width float64 }{cuts[k] + float64(w/2), w})
				}
			}
		}
		v := 0.0
		for _, p := range pieces {
			marginal := 0.0
			for i := range ls {
				b := &ls[i].box
				inside := false
				if b.cats[f] != nil {
					inside = b.cats[f][int(p.at)]
				} else {
					inside = p.at > b.lo[f] && p.at < b.hi[f]
				}
				if inside && size[i][f] > 0 {
					marginal += float64(ls[i].value * weight[i] / size[i][f])
				}
			}
			d := marginal - mean
			v += float64(p.width * d * d)
		}
		fractions[f] = math.Min(v/variance, 1)
	}
	return fractions, true
}
