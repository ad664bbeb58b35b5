package callbacks

// The step-like schedules: the rate is multiplied by gamma at fixed steps
// (StepLR, MultiStepLR) or at every step (ExponentialLR).

import (
	"fmt"
	"math"
	"sort"
)

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
	s.checkGamma(gamma)
	return s
}

// checkGamma records an invalid multiplicative factor.
func (c *core) checkGamma(gamma float64) {
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		c.invalid("gamma %v, want a finite value > 0", gamma)
	}
}

func (s *stepLR) String() string {
	return fmt.Sprintf("StepLR(step_size=%d, gamma=%s)", s.size, g(s.gamma))
}

func (s *stepLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *stepLR) Step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 || s.last%s.size != 0 {
		return lr, nil
	}
	return lr * s.gamma, nil
}

func (s *stepLR) Restart(float64) (float64, error) {
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
	s.checkGamma(gamma)
	return s
}

func (s *multiStepLR) String() string {
	return fmt.Sprintf("MultiStepLR(milestones=[%s], gamma=%s)", ints(s.milestones), g(s.gamma))
}

func (s *multiStepLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

// Step counts the milestones equal to the new step, as PyTorch's Counter
// does, without allocating.
func (s *multiStepLR) Step(lr float64) (float64, error) {
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

func (s *multiStepLR) Restart(float64) (float64, error) {
	s.last = 0
	// bisect_right(milestones, last_epoch)
	n := sort.Search(len(s.milestones), func(i int) bool { return s.milestones[i] > s.last })
	return s.base * math.Pow(s.gamma, float64(n)), nil
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
	s.checkGamma(gamma)
	return s
}

func (s *exponentialLR) String() string { return fmt.Sprintf("ExponentialLR(gamma=%s)", g(s.gamma)) }

func (s *exponentialLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *exponentialLR) Step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 {
		return lr, nil
	}
	return lr * s.gamma, nil
}

func (s *exponentialLR) Restart(float64) (float64, error) {
	s.last = 0
	return s.base * math.Pow(s.gamma, float64(s.last)), nil
}
