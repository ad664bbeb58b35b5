package train

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/callbacks"
)

// The solver contract. Fit takes any gorgonia.Solver — Step is the one
// required method — and looks for the optional capabilities below by type
// assertion, so a solver of your own gets each feature by adding its
// method set. solvers.Adam implements all of them.
//
//   - Solver (required): Step updates the weights from the gradients.
//   - LearningRater: callbacks read and set the learning rate (schedules,
//     ReduceLROnPlateau, the LR range test, the "lr" log key). Without it
//     "lr" is NaN, Fit refuses those callbacks before training with an
//     error naming LearningRater, and a callback of yours that calls
//     SetLearningRate gets an error naming the solver.
//   - StateMarshaler: checkpoints carry the solver's state (moments, step
//     count), so a resumed run continues bit for bit. Without it a resumed
//     run starts the solver afresh, and a checkpoint that holds solver
//     state is refused.
//   - GradNormer: the batch logs carry "grad_norm".

// Solver is the required part of the contract: gorgonia.Solver's Step.
type Solver = G.Solver

// LearningRater is a solver whose learning rate callbacks can read and
// change. SetLearningRate takes effect from the next Step and returns an
// error for a rate the solver cannot use (negative, NaN).
type LearningRater interface {
	LearningRate() float64
	SetLearningRate(lr float64) error
}

// StateMarshaler is a solver whose state a checkpoint can carry.
// UnmarshalState restores what MarshalState returned, before the first
// Step of a resumed run, and must leave the solver unchanged on error.
type StateMarshaler interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// GradNormer is a solver that reports the global L2 norm of the gradients
// its last Step saw (before any clipping).
type GradNormer interface {
	GradNorm() float64
}

// checkLearningRater refuses, before any work, the library's callbacks that
// drive the learning rate when the solver has none: they would otherwise
// fail on a NaN rate (a schedule) or silently never act (ReduceLROnPlateau
// compares NaN rates).
func checkLearningRater(solver Solver, cbs []callbacks.Callback) error {
	if _, ok := solver.(LearningRater); ok {
		return nil
	}
	for i, cb := range cbs {
		switch cb.(type) {
		case *callbacks.LRScheduler, *callbacks.ReduceLROnPlateau, *callbacks.LRFinder:
			return errors.Errorf("train: callback #%d %s drives the learning rate, but solver %T is not a train.LearningRater (no LearningRate and SetLearningRate methods); use solvers.Adam, or add the methods", i, callbackName(cb), solver)
		}
	}
	return nil
}
