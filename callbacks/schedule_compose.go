package callbacks

// The composition schedules: the warm-up factors (ConstantLR, LinearLR)
// that are usually combined with another schedule, the function-made ones
// (LambdaLR, MultiplicativeLR), and the combinators SequentialLR and
// ChainedScheduler, which take any Schedule, a user's own included.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

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
	s.checkTotalIters(totalIters)
	return s
}

func (s *constantLR) String() string {
	return fmt.Sprintf("ConstantLR(factor=%s, total_iters=%d)", g(s.factor), s.total)
}

func (s *constantLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *constantLR) Step(lr float64) (float64, error) {
	s.last++
	switch {
	case s.last == 0:
		return lr * s.factor, nil
	case s.last != s.total:
		return lr, nil
	}
	return lr * (1.0 / s.factor), nil
}

func (s *constantLR) Restart(float64) (float64, error) {
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
	s.checkTotalIters(totalIters)
	return s
}

func (s *linearLR) String() string {
	return fmt.Sprintf("LinearLR(start_factor=%s, end_factor=%s, total_iters=%d)", g(s.startF), g(s.endF), s.total)
}

func (s *linearLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *linearLR) Step(lr float64) (float64, error) {
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

func (s *linearLR) Restart(float64) (float64, error) {
	s.last = 0
	return s.base * (s.startF + (s.endF-s.startF)*float64(min(s.total, s.last))/float64(s.total)), nil
}

// ---------------------------------------------------------------- LambdaLR, MultiplicativeLR

// stepFunc is what LambdaLR and MultiplicativeLR share: a function of the
// step, which must not be nil.
type stepFunc struct {
	core
	f func(step int) float64
}

func newStepFunc(class string, f func(step int) float64) stepFunc {
	s := stepFunc{core: core{class: class}, f: f}
	if f == nil {
		s.invalid("lr_lambda is nil, want a function of the step")
	}
	return s
}

func (s *stepFunc) String() string { return s.class + "(lr_lambda=func)" }

type lambdaLR struct{ stepFunc }

// LambdaLR sets the learning rate to the initial rate times f(step), step
// counting from 0 (PyTorch's LambdaLR(lr_lambda)). f must not be nil; it is
// called once per step and should not allocate when stepped per batch.
// Its state is the step count; f must depend on nothing else for a resumed
// run to see the same rates.
func LambdaLR(f func(step int) float64) Schedule { return &lambdaLR{newStepFunc("LambdaLR", f)} }

func (s *lambdaLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *lambdaLR) Step(float64) (float64, error) {
	s.last++
	return s.base * s.f(s.last), nil
}

func (s *lambdaLR) Restart(lr float64) (float64, error) {
	s.last = -1
	return s.Step(lr)
}

type multiplicativeLR struct{ stepFunc }

// MultiplicativeLR multiplies the learning rate in force by f(step) at
// every step after the first (PyTorch's MultiplicativeLR(lr_lambda)). f
// must not be nil.
func MultiplicativeLR(f func(step int) float64) Schedule {
	return &multiplicativeLR{newStepFunc("MultiplicativeLR", f)}
}

func (s *multiplicativeLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *multiplicativeLR) Step(lr float64) (float64, error) {
	s.last++
	if s.last > 0 {
		return lr * s.f(s.last), nil
	}
	return lr, nil
}

func (s *multiplicativeLR) Restart(lr float64) (float64, error) {
	s.last = -1
	return s.Step(lr)
}

// ---------------------------------------------------------------- combinators

// combinator is what SequentialLR and ChainedScheduler share: their
// children, validated together, and a state that nests the children's.
type combinator struct {
	core
	children []Schedule
}

// newCombinator copies schedules and records the first invalid one.
func newCombinator(class string, schedules []Schedule) combinator {
	c := combinator{core: core{class: class}, children: append([]Schedule(nil), schedules...)}
	if len(schedules) == 0 {
		c.invalid("no schedules, want at least one")
	}
	for i, s := range schedules {
		if s == nil {
			c.invalid("schedules[%d] is nil", i)
			break
		}
		for j := 0; j < i; j++ {
			if schedules[j] == s {
				c.invalid("schedules[%d] and schedules[%d] are the same schedule; give each its own", j, i)
			}
		}
		if err := validate(s); err != nil && c.err == nil {
			c.err = errors.Wrapf(err, "%s: schedules[%d]", class, i)
		}
	}
	return c
}

func (c *combinator) childNames() string {
	names := make([]string, len(c.children))
	for i, s := range c.children {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// MarshalState nests every child's state in the combinator's.
func (c *combinator) MarshalState() ([]byte, error) {
	st := c.state()
	for i, s := range c.children {
		b, err := s.MarshalState()
		if err != nil {
			return nil, errors.Wrapf(err, "%s: schedules[%d]", c.class, i)
		}
		st.Children = append(st.Children, b)
	}
	out, err := json.Marshal(st)
	return out, errors.Wrapf(err, "%s: a schedule's state is not JSON", c.class)
}

// UnmarshalState restores the combinator's position and every child's.
func (c *combinator) UnmarshalState(b []byte) error {
	st, err := c.load(b)
	if err != nil {
		return err
	}
	if len(st.Children) != len(c.children) {
		return errors.Errorf("callbacks: %s state has %d schedules, this one has %d", c.class, len(st.Children), len(c.children))
	}
	for i, s := range c.children {
		if err := s.UnmarshalState(st.Children[i]); err != nil {
			return errors.Wrapf(err, "%s: schedules[%d]", c.class, i)
		}
	}
	return nil
}

// ---------------------------------------------------------------- SequentialLR

type sequentialLR struct {
	combinator
	milestones []int
}

// SequentialLR runs schedules[0] until milestones[0], schedules[1] until
// milestones[1], and so on (PyTorch's SequentialLR(schedulers,
// milestones)); at each milestone the next schedule starts from step 0 and
// from the initial learning rate (see Restarter for a schedule of yours).
// The usual warm-up then cosine annealing over 100 epochs:
//
//	callbacks.SequentialLR([]callbacks.Schedule{
//		callbacks.LinearLR(0.1, 1, 5),
//		callbacks.CosineAnnealingLR(95, 0),
//	}, []int{5})
//
// There must be one milestone fewer than schedules, milestones must be
// ≥ 1 and strictly increasing, and no schedule may be given twice.
func SequentialLR(schedules []Schedule, milestones []int) Schedule {
	s := &sequentialLR{combinator: newCombinator("SequentialLR", schedules), milestones: append([]int(nil), milestones...)}
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

func (s *sequentialLR) String() string {
	return fmt.Sprintf("SequentialLR(schedulers=[%s], milestones=[%s])", s.childNames(), ints(s.milestones))
}

// Start mirrors PyTorch's SequentialLR constructor: every schedule learns
// the initial rate, the rate is reset to it, and only the first schedule
// takes its initial step.
func (s *sequentialLR) Start(base, _ float64) (float64, error) {
	s.base, s.last = base, 0
	for _, c := range s.children[1:] {
		if _, err := c.Start(base, base); err != nil {
			return 0, err
		}
	}
	return s.children[0].Start(base, base)
}

func (s *sequentialLR) Step(lr float64) (float64, error) {
	s.last++
	idx := sort.Search(len(s.milestones), func(i int) bool { return s.milestones[i] > s.last })
	if idx > 0 && s.milestones[idx-1] == s.last {
		return restart(s.children[idx], s.base, lr)
	}
	return s.children[idx].Step(lr)
}

func (s *sequentialLR) Restart(lr float64) (float64, error) {
	s.last = 0
	return restart(s.children[0], s.base, lr)
}

// ---------------------------------------------------------------- ChainedScheduler

type chainedScheduler struct {
	combinator
}

// ChainedScheduler steps every schedule at every step, each from the rate
// the previous one left (PyTorch's ChainedScheduler(schedulers)): a
// ConstantLR warm-up chained with ExponentialLR, for instance, multiplies
// both factors. No schedule may be given twice.
func ChainedScheduler(schedules ...Schedule) Schedule {
	return &chainedScheduler{newCombinator("ChainedScheduler", schedules)}
}

func (s *chainedScheduler) String() string {
	return fmt.Sprintf("ChainedScheduler(schedulers=[%s])", s.childNames())
}

func (s *chainedScheduler) Start(base, lr float64) (float64, error) {
	s.base, s.last = base, 0
	return s.each(lr, func(c Schedule, lr float64) (float64, error) { return c.Start(base, lr) })
}

func (s *chainedScheduler) Step(lr float64) (float64, error) {
	s.last++
	return s.each(lr, Schedule.Step)
}

func (s *chainedScheduler) Restart(lr float64) (float64, error) {
	s.last = 0
	return s.each(lr, func(c Schedule, lr float64) (float64, error) { return restart(c, s.base, lr) })
}

// each passes the rate through every child in order.
func (s *chainedScheduler) each(lr float64, f func(Schedule, float64) (float64, error)) (float64, error) {
	var err error
	for _, c := range s.children {
		if lr, err = f(c, lr); err != nil {
			return 0, err
		}
	}
	return lr, nil
}
