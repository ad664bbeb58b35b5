package graph

import (
	"context"
	"fmt"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
)

// FindLR runs the learning-rate range test (callbacks.LRFinder, with
// opts) on m from its current weights: Fit over train, shuffled with the
// model's seed, for as many epochs as the planned batches need, with the
// learning rate rising geometrically batch after batch. Afterwards the
// model and the solver are exactly where they were — weights, the
// solver's state (its moments, step count and learning rate) and the
// model's step counter (which seeds dropout masks) — so training that
// follows is bit for bit the training that would have run without the
// test. The result holds the curve and the suggested learning rate.
//
// The solver must be able to set its learning rate and to save and
// restore its state (solvers.Adam can). Give train the way training
// sees it (normalised); the test draws no augmentation.
//
// At the high end of the range the loss or the gradients may stop being
// finite before the smoothed loss crosses the divergence threshold; Fit
// then fails. An error after the first batch was recorded ends the test
// as diverged (Result.Stop = callbacks.LRFinderDiverged, the error in
// Result.Reason) instead of failing it. Cancelling ctx is an error.
func FindLR(ctx context.Context, m *Model, solver G.Solver, train *datasets.Dataset, opts ...callbacks.LRFinderOption) (res callbacks.LRFinderResult, err error) {
	if m == nil || solver == nil {
		return res, errors.New("graph: FindLR needs a model and a solver")
	}
	if _, ok := solver.(learningRater); !ok {
		return res, errors.Errorf("graph: FindLR: solver %T cannot set its learning rate (SetLearningRate)", solver)
	}
	stateful, ok := solver.(statefulSolver)
	if !ok {
		return res, errors.Errorf("graph: FindLR: solver %T cannot save and restore its state (MarshalState, UnmarshalState), so the test could not give it back unchanged", solver)
	}
	finder, err := callbacks.NewLRFinder(opts...)
	if err != nil {
		return res, err
	}
	if err := m.checkDataset(train); err != nil {
		return res, err
	}
	saved, err := stateful.MarshalState()
	if err != nil {
		return res, errors.Wrap(err, "graph: FindLR: saving the solver's state")
	}
	step := m.step
	defer func() {
		m.step = step
		if rerr := stateful.UnmarshalState(saved); rerr != nil && err == nil {
			err = errors.Wrap(rerr, "graph: FindLR: restoring the solver's state")
		}
	}()
	batches := (train.Len() + m.BatchSize() - 1) / m.BatchSize()
	epochs := (finder.Steps() + batches - 1) / batches
	_, fitErr := Fit(ctx, m, solver, train, WithEpochs(epochs), WithCallbacks(finder))
	res = finder.Result()
	switch {
	case fitErr == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, errors.Wrap(fitErr, "graph: FindLR")
	case len(res.LRs) == 0:
		return res, errors.Wrap(fitErr, "graph: FindLR")
	}
	res.Stop = callbacks.LRFinderDiverged
	res.Reason = fmt.Sprintf("training failed after %d batches (the last at lr %.3g): %v", len(res.LRs), res.LRs[len(res.LRs)-1], fitErr)
	return res, nil
}
