package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pkg/errors"
)

// Standardization rescales every feature to zero mean and unit variance,
// x' = (x − Mean[j]) / Std[j], with the statistics of a training set
// (scikit-learn's StandardScaler). It is plain data, so that a program
// stores it with the model (mnist writes it into the run's config.json)
// and applies the very same one when it evaluates or predicts later; it is
// a Transform, so ds.Apply(seed, s) or a Loader applies it.
type Standardization struct {
	// Mean and Std hold one value per feature (per value of an example,
	// row-major for examples of rank > 1).
	Mean []float64 `json:"mean"`
	Std  []float64 `json:"std"`
}

// FitStandardization computes each feature's mean and population
// standard deviation (divisor n, as StandardScaler) over the rows of d,
// in float64 and in two passes, so that the result does not depend on
// the order of large sums beyond the rows' own order. A constant feature
// gets Std 1 (StandardScaler's rule), so it maps to 0 instead of dividing
// by zero. Fit it on the training split only: statistics that saw the
// validation or test rows leak them into training.
func FitStandardization(d *Dataset) (*Standardization, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	n, fl := d.Len(), d.FeatureLen()
	at := func(i int) float64 {
		if d.X32 != nil {
			return float64(d.X32[i])
		}
		return d.X64[i]
	}
	s := &Standardization{Mean: make([]float64, fl), Std: make([]float64, fl)}
	for r := range n {
		for j := range fl {
			s.Mean[j] += at(r*fl + j)
		}
	}
	for j := range fl {
		s.Mean[j] /= float64(n)
	}
	for r := range n {
		for j := range fl {
			dv := at(r*fl+j) - s.Mean[j]
			s.Std[j] += dv * dv
		}
	}
	for j := range fl {
		s.Std[j] = math.Sqrt(s.Std[j] / float64(n))
		if s.Std[j] == 0 || math.IsNaN(s.Std[j]) {
			s.Std[j] = 1
		}
		if math.IsInf(s.Mean[j], 0) || math.IsNaN(s.Mean[j]) || math.IsInf(s.Std[j], 0) {
			return nil, errors.Errorf("datasets: %s: feature %d has mean %v and standard deviation %v, want finite values", d.name(), j, s.Mean[j], s.Std[j])
		}
	}
	return s, nil
}

// String names the transform in error messages.
func (s *Standardization) String() string {
	if s == nil {
		return "Standardization(nil)"
	}
	return fmt.Sprintf("Standardization(%d features)", len(s.Mean))
}

// Validate implements Transform: one finite mean and one finite, positive
// standard deviation per feature.
func (s *Standardization) Validate() error {
	if s == nil {
		return errors.New("datasets: nil Standardization")
	}
	if len(s.Mean) == 0 || len(s.Mean) != len(s.Std) {
		return errors.Errorf("datasets: Standardization has %d means and %d standard deviations, want the same number ≥ 1", len(s.Mean), len(s.Std))
	}
	for j := range s.Mean {
		if math.IsNaN(s.Mean[j]) || math.IsInf(s.Mean[j], 0) {
			return errors.Errorf("datasets: Standardization: Mean[%d] = %v, want a finite value", j, s.Mean[j])
		}
		if !(s.Std[j] > 0) || math.IsInf(s.Std[j], 0) {
			return errors.Errorf("datasets: Standardization: Std[%d] = %v, want a finite value > 0", j, s.Std[j])
		}
	}
	return nil
}

// Apply implements Transform. An example whose length is not the number of
// features fitted is an error: it is data of another shape than the
// training set's.
func (s *Standardization) Apply(_ *rand.Rand, ex *Example) error {
	n := len(ex.X32)
	if ex.X32 == nil {
		n = len(ex.X64)
	}
	if n != len(s.Mean) {
		return errors.Errorf("datasets: Standardization fitted on %d features, example of shape %v has %d", len(s.Mean), ex.Shape, n)
	}
	if ex.X32 != nil {
		for j, v := range ex.X32 {
			ex.X32[j] = float32((float64(v) - s.Mean[j]) / s.Std[j])
		}
		return nil
	}
	for j, v := range ex.X64 {
		ex.X64[j] = (v - s.Mean[j]) / s.Std[j]
	}
	return nil
}
