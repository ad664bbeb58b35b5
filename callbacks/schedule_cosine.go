package callbacks

// The cosine-like schedules: SGDR's half cosine waves (Loshchilov & Hutter
// 2017), without restarts (CosineAnnealingLR) and with them
// (CosineAnnealingWarmRestarts).

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/pkg/errors"
)

// checkEtaMin records an invalid floor of a cosine schedule.
func (c *core) checkEtaMin(etaMin float64) {
	if !(etaMin >= 0) || math.IsInf(etaMin, 0) {
		c.invalid("eta_min %v, want a finite value ≥ 0", etaMin)
	}
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
	s.checkEtaMin(etaMin)
	return s
}

func (s *cosineLR) String() string {
	return fmt.Sprintf("CosineAnnealingLR(T_max=%d, eta_min=%s)", s.tMax, g(s.etaMin))
}

func (s *cosineLR) Start(base, lr float64) (float64, error) {
	s.begin(base)
	return s.Step(lr)
}

func (s *cosineLR) Step(lr float64) (float64, error) {
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

func (s *cosineLR) Restart(float64) (float64, error) {
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
	s.checkEtaMin(etaMin)
	return s
}

func (s *warmRestarts) String() string {
	return fmt.Sprintf("CosineAnnealingWarmRestarts(T_0=%d, T_mult=%d, eta_min=%s)", s.t0, s.tMult, g(s.etaMin))
}

func (s *warmRestarts) lr() float64 {
	return s.etaMin + (s.base-s.etaMin)*(1+math.Cos(math.Pi*float64(s.tCur)/float64(s.tI)))/2
}

func (s *warmRestarts) Start(base, _ float64) (float64, error) {
	s.begin(base)
	return s.Restart(0)
}

func (s *warmRestarts) Step(float64) (float64, error) {
	if s.last < 0 {
		return s.Restart(0)
	}
	s.last++
	s.tCur++
	if s.tCur >= s.tI {
		s.tCur -= s.tI
		s.tI *= s.tMult
	}
	return s.lr(), nil
}

func (s *warmRestarts) Restart(float64) (float64, error) {
	s.last, s.tI, s.tCur = 0, s.t0, 0
	return s.lr(), nil
}

func (s *warmRestarts) MarshalState() ([]byte, error) {
	st := s.state()
	st.TI, st.TCur = s.tI, s.tCur
	return json.Marshal(st)
}

func (s *warmRestarts) UnmarshalState(b []byte) error {
	st, err := s.load(b)
	if err != nil {
		return err
	}
	s.tI, s.tCur = st.TI, st.TCur
	if s.last >= 0 && (s.tI < 1 || s.tCur < 0 || s.tCur >= s.tI) {
		return errors.Errorf("callbacks: CosineAnnealingWarmRestarts state has T_cur=%d, T_i=%d, want 0 ≤ T_cur < T_i", s.tCur, s.tI)
	}
	return nil
}
