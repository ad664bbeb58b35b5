package solvers

import (
	"fmt"
	"math"
	"path"
	"strconv"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// Adam is the Adam optimizer (Kingma & Ba 2015) with the choices
// practitioners tune: L2 or decoupled weight decay (AdamW), AMSGrad,
// PyTorch's or Keras' placement of epsilon, gradient clipping by global
// norm and by value, and per-parameter weight decay and learning-rate
// multipliers. It implements gorgonia.Solver, so it works in any Gorgonia
// program, and it computes exactly what torch.optim.Adam and AdamW
// (1.13, single-tensor path) compute, in the parameters' own precision.
//
// Step updates the weights in place and zeroes the gradients it consumed,
// because Gorgonia's dual values accumulate gradients across runs. Each
// parameter has its own moments and step count, keyed by the parameter's
// name (its position when unnamed), so the slice given to Step may change
// order or grow between calls. The learning rate can change at any time
// through SetLearningRate (what schedules do), and MarshalState /
// UnmarshalState carry everything a resumed run needs to continue
// bit-identically.
//
// An Adam is not safe for concurrent use; one training loop owns it.
type Adam struct {
	cfg   config
	steps int64
	// gradNorm is the last step's global gradient norm, before clipping.
	gradNorm float64

	states map[string]*paramState
	// slots caches, by position in the last slice given to Step, the
	// tensors and state of each parameter, so that the hot path needs no
	// map look-up, no name and no allocation.
	slots []slot
	// sums holds one partial sum of squares per block of blocksize
	// gradient elements, summed in order so that the global norm does not
	// depend on how the work is split.
	sums []float64
	// blocks splits every parameter into runs of at most blocksize
	// elements, the unit of work that workers share.
	blocks []block
	// workers is WithWorkers' setting, 0 for the default; job hands the
	// blocks to the pool, and choose decides whether that pays (see
	// planStep). forceSplit, for tests, ignores choose.
	workers    int
	job        blockJob
	choose     workpool.Chooser
	forceSplit bool
}

// paramState is one parameter's optimizer state.
type paramState struct {
	key   string
	dtype tensor.Dtype
	n     int
	step  int64
	m32   []float32
	v32   []float32
	max32 []float32 // AMSGrad's running maximum of v
	m64   []float64
	v64   []float64
	max64 []float64
}

// slot is one position of the model slice.
type slot struct {
	w, g   *tensor.Dense
	st     *paramState
	wd     float64 // weight decay after overrides
	lrMult float64
	k      kernel // this step's scalars
}

// NewAdam returns an Adam solver with PyTorch's defaults (lr 1e-3, betas
// 0.9 and 0.999, eps 1e-8, no weight decay) changed by opts. An invalid
// setting is an error naming it and its valid range.
func NewAdam(opts ...Option) (*Adam, error) {
	c := defaults()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.Keras && c.set&setEps == 0 {
		c.Eps = 1e-7 // Keras' default epsilon hat
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	a := &Adam{cfg: c, states: map[string]*paramState{}}
	a.workers = c.workers
	a.choose.Backoff = true
	return a, nil
}

// LearningRate returns the learning rate in force for the next Step.
func (a *Adam) LearningRate() float64 { return a.cfg.LR }

// SetLearningRate sets the learning rate for the following steps; the
// moments are kept. Schedules and callbacks call it as often as every
// batch, so it does not allocate. Any finite lr ≥ 0 is valid (0 freezes
// the weights while the moments keep their running averages).
func (a *Adam) SetLearningRate(lr float64) error {
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
		return errors.Errorf("solvers: learning rate = %v is out of range [0, +Inf)", lr)
	}
	a.cfg.LR = lr
	return nil
}

// Steps returns how many successful Step calls this solver has made,
// including those restored by UnmarshalState.
func (a *Adam) Steps() int64 { return a.steps }

// GradNorm returns the global L2 norm of the gradients of the last
// successful Step, before clipping: the classic diagnostic of a learning
// rate too high (norms that grow or spike) or of vanishing gradients. It
// costs nothing extra, since Step computes it anyway to check the
// gradients. train.Fit puts it in every batch's logs as "grad_norm".
func (a *Adam) GradNorm() float64 { return a.gradNorm }

// Step updates every parameter in model from its gradient, in place, and
// zeroes the gradients. Values and gradients must be *tensor.Dense of
// Float32 or Float64 with equal sizes. A NaN or ±Inf anywhere in the
// gradients is an error naming the parameter and index, and then no
// parameter and no moment has changed (the gradients are kept too, for
// inspection).
func (a *Adam) Step(model []G.ValueGrad) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("solvers: Adam.Step panicked: %v", r)
		}
	}()
	if err := a.bind(model); err != nil {
		return err
	}
	a.planStep()
	sumsq, err := a.checkGrads()
	if err != nil {
		return err
	}
	a.gradNorm = math.Sqrt(sumsq)
	scale := 1.0
	if a.cfg.ClipNorm > 0 {
		// torch.nn.utils.clip_grad_norm_: clip_coef = max_norm/(total_norm+1e-6),
		// applied only when it is below 1.
		if coef := a.cfg.ClipNorm / (math.Sqrt(sumsq) + 1e-6); coef < 1 {
			scale = coef
		}
	}
	for i := range a.slots {
		s := &a.slots[i]
		s.st.step++
		s.k = a.scalars(s, scale)
	}
	a.update()
	a.endStep()
	a.steps++
	return nil
}

// bind makes a.slots describe model. The common case, the same tensors in
// the same order as last time, costs one pointer comparison per parameter.
func (a *Adam) bind(model []G.ValueGrad) error {
	if len(model) == len(a.slots) {
		same := true
		for i, vg := range model {
			w, g, err := tensors(vg)
			if err != nil {
				return a.paramErr(vg, i, err)
			}
			if w != a.slots[i].w || w.Dtype() != a.slots[i].st.dtype || w.Len() != a.slots[i].st.n || g.Dtype() != w.Dtype() || g.Len() != w.Len() {
				same = false
				break
			}
			// A parameter is known by its weight tensor; its gradient may
			// be a fresh tensor every step (a machine without dual values
			// hands out each run's output).
			a.slots[i].g = g
		}
		if same {
			return nil
		}
	}
	return a.rebind(model)
}

// tensors returns a parameter's value and gradient as dense tensors.
func tensors(vg G.ValueGrad) (w, g *tensor.Dense, err error) {
	if vg == nil {
		return nil, nil, errors.New("is nil")
	}
	wv := vg.Value()
	gv, err := vg.Grad()
	if err != nil {
		return nil, nil, errors.Wrap(err, "has no gradient")
	}
	w, ok := wv.(*tensor.Dense)
	if !ok {
		return nil, nil, errors.Errorf("value is %T, want *tensor.Dense", wv)
	}
	g, ok = gv.(*tensor.Dense)
	if !ok {
		return nil, nil, errors.Errorf("gradient is %T, want *tensor.Dense", gv)
	}
	return w, g, nil
}

// paramKeys names each parameter: its Name() when it has a unique one,
// else "#i" for position i.
func paramKeys(model []G.ValueGrad) []string {
	keys := make([]string, len(model))
	seen := make(map[string]bool, len(model))
	for i, vg := range model {
		name := ""
		if n, ok := vg.(interface{ Name() string }); ok && vg != nil {
			name = n.Name()
		}
		if name == "" || seen[name] {
			name = "#" + strconv.Itoa(i)
		}
		seen[name] = true
		keys[i] = name
	}
	return keys
}

func (a *Adam) paramErr(vg G.ValueGrad, i int, err error) error {
	name := "#" + strconv.Itoa(i)
	if n, ok := vg.(interface{ Name() string }); ok && vg != nil {
		if s := n.Name(); s != "" {
			name = s
		}
	}
	return errors.Errorf("solvers: parameter %s (position %d) %v", name, i, err)
}

// rebind looks every parameter's state up by name, creating it on first
// sight, and resolves the per-parameter overrides.
func (a *Adam) rebind(model []G.ValueGrad) error {
	keys := paramKeys(model)
	slots := make([]slot, len(model))
	fresh := map[string]*paramState{}
	for i, vg := range model {
		w, g, err := tensors(vg)
		if err != nil {
			return a.paramErr(vg, i, err)
		}
		dt := w.Dtype()
		if dt != tensor.Float32 && dt != tensor.Float64 {
			return errors.Errorf("solvers: parameter %s has dtype %v; Adam supports float32 and float64", keys[i], dt)
		}
		if g.Dtype() != dt {
			return errors.Errorf("solvers: parameter %s is %v but its gradient is %v", keys[i], dt, g.Dtype())
		}
		if g.Len() != w.Len() {
			return errors.Errorf("solvers: parameter %s has %d values but its gradient %d", keys[i], w.Len(), g.Len())
		}
		if w.IsView() || g.IsView() {
			return errors.Errorf("solvers: parameter %s or its gradient is a view; Adam needs contiguous tensors", keys[i])
		}
		st := a.states[keys[i]]
		if st == nil {
			st = fresh[keys[i]]
		}
		if st == nil {
			st = newState(keys[i], dt, w.Len(), a.cfg.AMSGrad)
			fresh[keys[i]] = st
		} else if st.dtype != dt || st.n != w.Len() {
			return errors.Errorf("solvers: state for parameter %s holds %d %v values, the parameter has %d %v (a different model?)", keys[i], st.n, st.dtype, w.Len(), dt)
		}
		if a.cfg.AMSGrad && st.max32 == nil && st.max64 == nil {
			st.ensureMax()
		}
		wd, mult := a.cfg.resolve(keys[i])
		slots[i] = slot{w: w, g: g, st: st, wd: wd, lrMult: mult}
	}
	for k, st := range fresh {
		a.states[k] = st
	}
	a.slots = slots
	a.blocks = a.blocks[:0]
	for i, s := range slots {
		for lo := 0; lo < s.st.n; lo += blocksize {
			a.blocks = append(a.blocks, block{slot: i, lo: lo, hi: min(lo+blocksize, s.st.n)})
		}
	}
	if cap(a.sums) < len(a.blocks) {
		a.sums = make([]float64, len(a.blocks))
	}
	a.sums = a.sums[:len(a.blocks)]
	return nil
}

// resolve applies the overrides matching key.
func (c *config) resolve(key string) (wd, lrMult float64) {
	wd, lrMult = c.WD, 1
	for _, o := range c.Overrides {
		if ok, _ := path.Match(o.Pattern, key); !ok {
			continue
		}
		if o.HasWD {
			wd = o.WD
		}
		if o.HasLRMult {
			lrMult = o.LRMult
		}
	}
	return wd, lrMult
}

func newState(key string, dt tensor.Dtype, n int, amsgrad bool) *paramState {
	st := &paramState{key: key, dtype: dt, n: n}
	if dt == tensor.Float32 {
		st.m32, st.v32 = make([]float32, n), make([]float32, n)
	} else {
		st.m64, st.v64 = make([]float64, n), make([]float64, n)
	}
	if amsgrad {
		st.ensureMax()
	}
	return st
}

// ensureMax allocates AMSGrad's buffer. It starts at zero, as PyTorch's
// max_exp_avg_sq does.
func (st *paramState) ensureMax() {
	if st.dtype == tensor.Float32 {
		st.max32 = make([]float32, st.n)
	} else {
		st.max64 = make([]float64, st.n)
	}
}

// checkGrads sums the squares of all gradients (in float64, block by
// block) and fails, before anything is modified, when a gradient holds a
// NaN or an infinity: either makes its block's sum non-finite.
func (a *Adam) checkGrads() (float64, error) {
	a.run(taskSumsq)
	total := 0.0
	for i, x := range a.sums {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, a.badGrad(&a.slots[a.blocks[i].slot])
		}
		total += x
	}
	if math.IsInf(total, 0) {
		return 0, errors.New("solvers: the gradients' squared global norm overflows float64")
	}
	return total, nil
}

// badGrad finds the first non-finite gradient element of s for the message.
func (a *Adam) badGrad(s *slot) error {
	idx, val := -1, 0.0
	if s.st.dtype == tensor.Float32 {
		for i, x := range s.g.Float32s() {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				idx, val = i, f
				break
			}
		}
	} else {
		for i, x := range s.g.Float64s() {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				idx, val = i, x
				break
			}
		}
	}
	if idx < 0 {
		// Every element is finite but their squares overflowed float64.
		return errors.Errorf("solvers: gradient of %s is too large: its squared norm overflows float64", s.st.key)
	}
	return errors.Errorf("solvers: gradient of %s holds %v at index %d; no parameter was updated", s.st.key, val, idx)
}

// scalars computes one parameter's per-step constants in float64, exactly
// as torch.optim.Adam/AdamW (1.13, single-tensor, non-capturable) computes
// them in Python before handing them to the tensor kernels.
func (a *Adam) scalars(s *slot, scale float64) kernel {
	c := &a.cfg
	t := float64(s.st.step)
	lr := c.LR
	if s.lrMult != 1 {
		lr *= s.lrMult
	}
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	var k kernel
	c64 := &k.k64
	c64.beta1, c64.omb1 = c.Beta1, 1-c.Beta1
	c64.beta2, c64.omb2 = c.Beta2, 1-c.Beta2
	c64.eps, c64.decay, c64.scale, c64.clip = c.Eps, 1, scale, c.ClipValue
	if s.wd != 0 {
		if c.Decoupled {
			c64.decay = 1 - lr*s.wd
		} else {
			c64.wd = s.wd
		}
	}
	if c.Keras {
		// Keras: α_t = lr·√(1−β2ᵗ)/(1−β1ᵗ); θ ← θ − α_t·m/(√v + ε̂).
		c64.negStep = -(lr * math.Sqrt(bc2) / bc1)
		c64.bc2sqrt = 1
	} else {
		// PyTorch: θ ← θ − (lr/(1−β1ᵗ))·m/(√v/√(1−β2ᵗ) + ε).
		c64.negStep = -(lr / bc1)
		c64.bc2sqrt = math.Sqrt(bc2)
	}
	k.finish()
	if c.Maximize {
		c64.flags |= flagMaximize
		k.f32.flags |= flagMaximize
	}
	if c.AMSGrad {
		c64.flags |= flagAMSGrad
		k.f32.flags |= flagAMSGrad
	}
	return k
}

// update runs the kernels over every block and zeroes the gradients.
func (a *Adam) update() { a.run(taskUpdate) }

// String describes the solver's settings.
func (a *Adam) String() string {
	c := a.cfg
	s := fmt.Sprintf("Adam(lr=%g, betas=(%g, %g), eps=%g", c.LR, c.Beta1, c.Beta2, c.Eps)
	if c.WD != 0 {
		kind := "L2"
		if c.Decoupled {
			kind = "decoupled"
		}
		s += fmt.Sprintf(", weight_decay=%g (%s)", c.WD, kind)
	}
	if c.AMSGrad {
		s += ", amsgrad"
	}
	if c.Keras {
		s += ", keras_epsilon"
	}
	if c.Maximize {
		s += ", maximize"
	}
	if c.ClipNorm > 0 {
		s += fmt.Sprintf(", clip_norm=%g", c.ClipNorm)
	}
	if c.ClipValue > 0 {
		s += fmt.Sprintf(", clip_value=%g", c.ClipValue)
	}
	for _, o := range c.Overrides {
		s += fmt.Sprintf(", %q:{", o.Pattern)
		sep := ""
		if o.HasWD {
			s += fmt.Sprintf("weight_decay=%g", o.WD)
			sep = ", "
		}
		if o.HasLRMult {
			s += fmt.Sprintf("%slr_multiplier=%g", sep, o.LRMult)
		}
		s += "}"
	}
	return s + ")"
}
