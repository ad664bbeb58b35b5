package callbacks

// The schedules that run for a fixed number of steps and end near zero:
// OneCycleLR (up, then down) and PolynomialLR (down).

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
)

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
func OneCycleLR(maxLR float64, totalSteps int, opts ...OneCycleLROption) Schedule {
	c := oneCycleConfig{pctStart: 0.3, anneal: AnnealCos, divFactor: 25, finalDivFactor: 1e4}
	s := &oneCycleLR{core: core{class: "OneCycleLR"}, maxLR: maxLR, total: totalSteps}
	if err := applyAll("OneCycleLR", opts, func(o OneCycleLROption) { o.applyOneCycleLR(&c) }); err != nil {
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

func (s *oneCycleLR) Start(base, _ float64) (float64, error) {
	s.begin(base)
	return s.Step(0)
}

func (s *oneCycleLR) Step(float64) (float64, error) {
	s.last++
	return s.lr()
}

func (s *oneCycleLR) Restart(float64) (float64, error) {
	s.last = 0
	return s.lr()
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
	s.checkTotalIters(totalIters)
	if !(power >= 0) || math.IsInf(power, 0) {
		s.invalid("power %v, want a finite value ≥ 0", power)
	}
	return s
}

// checkTotalIters records an invalid length of a schedule that ends.
func (c *core) checkTotalIters(total int) {
	if total < 1 {
		c.invalid("total_iters %d, want ≥ 1", total)
	}
}

func (s *polynomialLR) String() string {
	return fmt.Sprintf("PolynomialLR(total_iters=%d, power=%s)", s.total, g(s.power))
}

func (s *polynomialLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *polynomialLR) Step(lr float64) (float64, error) {
	s.last++
	if s.last == 0 || s.last > s.total {
		return lr, nil
	}
	t := float64(s.total)
	decay := math.Pow((1.0-float64(s.last)/t)/(1.0-float64(s.last-1)/t), s.power)
	return lr * decay, nil
}

func (s *polynomialLR) Restart(float64) (float64, error) {
	s.last = 0
	return s.base * math.Pow(1.0-float64(min(s.total, s.last))/float64(s.total), s.power), nil
}
