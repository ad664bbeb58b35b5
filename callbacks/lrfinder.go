package callbacks

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
)

// Defaults of the learning-rate range test, those of fastai's LRFinder
// (fastai/callback/schedule.py) — rates from 1e-7 to 10, the loss smoothed
// with β = 0.98, stop when the smoothed loss exceeds 4× its best — except
// the number of batches: 200 instead of fastai's 100. The moving average
// lags the loss by about β/(1−β) = 49 batches; over 100 batches spanning
// eight decades that lag moved the suggestion for the MNIST MLP to
// 3.4e-3…1.0e-2 over five seeds, over 200 batches to 1.7e-3…2.4e-3, where
// the raw loss falls fastest (docs/guide.md).
const (
	DefaultLRFinderMinLR      = 1e-7
	DefaultLRFinderMaxLR      = 10
	DefaultLRFinderSteps      = 200
	DefaultLRFinderSmoothing  = 0.98
	DefaultLRFinderDivergence = 4
)

// Why an LR range test ended (LRFinderResult.Stop).
const (
	// LRFinderCompleted: every planned batch ran.
	LRFinderCompleted = "completed"
	// LRFinderDiverged: the smoothed loss rose above the divergence
	// factor times its best value, or a loss was not finite.
	LRFinderDiverged = "diverged"
	// LRFinderInterrupted: training ended before the planned batches for
	// another reason (an error, cancellation, or too little data).
	LRFinderInterrupted = "interrupted"
)

// LRFinderOption configures NewLRFinder.
type LRFinderOption func(*LRFinder)

// WithLRFinderRange sets the learning rates of the first and the last
// batch (default 1e-7 and 10); 0 < lo < hi, both finite.
func WithLRFinderRange(lo, hi float64) LRFinderOption {
	return func(f *LRFinder) {
		if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
			f.fail(errors.Errorf("LRFinder: learning-rate range [%v, %v], want 0 < lo < hi < ∞", lo, hi))
			return
		}
		f.lo, f.hi = lo, hi
	}
}

// WithLRFinderSteps sets the number of batches (learning rates) the test
// runs (default 200), ≥ 2.
func WithLRFinderSteps(n int) LRFinderOption {
	return func(f *LRFinder) {
		if n < 2 {
			f.fail(errors.Errorf("LRFinder: steps = %d, want ≥ 2", n))
			return
		}
		f.steps = n
	}
}

// WithLRFinderSmoothing sets β of the loss's exponential moving average
// (default 0.98), in [0, 1); 0 records the raw batch losses.
func WithLRFinderSmoothing(beta float64) LRFinderOption {
	return func(f *LRFinder) {
		if !(beta >= 0 && beta < 1) {
			f.fail(errors.Errorf("LRFinder: smoothing β = %v, want a value in [0, 1)", beta))
			return
		}
		f.beta = beta
	}
}

// WithLRFinderDivergence stops the test once the smoothed loss exceeds
// factor times the best smoothed loss so far (default 4, as fastai and
// Lightning); factor > 1, or 0 to run every planned batch whatever the
// loss does.
func WithLRFinderDivergence(factor float64) LRFinderOption {
	return func(f *LRFinder) {
		if factor != 0 && !(factor > 1 && !math.IsInf(factor, 0)) {
			f.fail(errors.Errorf("LRFinder: divergence factor = %v, want a finite value > 1, or 0 for none", factor))
			return
		}
		f.divergence = factor
	}
}

// LRFinder is the learning-rate range test (Smith 2017, "Cyclical
// Learning Rates for Training Neural Networks", section 3.3; fastai's
// lr_find, Lightning's Tuner.lr_find) as a callback. From OnTrainBegin on
// it sets the learning rate of batch i to lo·(hi/lo)^(i/(steps−1)), a
// geometric rise from lo to hi over the planned steps, and records each
// batch's loss and its exponential moving average with bias correction
// (fastai's AvgSmoothLoss):
//
//	avg_i = β·avg_{i−1} + (1−β)·loss_i,  smoothed_i = avg_i / (1 − β^(i+1))
//
// It stops training after the planned steps, or once the smoothed loss
// exceeds the divergence factor times its best value (checked from the
// second batch on) or a loss is not finite. OnTrainEnd copies back the
// weights it snapshotted at OnTrainBegin, so the model is where it was;
// the solver's state (Adam's moments and step count) is not the callback's
// to restore — train.FindLR restores it too.
//
// Give it alone to a fit of enough epochs to hold the planned steps (a
// schedule or plateau callback would fight over the learning rate).
// Result gives the curve and the suggested rate. Recording allocates
// nothing per batch.
type LRFinder struct {
	Base
	lo, hi     float64
	steps      int
	beta       float64
	divergence float64
	err        error

	avg, best float64
	lrs       []float64
	losses    []float64
	smoothed  []float64
	stop      string
	reason    string
	snapshot  Snapshot
}

func (f *LRFinder) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// NewLRFinder returns a range test with the defaults above changed by
// opts; an invalid setting is an error naming it and its valid range.
func NewLRFinder(opts ...LRFinderOption) (*LRFinder, error) {
	f := &LRFinder{lo: DefaultLRFinderMinLR, hi: DefaultLRFinderMaxLR, steps: DefaultLRFinderSteps,
		beta: DefaultLRFinderSmoothing, divergence: DefaultLRFinderDivergence}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("LRFinder: nil LRFinderOption")
		}
		o(f)
	}
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// Name identifies the callback in errors.
func (f *LRFinder) Name() string { return "LRFinder" }

// Steps returns the number of batches the test is planned to run.
func (f *LRFinder) Steps() int { return f.steps }

// rate is the learning rate of batch i.
func (f *LRFinder) rate(i int) float64 {
	if i >= f.steps-1 {
		return f.hi
	}
	return f.lo * math.Pow(f.hi/f.lo, float64(i)/float64(f.steps-1))
}

// OnTrainBegin snapshots the weights, clears any earlier curve and sets
// the first learning rate.
func (f *LRFinder) OnTrainBegin(s *State) error {
	snap, err := s.Trainer.SnapshotWeights()
	if err != nil {
		return errors.Wrap(err, "LRFinder: snapshotting the weights")
	}
	f.snapshot = snap
	f.avg, f.best, f.stop, f.reason = 0, math.Inf(1), "", ""
	if cap(f.lrs) < f.steps {
		f.lrs = make([]float64, 0, f.steps)
		f.losses = make([]float64, 0, f.steps)
		f.smoothed = make([]float64, 0, f.steps)
	}
	f.lrs, f.losses, f.smoothed = f.lrs[:0], f.losses[:0], f.smoothed[:0]
	return s.Trainer.SetLearningRate(f.rate(0))
}

// OnBatchEnd records the batch, decides whether to stop and sets the
// next batch's learning rate.
func (f *LRFinder) OnBatchEnd(s *State) error {
	if f.stop != "" {
		return nil
	}
	i := len(f.lrs)
	lr, ok := s.Logs[KeyLR]
	if !ok {
		lr = f.rate(i)
	}
	loss := s.Logs[KeyLoss]
	// float64() keeps the compiler from fusing into an FMA (see
	// schedule.go): the curve is the same on every platform.
	f.avg = float64(f.beta*f.avg) + float64((1-f.beta)*loss)
	smooth := f.avg / (1 - math.Pow(f.beta, float64(i+1)))
	f.lrs = append(f.lrs, lr)
	f.losses = append(f.losses, loss)
	f.smoothed = append(f.smoothed, smooth)
	switch {
	case !finite(loss) || !finite(smooth):
		f.stop = LRFinderDiverged
		f.reason = fmt.Sprintf("the loss was %v at lr %.3g", loss, lr)
	case i > 0 && f.divergence > 0 && smooth > f.divergence*f.best:
		f.stop = LRFinderDiverged
		f.reason = fmt.Sprintf("the smoothed loss %.4g exceeded %g × its best %.4g at lr %.3g", smooth, f.divergence, f.best, lr)
	case i+1 >= f.steps:
		f.stop = LRFinderCompleted
		f.reason = fmt.Sprintf("all %d batches ran, up to lr %.3g", f.steps, lr)
	}
	f.best = math.Min(f.best, smooth)
	if f.stop != "" {
		s.Trainer.StopTraining()
		return nil
	}
	return s.Trainer.SetLearningRate(f.rate(i + 1))
}

// OnTrainEnd restores the weights of OnTrainBegin.
func (f *LRFinder) OnTrainEnd(s *State) error {
	if f.stop == "" {
		f.stop = LRFinderInterrupted
		f.reason = fmt.Sprintf("training ended after %d of %d batches", len(f.lrs), f.steps)
	}
	if f.snapshot == nil {
		return nil
	}
	snap := f.snapshot
	f.snapshot = nil
	return errors.Wrap(s.Trainer.RestoreWeights(snap), "LRFinder: restoring the weights")
}

// LRFinderResult is the curve an LR range test recorded and the rate it
// suggests.
type LRFinderResult struct {
	// LRs, Losses and Smoothed hold, for every batch run, its learning
	// rate, its loss and the smoothed loss.
	LRs, Losses, Smoothed []float64
	// Stop says why the test ended: LRFinderCompleted, LRFinderDiverged
	// or LRFinderInterrupted.
	Stop string
	// Reason says the same in words, with the numbers.
	Reason string
	// Suggestion is the learning rate of the steepest descent of the
	// smoothed loss before its minimum (see SuggestLR); NaN when too few
	// batches ran.
	Suggestion float64
	// SuggestionIndex is the batch of Suggestion in LRs, −1 without one.
	SuggestionIndex int
}

// Result returns a copy of the recorded curve and the suggestion.
func (f *LRFinder) Result() LRFinderResult {
	r := LRFinderResult{
		LRs:      append([]float64(nil), f.lrs...),
		Losses:   append([]float64(nil), f.losses...),
		Smoothed: append([]float64(nil), f.smoothed...),
		Stop:     f.stop,
		Reason:   f.reason,
	}
	r.SuggestionIndex = SuggestLR(r.LRs, r.Smoothed, f.steps/10, 5)
	r.Suggestion = math.NaN()
	if r.SuggestionIndex >= 0 {
		r.Suggestion = r.LRs[r.SuggestionIndex]
	}
	return r
}

// SuggestLR returns the index of the steepest descent of a loss curve over
// the logarithm of the learning rate — fastai's "steep" rule: the forward
// differences (loss[i+1] − loss[i]) / (ln lr[i+1] − ln lr[i]) are taken
// over the curve without its first skipBegin and last skipEnd points, and
// the left end of the most negative one is the suggestion. The beginning
// is skipped because the bias-corrected average of a handful of batches
// is still noisy, the end because the last points are where the loss
// blows up. LRFinder uses skipBegin = steps/10 (fastai's num_it//10) and
// skipEnd = 5 (fastai's plot and suggestion default).
//
// Unlike fastai, only the descent before the curve's minimum counts: with
// Adam, the loss at rates far too high can rise, stay below the divergence
// threshold and fall again (seen on MNIST: a rise from 1.2 to 3.6 and a
// fall to 3.2 between lr 0.05 and 10), and that fall is no rate to train
// with. It returns −1 when fewer than two points remain, or when no
// difference is finite.
func SuggestLR(lrs, losses []float64, skipBegin, skipEnd int) int {
	n := min(len(lrs), len(losses))
	begin, end := max(skipBegin, 0), n-max(skipEnd, 0)
	lowest := -1
	for i := begin; i < end; i++ {
		if finite(losses[i]) && (lowest < 0 || losses[i] < losses[lowest]) {
			lowest = i
		}
	}
	end = min(end, lowest+1)
	best, bestSlope := -1, math.Inf(1)
	for i := begin; i+1 < end; i++ {
		dx := math.Log(lrs[i+1]) - math.Log(lrs[i])
		slope := (losses[i+1] - losses[i]) / dx
		if dx > 0 && finite(slope) && slope < bestSlope {
			best, bestSlope = i, slope
		}
	}
	return best
}
