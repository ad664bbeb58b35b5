package train

import (
	"context"
	"fmt"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
)

// FindLR runs the learning-rate range test (callbacks.LRFinder, with
// opts) on m from its current weights: Fit over data, shuffled with the
// model's seed, for as many epochs as the planned batches need, with the
// learning rate rising geometrically batch after batch. Afterwards the
// model and the solver are exactly where they were — weights, the
// solver's state (its moments, step count and learning rate) and the
// model's step counter (which seeds dropout masks) — so training that
// follows is bit for bit the training that would have run without the
// test. The result holds the curve and the suggested learning rate.
//
// The solver must be able to set its learning rate and to save and
// restore its state (solvers.Adam can). Give data the way training
// sees it (normalised); the test draws no augmentation.
//
// At the high end of the range the loss or the gradients may stop being
// finite before the smoothed loss crosses the divergence threshold; Fit
// then fails. An error after the first batch was recorded ends the test
// as diverged (Result.Stop = callbacks.LRFinderDiverged, the error in
// Result.Reason) instead of failing it. Cancelling ctx is an error.
func FindLR(ctx context.Context, m *graph.Model, solver Solver, data *datasets.Dataset, opts ...callbacks.LRFinderOption) (res callbacks.LRFinderResult, err error) {
	if m == nil || solver == nil {
		return res, errors.New("train: FindLR needs a model and a solver")
	}
	if _, ok := solver.(LearningRater); !ok {
		return res, errors.Errorf("train: FindLR: solver %T cannot set its learning rate (SetLearningRate)", solver)
	}
	stateful, ok := solver.(StateMarshaler)
	if !ok {
		return res, errors.Errorf("train: FindLR: solver %T cannot save and restore its state (MarshalState, UnmarshalState), so the test could not give it back unchanged", solver)
	}
	finder, err := callbacks.NewLRFinder(opts...)
	if err != nil {
		return res, err
	}
	if err := m.CheckData(data); err != nil {
		return res, err
	}
	saved, err := stateful.MarshalState()
	if err != nil {
		return res, errors.Wrap(err, "train: FindLR: saving the solver's state")
	}
	step := m.Steps()
	defer func() {
		m.SetSteps(step)
		if rerr := stateful.UnmarshalState(saved); rerr != nil && err == nil {
			err = errors.Wrap(rerr, "train: FindLR: restoring the solver's state")
		}
	}()
	batches := (data.Len() + m.BatchSize() - 1) / m.BatchSize()
	epochs := (finder.Steps() + batches - 1) / batches
	_, fitErr := Fit(ctx, m, solver, data, WithEpochs(epochs), WithCallbacks(finder))
	res = finder.Result()
	switch {
	case fitErr == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, errors.Wrap(fitErr, "train: FindLR")
	case len(res.LRs) == 0:
		return res, errors.Wrap(fitErr, "train: FindLR")
	}
	res.Stop = callbacks.LRFinderDiverged
	res.Reason = fmt.Sprintf("training failed after %d batches (the last at lr %.3g): %v", len(res.LRs), res.LRs[len(res.LRs)-1], fitErr)
	return res, nil
}
