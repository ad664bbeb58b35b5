package callbacks

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Schedule is a learning-rate schedule that computes its rates exactly as
// the torch.optim.lr_scheduler class of the same name does in PyTorch
// 1.13.1, with the same arithmetic, so that its rates match PyTorch's to the
// last bits (the recursive, "chainable" forms PyTorch steps with drift from
// the closed forms, and these follow the recursive ones).
//
// A schedule counts steps; NewLRScheduler decides whether a step is an epoch
// or a batch. Like PyTorch's schedulers, most schedules are chainable: each
// step multiplies or adjusts the rate currently in force, so two schedules
// combined with ChainedScheduler (or a schedule and ReduceLROnPlateau)
// compose as they do in PyTorch. SequentialLR switches from one schedule to
// the next at given steps (a warm-up, then cosine annealing).
//
// Constructors never fail; an invalid argument is reported, naming the
// field and its valid range, by NewLRScheduler (or by the enclosing
// SequentialLR or ChainedScheduler). A Schedule holds its position, so give
// each one to a single LRScheduler.
type Schedule interface {
	// String names the schedule and its settings in PyTorch's terms, for
	// instance "StepLR(step_size=100, gamma=0.98)".
	String() string

	// check returns the first invalid setting.
	check() error
	// start is PyTorch's constructor: it records base as the initial
	// learning rate, and takes the initial step (last_epoch becomes 0) from
	// the rate lr currently in force; it returns the rate for step 0.
	start(base, lr float64) (float64, error)
	// step is PyTorch's step(): it advances one step from the rate lr in
	// force and returns the next rate.
	step(lr float64) (float64, error)
	// restart is PyTorch's step(0), which SequentialLR calls when it hands
	// over to a schedule: last_epoch becomes 0 and the rate comes from the
	// closed form where the class has one.
	restart(lr float64) (float64, error)
	save() scheduleState
	load(scheduleState) error
}

// scheduleState is a schedule's position, as stored in a checkpoint.
type scheduleState struct {
	Class     string          `json:"class"`
	Base      num             `json:"base_lr"`
	LastEpoch int             `json:"last_epoch"`
	TI        int             `json:"t_i,omitempty"`
	TCur      int             `json:"t_cur,omitempty"`
	Children  []scheduleState `json:"children,omitempty"`
}

// Products added to something are wrapped in float64(...) throughout: Go
// may fuse x*y+z into one FMA (it does on arm64, and on amd64 built for
// v3), which rounds once where PyTorch rounds twice; an explicit conversion
// forbids the fusion, keeping the rates bit-identical on every platform.

// core is what every schedule keeps: PyTorch's base_lr and last_epoch, and
// the constructor's verdict on its arguments.
type core struct {
	class string
	base  float64
	last  int
	err   error
}

func (c *core) check() error { return c.err }

func (c *core) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = errors.Errorf(c.class+": "+format, args...)
	}
}

func (c *core) save() scheduleState {
	return scheduleState{Class: c.class, Base: num(c.base), LastEpoch: c.last}
}

func (c *core) load(s scheduleState) error {
	if s.Class != c.class {
		return errors.Errorf("callbacks: schedule state is for %s, not %s", s.Class, c.class)
	}
	c.base, c.last = float64(s.Base), s.LastEpoch
	return nil
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ---------------------------------------------------------------- StepLR

type stepLR struct {
	core
	size  int
	gamma float64
}

// StepLR multiplies the learning rate by gamma every stepSize steps
// (PyTorch's StepLR(step_size, gamma)). Per batch it is the classic
// "multiply the rate by 0.98 every 100 batches":
//
//	sched, err := callbacks.NewLRScheduler(callbacks.StepLR(100, 0.98), callbacks.PerBatch)
//
// stepSize must be ≥ 1 and gamma > 0.
func StepLR(stepSize int, gamma float64) Schedule {
	s := &stepLR{core: core{class: "StepLR"}, size: stepSize, gamma: gamma}
	if stepSize < 1 {
		s.invalid("step_size %d, want ≥ 1", stepSize)
	}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		s.invalid("gamma %v, want a finite value > 0", gamma)
	}
	return s
}

func (s *stepLR) String() string {
	return fmt.Sprintf("StepLR(step_size=%d, gamma=%s)", s.size, g(s.gamma))
}

func (s *stepLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *stepLR) step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 || s.last%s.size != 0 {
		return lr, nil
	}
	return lr * s.gamma, nil
}

func (s *stepLR) restart(float64) (float64, error) {
	s.last = 0
	return s.base * math.Pow(s.gamma, float64(s.last/s.size)), nil
}

// ---------------------------------------------------------------- MultiStepLR

type multiStepLR struct {
	core
	milestones []int
	gamma      float64
}

// MultiStepLR multiplies the learning rate by gamma at each milestone step
// (PyTorch's MultiStepLR(milestones, gamma)); a milestone listed twice
// multiplies by gamma² there, as in PyTorch. milestones must be non-empty,
// ≥ 0 and sorted, and gamma > 0.
func MultiStepLR(milestones []int, gamma float64) Schedule {
	s := &multiStepLR{core: core{class: "MultiStepLR"}, milestones: append([]int(nil), milestones...), gamma: gamma}
	if len(milestones) == 0 {
		s.invalid("milestones is empty, want at least one step")
	}
	for i, m := range milestones {
		if m < 0 {
			s.invalid("milestones[%d] = %d, want ≥ 0", i, m)
		}
		if i > 0 && m < milestones[i-1] {
			s.invalid("milestones %v are not sorted, want increasing steps", milestones)
		}
	}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		s.invalid("gamma %v, want a finite value > 0", gamma)
	}
	return s
}

func (s *multiStepLR) String() string {
	ms := make([]string, len(s.milestones))
	for i, m := range s.milestones {
		ms[i] = strconv.Itoa(m)
	}
	return fmt.Sprintf("MultiStepLR(milestones=[%s], gamma=%s)", strings.Join(ms, ", "), g(s.gamma))
}

func (s *multiStepLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

// step counts the milestones equal to the new step, as PyTorch's Counter
// does, without allocating.
func (s *multiStepLR) step(lr float64) (float64, error) {
	s.last++
	lo := sort.SearchInts(s.milestones, s.last)
	n := 0
	for i := lo; i < len(s.milestones) && s.milestones[i] == s.last; i++ {
		n++
	}
	if n == 0 {
		return lr, nil
	}
	return lr * math.Pow(s.gamma, float64(n)), nil
}

func (s *multiStepLR) restart(float64) (float64, error) {
	s.last = 0
	// bisect_right(milestones, last_epoch)
	n := sort.Search(len(s.milestones), func(i int) bool { return s.milestones[i] > s.last })
	return s.base * math.Pow(s.gamma, float64(n)), nil
}

// ---------------------------------------------------------------- ConstantLR

type constantLR struct {
	core
	factor float64
	total  int
}

// ConstantLR multiplies the learning rate by factor for the first
// totalIters steps, then restores it (PyTorch's ConstantLR(factor,
// total_iters)). factor must be in (0, 1] and totalIters ≥ 1.
func ConstantLR(factor float64, totalIters int) Schedule {
	s := &constantLR{core: core{class: "ConstantLR"}, factor: factor, total: totalIters}
	if !(factor > 0 && factor <= 1) {
		s.invalid("factor %v, want a value in (0, 1]", factor)
	}
	if totalIters < 1 {
		s.invalid("total_iters %d, want ≥ 1", totalIters)
	}
	return s
}

func (s *constantLR) String() string {
	return fmt.Sprintf("ConstantLR(factor=%s, total_iters=%d)", g(s.factor), s.total)
}

func (s *constantLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *constantLR) step(lr float64) (float64, error) {
	s.last++
	switch {
	case s.last == 0:
		return lr * s.factor, nil
	case s.last != s.total:
		return lr, nil
	}
	return lr * (1.0 / s.factor), nil
}

func (s *constantLR) restart(float64) (float64, error) {
	s.last = 0
	var reached float64
	if s.last >= s.total {
		reached = 1
	}
	return s.base * (s.factor + float64(reached*(1-s.factor))), nil
}

// ---------------------------------------------------------------- LinearLR

type linearLR struct {
	core
	startF, endF float64
	total        int
}

// LinearLR scales the learning rate by a factor that moves linearly from
// startFactor to endFactor over totalIters steps, then stays (PyTorch's
// LinearLR(start_factor, end_factor, total_iters)): the usual warm-up.
// startFactor must be in (0, 1], endFactor in [0, 1] and totalIters ≥ 1.
func LinearLR(startFactor, endFactor float64, totalIters int) Schedule {
	s := &linearLR{core: core{class: "LinearLR"}, startF: startFactor, endF: endFactor, total: totalIters}
	if !(startFactor > 0 && startFactor <= 1) {
		s.invalid("start_factor %v, want a value in (0, 1]", startFactor)
	}
	if !(endFactor >= 0 && endFactor <= 1) {
		s.invalid("end_factor %v, want a value in [0, 1]", endFactor)
	}
	if totalIters < 1 {
		s.invalid("total_iters %d, want ≥ 1", totalIters)
	}
	return s
}

func (s *linearLR) String() string {
	return fmt.Sprintf("LinearLR(start_factor=%s, end_factor=%s, total_iters=%d)", g(s.startF), g(s.endF), s.total)
}

func (s *linearLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *linearLR) step(lr float64) (float64, error) {
	s.last++
	switch {
	case s.last == 0:
		return lr * s.startF, nil
	case s.last > s.total:
		return lr, nil
	}
	d := s.endF - s.startF
	return lr * (1. + d/(float64(float64(s.total)*s.startF)+float64(float64(s.last-1)*d))), nil
}

func (s *linearLR) restart(float64) (float64, error) {
	s.last = 0
	return s.base * (s.startF + (s.endF-s.startF)*float64(min(s.total, s.last))/float64(s.total)), nil
}

// ---------------------------------------------------------------- ExponentialLR

type exponentialLR struct {
	core
	gamma float64
}

// ExponentialLR multiplies the learning rate by gamma every step (PyTorch's
// ExponentialLR(gamma)); gamma must be > 0.
func ExponentialLR(gamma float64) Schedule {
	s := &exponentialLR{core: core{class: "ExponentialLR"}, gamma: gamma}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		s.invalid("gamma %v, want a finite value > 0", gamma)
	}
	return s
}

func (s *exponentialLR) String() string { return fmt.Sprintf("ExponentialLR(gamma=%s)", g(s.gamma)) }

func (s *exponentialLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *exponentialLR) step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 {
		return lr, nil
	}
	return lr * s.gamma, nil
}

func (s *exponentialLR) restart(float64) (float64, error) {
	s.last = 0
	return s.base * math.Pow(s.gamma, float64(s.last)), nil
}

// ---------------------------------------------------------------- CosineAnnealingLR

type cosineLR struct {
	core
	tMax   int
	etaMin float64
}

// CosineAnnealingLR follows half a cosine from the initial learning rate
// down to etaMin over tMax steps, and back up over the next tMax (PyTorch's
// CosineAnnealingLR(T_max, eta_min), SGDR without restarts, Loshchilov &
// Hutter 2017). It uses PyTorch's recursive form, whose rates drift from
// the closed form in the last bits after many steps. tMax must be ≥ 1 and
// etaMin ≥ 0.
func CosineAnnealingLR(tMax int, etaMin float64) Schedule {
	s := &cosineLR{core: core{class: "CosineAnnealingLR"}, tMax: tMax, etaMin: etaMin}
	if tMax < 1 {
		s.invalid("T_max %d, want ≥ 1", tMax)
	}
	if !(etaMin >= 0) || math.IsInf(etaMin, 0) {
		s.invalid("eta_min %v, want a finite value ≥ 0", etaMin)
	}
	return s
}

func (s *cosineLR) String() string {
	return fmt.Sprintf("CosineAnnealingLR(T_max=%d, eta_min=%s)", s.tMax, g(s.etaMin))
}

func (s *cosineLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *cosineLR) step(lr float64) (float64, error) {
	s.last++
	t, last := float64(s.tMax), float64(s.last)
	switch {
	case s.last == 0:
		return lr, nil
	case (s.last-1-s.tMax)%(2*s.tMax) == 0:
		return lr + (s.base-s.etaMin)*(1-math.Cos(math.Pi/t))/2, nil
	}
	return float64((1+math.Cos(math.Pi*last/t))/(1+math.Cos(math.Pi*(last-1)/t))*(lr-s.etaMin)) + s.etaMin, nil
}

func (s *cosineLR) restart(float64) (float64, error) {
	s.last = 0
	return s.etaMin + (s.base-s.etaMin)*(1+math.Cos(math.Pi*float64(s.last)/float64(s.tMax)))/2, nil
}

// ---------------------------------------------------------------- CosineAnnealingWarmRestarts

type warmRestarts struct {
	core
	t0, tMult int
	etaMin    float64
	tI, tCur  int
}

// CosineAnnealingWarmRestarts follows a cosine from the initial learning
// rate down to etaMin over t0 steps, then restarts, each cycle tMult times
// longer than the last (PyTorch's CosineAnnealingWarmRestarts(T_0, T_mult,
// eta_min), SGDR, Loshchilov & Hutter 2017). t0 must be ≥ 1, tMult ≥ 1 and
// etaMin ≥ 0.
func CosineAnnealingWarmRestarts(t0, tMult int, etaMin float64) Schedule {
	s := &warmRestarts{core: core{class: "CosineAnnealingWarmRestarts"}, t0: t0, tMult: tMult, etaMin: etaMin}
	if t0 < 1 {
		s.invalid("T_0 %d, want ≥ 1", t0)
	}
	if tMult < 1 {
		s.invalid("T_mult %d, want ≥ 1", tMult)
	}
	if !(etaMin >= 0) || math.IsInf(etaMin, 0) {
		s.invalid("eta_min %v, want a finite value ≥ 0", etaMin)
	}
	return s
}

func (s *warmRestarts) String() string {
	return fmt.Sprintf("CosineAnnealingWarmRestarts(T_0=%d, T_mult=%d, eta_min=%s)", s.t0, s.tMult, g(s.etaMin))
}

func (s *warmRestarts) lr() float64 {
	return s.etaMin + (s.base-s.etaMin)*(1+math.Cos(math.Pi*float64(s.tCur)/float64(s.tI)))/2
}

func (s *warmRestarts) start(base, _ float64) (float64, error) {
	s.base, s.last = base, -1
	return s.restart(0)
}

func (s *warmRestarts) step(float64) (float64, error) {
	if s.last < 0 {
		return s.restart(0)
	}
	s.last++
	s.tCur++
	if s.tCur >= s.tI {
		s.tCur -= s.tI
		s.tI *= s.tMult
	}
	return s.lr(), nil
}

func (s *warmRestarts) restart(float64) (float64, error) {
	s.last, s.tI, s.tCur = 0, s.t0, 0
	return s.lr(), nil
}

func (s *warmRestarts) save() scheduleState {
	st := s.core.save()
	st.TI, st.TCur = s.tI, s.tCur
	return st
}

func (s *warmRestarts) load(st scheduleState) error {
	if err := s.core.load(st); err != nil {
		return err
	}
	s.tI, s.tCur = st.TI, st.TCur
	if s.last >= 0 && (s.tI < 1 || s.tCur < 0 || s.tCur >= s.tI) {
		return errors.Errorf("callbacks: CosineAnnealingWarmRestarts state has T_cur=%d, T_i=%d, want 0 ≤ T_cur < T_i", s.tCur, s.tI)
	}
	return nil
}

// ---------------------------------------------------------------- PolynomialLR

type polynomialLR struct {
	core
	total int
	power float64
}

// PolynomialLR decays the learning rate to 0 over totalIters steps as
// (1 − step/totalIters)^power, then keeps it there (PyTorch's
// PolynomialLR(total_iters, power)). totalIters must be ≥ 1 and power ≥ 0.
func PolynomialLR(totalIters int, power float64) Schedule {
	s := &polynomialLR{core: core{class: "PolynomialLR"}, total: totalIters, power: power}
	if totalIters < 1 {
		s.invalid("total_iters %d, want ≥ 1", totalIters)
	}
	if !(power >= 0) || math.IsInf(power, 0) {
		s.invalid("power %v, want a finite value ≥ 0", power)
	}
	return s
}

func (s *polynomialLR) String() string {
	return fmt.Sprintf("PolynomialLR(total_iters=%d, power=%s)", s.total, g(s.power))
}

func (s *polynomialLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *polynomialLR) step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 || s.last > s.total {
		return lr, nil
	}
	t := float64(s.total)
	decay := math.Pow((1.0-float64(s.last)/t)/(1.0-float64(s.last-1)/t), s.power)
	return lr * decay, nil
}

func (s *polynomialLR) restart(float64) (float64, error) {
	s.last = 0
	return s.base * math.Pow(1.0-float64(min(s.total, s.last))/float64(s.total), s.power), nil
}

// ---------------------------------------------------------------- LambdaLR, MultiplicativeLR

type lambdaLR struct {
	core
	f func(step int) float64
}

// LambdaLR sets the learning rate to the initial rate times f(step), step
// counting from 0 (PyTorch's LambdaLR(lr_lambda)). f must not be nil; it is
// called once per step and should not allocate when stepped per batch.
func LambdaLR(f func(step int) float64) Schedule {
	s := &lambdaLR{core: core{class: "LambdaLR"}, f: f}
	if f == nil {
		s.invalid("lr_lambda is nil, want a function of the step")
	}
	return s
}

func (s *lambdaLR) String() string { return "LambdaLR(lr_lambda=func)" }

func (s *lambdaLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *lambdaLR) step(float64) (float64, error) {
	s.last++
	return s.base * s.f(s.last), nil
}

func (s *lambdaLR) restart(lr float64) (float64, error) {
	s.last = -1
	return s.step(lr)
}

type multiplicativeLR struct {
	core
	f func(step int) float64
}

// MultiplicativeLR multiplies the learning rate in force by f(step) at
// every step after the first (PyTorch's MultiplicativeLR(lr_lambda)). f
// must not be nil.
func MultiplicativeLR(f func(step int) float64) Schedule {
	s := &multiplicativeLR{core: core{class: "MultiplicativeLR"}, f: f}
	if f == nil {
		s.invalid("lr_lambda is nil, want a function of the step")
	}
	return s
}

func (s *multiplicativeLR) String() string { return "MultiplicativeLR(lr_lambda=func)" }

func (s *multiplicativeLR) start(base, lr float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(lr)
}

func (s *multiplicativeLR) step(lr float64) (float64, error) {
	s.last++
	if s.last > 0 {
		return lr * s.f(s.last), nil
	}
	return lr, nil
}

func (s *multiplicativeLR) restart(lr float64) (float64, error) {
	s.last = -1
	return s.step(lr)
}

// ---------------------------------------------------------------- OneCycleLR

type cyclePhase struct {
	end            float64
	startLR, endLR float64
}

type oneCycleLR struct {
	core
	maxLR, pct, div, finalDiv float64
	total                     int
	anneal                    Anneal
	three                     bool
	phases                    []cyclePhase
}

// OneCycleLR is the 1cycle policy (Smith & Topin 2017, "Super-Convergence"):
// the learning rate rises from maxLR/div_factor to maxLR over the first
// pct_start of totalSteps, then falls to maxLR/(div_factor·final_div_factor)
// (PyTorch's OneCycleLR(max_lr, total_steps, pct_start=0.3,
// anneal_strategy='cos', div_factor=25, final_div_factor=1e4,
// three_phase=False)). It ignores the optimizer's own rate, as PyTorch
// does. Options: WithPctStart, WithAnnealStrategy, WithDivFactor,
// WithFinalDivFactor, WithThreePhase. Stepping past totalSteps is an error,
// as in PyTorch; pass epochs·batches per epoch when stepping per batch.
//
// PyTorch also cycles the momentum (Adam's β1) by default; this schedule
// sets only the learning rate.
func OneCycleLR(maxLR float64, totalSteps int, opts ...Option) Schedule {
	c := config{pctStart: 0.3, anneal: AnnealCos, divFactor: 25, finalDivFactor: 1e4}
	s := &oneCycleLR{core: core{class: "OneCycleLR"}, maxLR: maxLR, total: totalSteps}
	if err := c.apply("OneCycleLR", []string{"WithPctStart", "WithAnnealStrategy", "WithDivFactor", "WithFinalDivFactor", "WithThreePhase"}, opts); err != nil {
		s.err = err
		return s
	}
	s.pct, s.anneal, s.div, s.finalDiv, s.three = c.pctStart, c.anneal, c.divFactor, c.finalDivFactor, c.threePhase
	if !(maxLR > 0) || math.IsInf(maxLR, 0) {
		s.invalid("max_lr %v, want a finite value > 0", maxLR)
	}
	if totalSteps < 1 {
		s.invalid("total_steps %d, want ≥ 1", totalSteps)
	}
	if !(s.pct >= 0 && s.pct <= 1) {
		s.invalid("pct_start %v, want a value in [0, 1]", s.pct)
	}
	if s.anneal != AnnealCos && s.anneal != AnnealLinear {
		s.invalid("anneal_strategy %q, want \"cos\" or \"linear\"", string(s.anneal))
	}
	if !(s.div > 0) || math.IsInf(s.div, 0) {
		s.invalid("div_factor %v, want a finite value > 0", s.div)
	}
	if !(s.finalDiv > 0) || math.IsInf(s.finalDiv, 0) {
		s.invalid("final_div_factor %v, want a finite value > 0", s.finalDiv)
	}
	initial := maxLR / s.div
	minLR := initial / s.finalDiv
	total := float64(totalSteps)
	if s.three {
		s.phases = []cyclePhase{
			{end: s.pct*total - 1, startLR: initial, endLR: maxLR},
			{end: 2*s.pct*total - 2, startLR: maxLR, endLR: initial},
			{end: total - 1, startLR: initial, endLR: minLR},
		}
	} else {
		s.phases = []cyclePhase{
			{end: s.pct*total - 1, startLR: initial, endLR: maxLR},
			{end: total - 1, startLR: maxLR, endLR: minLR},
		}
	}
	return s
}

func (s *oneCycleLR) String() string {
	return fmt.Sprintf("OneCycleLR(max_lr=%s, total_steps=%d, pct_start=%s, anneal_strategy=%q, div_factor=%s, final_div_factor=%s, three_phase=%t)",
		g(s.maxLR), s.total, g(s.pct), string(s.anneal), g(s.div), g(s.finalDiv), s.three)
}

func (s *oneCycleLR) lr() (float64, error) {
	n := s.last
	if n > s.total {
		return 0, errors.Errorf("OneCycleLR: tried to step %d times, total_steps is %d", n+1, s.total)
	}
	start := 0.0
	for i, p := range s.phases {
		if float64(n) <= p.end || i == len(s.phases)-1 {
			if p.end == start {
				return 0, errors.Errorf("OneCycleLR: phase %d has no steps (pct_start=%v, total_steps=%d); choose pct_start so that pct_start·total_steps ≠ 1", i+1, s.pct, s.total)
			}
			pct := (float64(n) - start) / (p.end - start)
			if s.anneal == AnnealLinear {
				// Stepping to total_steps, which PyTorch allows, extrapolates
				// past the last phase; linearly that can go below 0, a rate
				// never used for a step but one a solver may refuse.
				return math.Max(float64((p.endLR-p.startLR)*pct)+p.startLR, 0), nil
			}
			cosOut := math.Cos(math.Pi*pct) + 1
			return p.endLR + float64((p.startLR-p.endLR)/2.0*cosOut), nil
		}
		start = p.end
	}
	panic("unreachable: the last phase always matches")
}

func (s *oneCycleLR) start(base, _ float64) (float64, error) {
	s.base, s.last = base, -1
	return s.step(0)
}

func (s *oneCycleLR) step(float64) (float64, error) {
	s.last++
	return s.lr()
}

func (s *oneCycleLR) restart(float64) (float64, error) {
	s.last = 0
	return s.lr()
}

// ---------------------------------------------------------------- SequentialLR

type sequentialLR struct {
	core
	children   []Schedule
	milestones []int
}

// SequentialLR runs schedules[0] until milestones[0], schedules[1] until
// milestones[1], and so on (PyTorch's SequentialLR(schedulers,
// milestones)); at each milestone the next schedule starts from step 0 and
// from the initial learning rate. The usual warm-up then cosine annealing
// over 100 epochs:
//
//	callbacks.SequentialLR([]callbacks.Schedule{
//		callbacks.LinearLR(0.1, 1, 5),
//		callbacks.CosineAnnealingLR(95, 0),
//	}, []int{5})
//
// There must be one milestone fewer than schedules, milestones must be
// ≥ 1 and strictly increasing, and no schedule may be given twice.
func SequentialLR(schedules []Schedule, milestones []int) Schedule {
	s := &sequentialLR{core: core{class: "SequentialLR"}, children: append([]Schedule(nil), schedules...), milestones: append([]int(nil), milestones...)}
	s.err = checkChildren("SequentialLR", schedules)
	if len(schedules) > 0 && len(milestones) != len(schedules)-1 {
		s.invalid("%d schedules need %d milestones, got %d", len(schedules), len(schedules)-1, len(milestones))
	}
	for i, m := range milestones {
		if m < 1 {
			s.invalid("milestones[%d] = %d, want ≥ 1", i, m)
		}
		if i > 0 && m <= milestones[i-1] {
			s.invalid("milestones %v are not strictly increasing", milestones)
		}
	}
	return s
}

// checkChildren validates the schedules given to a combinator.
func checkChildren(who string, schedules []Schedule) error {
	if len(schedules) == 0 {
		return errors.Errorf("%s: no schedules, want at least one", who)
	}
	for i, c := range schedules {
		if c == nil {
			return errors.Errorf("%s: schedules[%d] is nil", who, i)
		}
		for j := 0; j < i; j++ {
			if schedules[j] == c {
				return errors.Errorf("%s: schedules[%d] and schedules[%d] are the same schedule; give each its own", who, j, i)
			}
		}
		if err := c.check(); err != nil {
			return errors.Wrapf(err, "%s: schedules[%d]", who, i)
		}
	}
	return nil
}

func childNames(cs []Schedule) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

func (s *sequentialLR) String() string {
	ms := make([]string, len(s.milestones))
	for i, m := range s.milestones {
		ms[i] = strconv.Itoa(m)
	}
	return fmt.Sprintf("SequentialLR(schedulers=[%s], milestones=[%s])", childNames(s.children), strings.Join(ms, ", "))
}

// start mirrors PyTorch's SequentialLR constructor: every schedule learns
// the initial rate, the rate is reset to it, and only the first schedule
// takes its initial step.
func (s *sequentialLR) start(base, _ float64) (float64, error) {
	s.base, s.last = base, 0
	for _, c := range s.children[1:] {
		if _, err := c.start(base, base); err != nil {
			return 0, err
		}
	}
	return s.children[0].start(base, base)
}

func (s *sequentialLR) step(lr float64) (float64, error) {
	s.last++
	idx := sort.Search(len(s.milestones), func(i int) bool { return s.milestones[i] > s.last })
	if idx > 0 && s.milestones[idx-1] == s.last {
		return s.children[idx].restart(lr)
	}
	return s.children[idx].step(lr)
}

func (s *sequentialLR) restart(lr float64) (float64, error) {
	s.last = 0
	return s.children[0].restart(lr)
}

func (s *sequentialLR) save() scheduleState {
	st := s.core.save()
	for _, c := range s.children {
		st.Children = append(st.Children, c.save())
	}
	return st
}

func (s *sequentialLR) load(st scheduleState) error {
	if err := s.core.load(st); err != nil {
		return err
	}
	return loadChildren(s.class, s.children, st.Children)
}

func loadChildren(who string, cs []Schedule, sts []scheduleState) error {
	if len(sts) != len(cs) {
		return errors.Errorf("callbacks: %s state has %d schedules, this one has %d", who, len(sts), len(cs))
	}
	for i, c := range cs {
		if err := c.load(sts[i]); err != nil {
			return errors.Wrapf(err, "%s: schedules[%d]", who, i)
		}
	}
	return nil
}

// ---------------------------------------------------------------- ChainedScheduler

type chainedScheduler struct {
	core
	children []Schedule
}

// ChainedScheduler steps every schedule at every step, each from the rate
// the previous one left (PyTorch's ChainedScheduler(schedulers)): a
// ConstantLR warm-up chained with ExponentialLR, for instance, multiplies
// both factors. No schedule may be given twice.
func ChainedScheduler(schedules ...Schedule) Schedule {
	return &chainedScheduler{core: core{class: "ChainedScheduler", err: checkChildren("ChainedScheduler", schedules)}, children: append([]Schedule(nil), schedules...)}
}

func (s *chainedScheduler) String() string {
	return fmt.Sprintf("ChainedScheduler(schedulers=[%s])", childNames(s.children))
}

func (s *chainedScheduler) start(base, lr float64) (float64, error) {
	s.base, s.last = base, 0
	var err error
	for _, c := range s.children {
		if lr, err = c.start(base, lr); err != nil {
			return 0, err
		}
	}
	return lr, nil
}

func (s *chainedScheduler) step(lr float64) (float64, error) {
	s.last++
	var err error
	for _, c := range s.children {
		if lr, err = c.step(lr); err != nil {
			return 0, err
		}
	}
	return lr, nil
}

func (s *chainedScheduler) restart(lr float64) (float64, error) {
	s.last = 0
	var err error
	for _, c := range s.children {
		if lr, err = c.restart(lr); err != nil {
			return 0, err
		}
	}
	return lr, nil
}

func (s *chainedScheduler) save() scheduleState {
	st := s.core.save()
	for _, c := range s.children {
		st.Children = append(st.Children, c.save())
	}
	return st
}

func (s *chainedScheduler) load(st scheduleState) error {
	if err := s.core.load(st); err != nil {
		return err
	}
	return loadChildren(s.class, s.children, st.Children)
}
