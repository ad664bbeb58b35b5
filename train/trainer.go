package train

import (
	"math"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/graph"
)

// LearningRate implements callbacks.Trainer; it is NaN when the solver has
// no learning rate to report (it is not a LearningRater).
func (l *loop) LearningRate() float64 {
	if s, ok := l.solver.(LearningRater); ok {
		return s.LearningRate()
	}
	return math.NaN()
}

// SetLearningRate implements callbacks.Trainer.
func (l *loop) SetLearningRate(lr float64) error {
	s, ok := l.solver.(LearningRater)
	if !ok {
		return errors.Errorf("train: solver %T has no SetLearningRate (see train.LearningRater); use solvers.Adam, or add the method, to schedule the learning rate", l.solver)
	}
	return s.SetLearningRate(lr)
}

// StopTraining implements callbacks.Trainer.
func (l *loop) StopTraining() { l.stop = true }

// SnapshotWeights implements callbacks.Trainer.
func (l *loop) SnapshotWeights() (callbacks.Snapshot, error) { return l.m.SnapshotWeights(), nil }

// RestoreWeights implements callbacks.Trainer.
func (l *loop) RestoreWeights(s callbacks.Snapshot) error {
	ws, ok := s.(*graph.Snapshot)
	if !ok {
		return errors.Errorf("train: snapshot %T was not taken by this loop", s)
	}
	return l.m.RestoreWeights(ws)
}

// SaveCheckpoint implements callbacks.Trainer. The file is written once
// every callback has run the current hook.
func (l *loop) SaveCheckpoint(path string) error {
	if path == "" {
		return errors.New("train: empty checkpoint path")
	}
	l.pendingCheckpoints = append(l.pendingCheckpoints, path)
	return nil
}

// MarshalSnapshot implements callbacks.SnapshotMarshaler, so that
// EarlyStopping's best weights survive a checkpoint.
func (l *loop) MarshalSnapshot(s callbacks.Snapshot) ([]byte, error) {
	ws, ok := s.(*graph.Snapshot)
	if !ok {
		return nil, errors.Errorf("train: snapshot %T was not taken by this loop", s)
	}
	return l.m.MarshalSnapshot(ws)
}

// UnmarshalSnapshot implements callbacks.SnapshotMarshaler.
func (l *loop) UnmarshalSnapshot(b []byte) (callbacks.Snapshot, error) {
	return l.m.UnmarshalSnapshot(b)
}
