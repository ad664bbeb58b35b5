package solvers

import (
	"math"
	"path"
	"strconv"

	"github.com/pkg/errors"
)

// Option configures an Adam solver, in the style of Gorgonia's functional
// options (G.WithLearnRate, G.WithBeta1). Options only record what they are
// given; NewAdam validates the result and returns an error naming the first
// invalid setting and its valid range, so an Option itself never fails.
type Option func(*config)

// Bits recording which options were applied: WithParamOverride accepts only
// the per-parameter ones, and WithKerasEpsilon needs to know whether
// WithEpsilon was given.
const (
	setLR uint32 = 1 << iota
	setBetas
	setEps
	setWD
	setDecoupled
	setAMSGrad
	setClipNorm
	setClipValue
	setKeras
	setMaximize
	setLRMult
	setOverride
	setWorkers
)

// perParamSettings are the options WithParamOverride accepts.
const perParamSettings = setWD | setLRMult

// config is the full set of hyperparameters. Its exported-in-spirit fields
// are also what MarshalState saves, so that a resumed solver is the saved
// one.
type config struct {
	LR        float64    `json:"lr"`
	Beta1     float64    `json:"beta1"`
	Beta2     float64    `json:"beta2"`
	Eps       float64    `json:"eps"`
	WD        float64    `json:"weight_decay"`
	Decoupled bool       `json:"decoupled_weight_decay"`
	AMSGrad   bool       `json:"amsgrad"`
	Keras     bool       `json:"keras_epsilon"`
	Maximize  bool       `json:"maximize"`
	ClipNorm  float64    `json:"clip_norm"`  // 0: off
	ClipValue float64    `json:"clip_value"` // 0: off
	LRMult    float64    `json:"-"`          // only meaningful inside an override
	Overrides []override `json:"overrides,omitempty"`

	workers int // 0: the default; a property of the machine, not of the run: not saved

	set uint32
	err error // the first structural error (a bad glob, a misplaced option)
}

// override is one WithParamOverride: the settings that apply to parameters
// whose name matches Pattern. Has* say which of them were given.
type override struct {
	Pattern   string  `json:"pattern"`
	WD        float64 `json:"weight_decay"`
	HasWD     bool    `json:"has_weight_decay"`
	LRMult    float64 `json:"lr_multiplier"`
	HasLRMult bool    `json:"has_lr_multiplier"`
}

// defaults are PyTorch's (torch.optim.Adam, 1.13): lr 1e-3, betas
// (0.9, 0.999), eps 1e-8, no weight decay.
func defaults() config {
	return config{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, LRMult: 1}
}

// WithLearnRate sets the learning rate (step size) α. Default 1e-3. It is
// the rate in force until SetLearningRate changes it; a learning-rate
// schedule starts from it. Valid: finite and ≥ 0.
func WithLearnRate(lr float64) Option {
	return func(c *config) { c.LR = lr; c.set |= setLR }
}

// WithBetas sets the exponential decay rates of the first moment (β1, the
// momentum of the gradient's running mean) and of the second moment (β2,
// the running mean of the squared gradient). Defaults 0.9 and 0.999. Both
// must lie in [0, 1).
func WithBetas(beta1, beta2 float64) Option {
	return func(c *config) { c.Beta1, c.Beta2 = beta1, beta2; c.set |= setBetas }
}

// WithEpsilon sets ε, the term that keeps the update's denominator away
// from zero. Default 1e-8 (PyTorch), or 1e-7 with WithKerasEpsilon. Where it
// is added depends on WithKerasEpsilon (see docs/adam.md). Valid: finite
// and > 0.
func WithEpsilon(eps float64) Option {
	return func(c *config) { c.Eps = eps; c.set |= setEps }
}

// WithKerasEpsilon switches to Keras' placement of ε (the Adam paper's
// "epsilon hat"): the step is α·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε̂), with ε̂
// added to the square root of the uncorrected second moment, where PyTorch
// computes α/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε). The two agree when
// ε̂ = ε·√(1−β2ᵗ), so the same number means a larger effective ε early in
// training under Keras' convention. Without WithEpsilon, ε̂ defaults to
// Keras' 1e-7. Use it to reproduce a Keras model's training.
func WithKerasEpsilon() Option {
	return func(c *config) { c.Keras = true; c.set |= setKeras }
}

// WithWeightDecay sets the weight decay coefficient λ. Default 0. Without
// WithDecoupledWeightDecay it is an L2 penalty added to the gradient
// (g + λθ) before the moments, as torch.optim.Adam does; with it, the
// weights shrink by lr·λ·θ before the update, as torch.optim.AdamW does.
// Inside WithParamOverride it sets the coefficient for the matching
// parameters only (0 turns decay off for them). Valid: finite and ≥ 0.
func WithWeightDecay(wd float64) Option {
	return func(c *config) { c.WD = wd; c.set |= setWD }
}

// WithDecoupledWeightDecay makes weight decay decoupled from the gradient
// (AdamW, Loshchilov & Hutter 2019): θ ← θ·(1 − lr·λ) before the Adam
// update, so decay is not rescaled by the adaptive denominator. It has no
// effect while the weight decay is 0.
func WithDecoupledWeightDecay() Option {
	return func(c *config) { c.Decoupled = true; c.set |= setDecoupled }
}

// WithAMSGrad enables AMSGrad (Reddi et al. 2018): the denominator uses the
// running maximum of the second moment, so the effective step size never
// grows. It costs one more buffer the size of the parameters.
func WithAMSGrad() Option {
	return func(c *config) { c.AMSGrad = true; c.set |= setAMSGrad }
}

// WithMaximize makes the solver ascend the objective instead of descending
// it (PyTorch's maximize=True): the gradient is negated before use.
func WithMaximize() Option {
	return func(c *config) { c.Maximize = true; c.set |= setMaximize }
}

// WithClipNorm clips the gradients by their global norm before the update,
// as torch.nn.utils.clip_grad_norm_ does: when the Euclidean norm of all
// gradients together exceeds maxNorm, every gradient is multiplied by
// maxNorm/(norm + 1e-6). Valid: finite and > 0.
func WithClipNorm(maxNorm float64) Option {
	return func(c *config) { c.ClipNorm = maxNorm; c.set |= setClipNorm }
}

// WithClipValue clamps every gradient element to [−v, v] before the update
// (after WithClipNorm when both are given, as Keras orders them), as
// torch.nn.utils.clip_grad_value_ does. Valid: finite and > 0.
func WithClipValue(v float64) Option {
	return func(c *config) { c.ClipValue = v; c.set |= setClipValue }
}

// WithLRMultiplier scales the learning rate of the parameters matched by
// the enclosing WithParamOverride (layer-wise learning rates, for example a
// smaller rate for a pretrained layer). Schedules still act on the global
// rate; the multiplier applies on top. It is valid only inside
// WithParamOverride. Valid: finite and ≥ 0.
func WithLRMultiplier(mult float64) Option {
	return func(c *config) { c.LRMult = mult; c.set |= setLRMult }
}

// WithWorkers lets up to n goroutines (the caller's included, and never
// more than GOMAXPROCS) share a step of at least 32,768 parameters: the
// caller and the workers of the process-wide pool that fastblas uses too.
// The default is the number of CPUs (runtime.NumCPU), so a step uses every
// core GOMAXPROCS allows. On a 2-core machine two goroutines made the
// MNIST MLP's float32 step about 1.4 times and its float64 step 1.8 times
// as fast, and a training epoch with fastblas about 15% shorter
// (docs/adam.md, "Performance"). Whether a step is shared is also
// measured: while steps have lately been faster on the caller alone, as
// when other processes keep the other cores busy, they run there, and the
// choice is checked again now and then. A program that runs several solvers at once, one
// per goroutine, should give each its share of the cores, as it does for
// fastblas.WithThreads. Results are bit-identical for every n. Valid: ≥ 1.
func WithWorkers(n int) Option {
	return func(c *config) {
		c.set |= setWorkers
		if n < 1 {
			c.fail(errors.Errorf("solvers: workers = %d is out of range [1, +Inf)", n))
			return
		}
		c.workers = n
	}
}

// WithParamOverride applies opts to the parameters whose name matches
// pattern, a path.Match glob such as "*/bias" (parameter names look like
// "dense/weight", "dense_1/bias"). Only WithWeightDecay and
// WithLRMultiplier may be overridden; anything else is an error from
// NewAdam. When several overrides match a parameter, each applies in the
// order given, so a later one wins for the same setting. The classic use:
//
//	solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0))
//
// Unnamed parameters (plain Gorgonia nodes without WithName) are matched
// against "#i", i being their position in the slice given to Step.
func WithParamOverride(pattern string, opts ...Option) Option {
	return func(c *config) {
		c.set |= setOverride
		if _, err := path.Match(pattern, ""); err != nil {
			c.fail(errors.Errorf("solvers: override pattern %q is not a valid path.Match glob: %v", pattern, err))
			return
		}
		sub := config{LRMult: 1}
		for _, o := range opts {
			if o != nil {
				o(&sub)
			}
		}
		if sub.err != nil {
			c.fail(sub.err)
			return
		}
		if extra := sub.set &^ perParamSettings; extra != 0 {
			c.fail(errors.Errorf("solvers: override %q sets %s; only WithWeightDecay and WithLRMultiplier can be set per parameter", pattern, settingNames(extra)))
			return
		}
		if sub.set&setWD != 0 {
			if err := checkRange("weight decay", sub.WD, 0, false, math.Inf(1)); err != nil {
				c.fail(errors.Wrapf(err, "solvers: override %q", pattern))
				return
			}
		}
		if sub.set&setLRMult != 0 {
			if err := checkRange("learning-rate multiplier", sub.LRMult, 0, false, math.Inf(1)); err != nil {
				c.fail(errors.Wrapf(err, "solvers: override %q", pattern))
				return
			}
		}
		c.Overrides = append(c.Overrides, override{
			Pattern: pattern,
			WD:      sub.WD, HasWD: sub.set&setWD != 0,
			LRMult: sub.LRMult, HasLRMult: sub.set&setLRMult != 0,
		})
	}
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// settingNames names the options behind a set of bits, for messages.
func settingNames(bits uint32) string {
	names := []struct {
		bit  uint32
		name string
	}{
		{setLR, "WithLearnRate"}, {setBetas, "WithBetas"}, {setEps, "WithEpsilon"},
		{setWD, "WithWeightDecay"}, {setDecoupled, "WithDecoupledWeightDecay"},
		{setAMSGrad, "WithAMSGrad"}, {setClipNorm, "WithClipNorm"}, {setClipValue, "WithClipValue"},
		{setKeras, "WithKerasEpsilon"}, {setMaximize, "WithMaximize"}, {setLRMult, "WithLRMultiplier"},
		{setOverride, "WithParamOverride"}, {setWorkers, "WithWorkers"},
	}
	s := ""
	for _, n := range names {
		if bits&n.bit != 0 {
			if s != "" {
				s += ", "
			}
			s += n.name
		}
	}
	return s
}

// checkRange reports whether x lies in [lo, hi) (or (lo, hi) when
// openLo), NaN and ±Inf never do; hi = +Inf means no upper bound.
func checkRange(name string, x, lo float64, openLo bool, hi float64) error {
	ok := !math.IsNaN(x) && !math.IsInf(x, 0) && x < hi && (x > lo || (!openLo && x == lo))
	if ok {
		return nil
	}
	left := "["
	if openLo {
		left = "("
	}
	right := "+Inf)"
	if !math.IsInf(hi, 1) {
		right = formatFloat(hi) + ")"
	}
	return errors.Errorf("solvers: %s = %v is out of range %s%s, %s", name, x, left, formatFloat(lo), right)
}

// validate checks every setting, in the order a reader meets them.
func (c *config) validate() error {
	if c.err != nil {
		return c.err
	}
	if c.set&setLRMult != 0 {
		return errors.New("solvers: WithLRMultiplier is only valid inside WithParamOverride")
	}
	checks := []struct {
		name   string
		x, lo  float64
		openLo bool
		hi     float64
	}{
		{"learning rate", c.LR, 0, false, math.Inf(1)},
		{"beta1", c.Beta1, 0, false, 1},
		{"beta2", c.Beta2, 0, false, 1},
		{"epsilon", c.Eps, 0, true, math.Inf(1)},
		{"weight decay", c.WD, 0, false, math.Inf(1)},
	}
	for _, k := range checks {
		if err := checkRange(k.name, k.x, k.lo, k.openLo, k.hi); err != nil {
			return err
		}
	}
	if c.set&setClipNorm != 0 {
		if err := checkRange("clip norm", c.ClipNorm, 0, true, math.Inf(1)); err != nil {
			return err
		}
	}
	if c.set&setClipValue != 0 {
		if err := checkRange("clip value", c.ClipValue, 0, true, math.Inf(1)); err != nil {
			return err
		}
	}
	return nil
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
