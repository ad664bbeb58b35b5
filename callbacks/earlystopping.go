package callbacks

import (
	"encoding/json"
	"math"

	"github.com/pkg/errors"
)

// EarlyStopping stops training when a monitored quantity has stopped
// improving, with the semantics of Keras 3's keras.callbacks.EarlyStopping:
//
//   - Epochs before start_from_epoch are ignored.
//   - A value improves when it beats the best so far by more than
//     min_delta (value − |min_delta| > best in max mode, value + |min_delta|
//     < best in min mode).
//   - Every monitored epoch adds one to a wait count; an improving epoch
//     resets it to 0 if it also improves on the baseline (when one is
//     set), so epochs that improve but stay short of the baseline still
//     use up patience.
//   - Training stops at the end of an epoch that did not improve (and is
//     not the first) once the wait count has reached patience.
//   - With restore_best_weights, the weights of the best epoch (or of the
//     first monitored epoch, when none improved) are put back when training
//     ends, whether it stopped early or not.
//
// It implements Stateful. Checkpointing the best weights needs a Trainer
// that implements SnapshotMarshaler.
type EarlyStopping struct {
	Base
	monitor     string
	mode        Mode
	minDelta    float64
	patience    int
	baseline    float64
	hasBaseline bool
	restore     bool
	startFrom   int

	wait         int
	stoppedEpoch int
	bestEpoch    int
	best         float64
	bestWeights  Snapshot
	trainer      Trainer
	pending      []byte // restored best weights, decoded at train begin
	resumed      bool
}

// NewEarlyStopping returns the callback with Keras' defaults: monitor
// "val_loss", min_delta 0, patience 0, mode auto, no baseline, no restoring
// of weights, start_from_epoch 0. Options: WithMonitor, WithMinDelta,
// WithPatience, WithMode, WithBaseline, WithRestoreBestWeights,
// WithStartFromEpoch.
func NewEarlyStopping(opts ...EarlyStoppingOption) (*EarlyStopping, error) {
	const who = "EarlyStopping"
	c := earlyStoppingConfig{monitor: KeyValLoss, mode: ModeAuto}
	if err := applyAll(who, opts, func(o EarlyStoppingOption) { o.applyEarlyStopping(&c) }); err != nil {
		return nil, err
	}
	if c.monitor == "" {
		return nil, errors.Errorf("%s: monitor is empty, want a log key such as %q", who, KeyValLoss)
	}
	mode, err := c.mode.resolve(who, c.monitor, true)
	if err != nil {
		return nil, err
	}
	switch {
	case !finite(c.minDelta):
		return nil, errors.Errorf("%s: min_delta %v, want a finite value", who, c.minDelta)
	case c.patience < 0:
		return nil, errors.Errorf("%s: patience %d, want ≥ 0", who, c.patience)
	case c.hasBaseline && !finite(c.baseline):
		return nil, errors.Errorf("%s: baseline %v, want a finite value", who, c.baseline)
	case c.startFromEpoch < 0:
		return nil, errors.Errorf("%s: start_from_epoch %d, want ≥ 0", who, c.startFromEpoch)
	}
	e := &EarlyStopping{monitor: c.monitor, mode: mode, minDelta: math.Abs(c.minDelta), patience: c.patience,
		baseline: c.baseline, hasBaseline: c.hasBaseline, restore: c.restoreBestWeights, startFrom: c.startFromEpoch}
	e.reset()
	return e, nil
}

// Name implements Namer.
func (e *EarlyStopping) Name() string { return "EarlyStopping" }

// StoppedEpoch returns the 0-based epoch at whose end training was stopped,
// or 0 when it was not stopped (Keras' stopped_epoch: epoch 0 never stops).
func (e *EarlyStopping) StoppedEpoch() int { return e.stoppedEpoch }

// Stopped reports whether the callback stopped training.
func (e *EarlyStopping) Stopped() bool { return e.stoppedEpoch > 0 }

// BestEpoch returns the 0-based epoch with the best monitored value.
func (e *EarlyStopping) BestEpoch() int { return e.bestEpoch }

// Best returns the best monitored value (±Inf before the first).
func (e *EarlyStopping) Best() float64 { return e.best }

func (e *EarlyStopping) reset() {
	e.wait, e.stoppedEpoch, e.bestEpoch = 0, 0, 0
	e.best = math.Inf(1)
	if e.mode == ModeMax {
		e.best = math.Inf(-1)
	}
	e.bestWeights, e.pending = nil, nil
}

// OnTrainBegin starts afresh, unless the callback was restored from a
// checkpoint.
func (e *EarlyStopping) OnTrainBegin(s *State) error {
	e.trainer = s.Trainer
	if !e.resumed {
		e.reset()
		return nil
	}
	e.resumed = false
	if e.pending == nil {
		return nil
	}
	m, ok := s.Trainer.(SnapshotMarshaler)
	if !ok {
		return errors.Errorf("%s: the checkpoint holds best weights but the Trainer %T cannot decode them (it does not implement SnapshotMarshaler)", e.Name(), s.Trainer)
	}
	w, err := m.UnmarshalSnapshot(e.pending)
	if err != nil {
		return errors.Wrapf(err, "%s: best weights", e.Name())
	}
	e.bestWeights, e.pending = w, nil
	return nil
}

func (e *EarlyStopping) improves(v, ref float64) bool {
	if e.mode == ModeMax {
		return v-e.minDelta > ref
	}
	return v+e.minDelta < ref
}

func (e *EarlyStopping) snapshot(s *State) error {
	w, err := s.Trainer.SnapshotWeights()
	if err != nil {
		return errors.Wrapf(err, "%s: snapshot of the best weights", e.Name())
	}
	e.bestWeights = w
	return nil
}

// OnEpochEnd applies Keras' rule (see EarlyStopping) and calls
// StopTraining when patience has run out.
func (e *EarlyStopping) OnEpochEnd(s *State) error {
	current, err := monitored(e.Name(), e.monitor, s.Logs)
	if err != nil {
		return err
	}
	epoch := s.Epoch
	if epoch < e.startFrom {
		return nil
	}
	if e.restore && e.bestWeights == nil {
		// Restore this epoch's weights if no epoch ever improves.
		if err := e.snapshot(s); err != nil {
			return err
		}
		e.bestEpoch = epoch
	}
	e.wait++
	if e.improves(current, e.best) {
		e.best, e.bestEpoch = current, epoch
		if e.restore {
			if err := e.snapshot(s); err != nil {
				return err
			}
		}
		// Only restart the wait when both the baseline and the previous
		// best are beaten.
		if !e.hasBaseline || e.improves(current, e.baseline) {
			e.wait = 0
		}
		return nil
	}
	if e.wait >= e.patience && epoch > 0 {
		e.stoppedEpoch = epoch
		s.Trainer.StopTraining()
	}
	return nil
}

// OnTrainEnd restores the best weights when asked to.
func (e *EarlyStopping) OnTrainEnd(s *State) error {
	if !e.restore || e.bestWeights == nil {
		return nil
	}
	return errors.Wrapf(s.Trainer.RestoreWeights(e.bestWeights), "%s: restoring the weights of epoch %d", e.Name(), e.bestEpoch+1)
}

type earlyStoppingState struct {
	Kind         string `json:"kind"`
	Wait         int    `json:"wait"`
	StoppedEpoch int    `json:"stopped_epoch"`
	BestEpoch    int    `json:"best_epoch"`
	Best         num    `json:"best"`
	BestWeights  []byte `json:"best_weights,omitempty"`
}

// MarshalState implements Stateful. With restore_best_weights it includes
// the best weights, which needs a Trainer that implements
// SnapshotMarshaler.
func (e *EarlyStopping) MarshalState() ([]byte, error) {
	st := earlyStoppingState{Kind: "EarlyStopping", Wait: e.wait, StoppedEpoch: e.stoppedEpoch, BestEpoch: e.bestEpoch, Best: num(e.best)}
	if e.bestWeights != nil {
		m, ok := e.trainer.(SnapshotMarshaler)
		if !ok {
			return nil, errors.Errorf("%s: cannot checkpoint the best weights: the Trainer %T does not implement SnapshotMarshaler", e.Name(), e.trainer)
		}
		b, err := m.MarshalSnapshot(e.bestWeights)
		if err != nil {
			return nil, errors.Wrapf(err, "%s: best weights", e.Name())
		}
		st.BestWeights = b
	}
	return json.Marshal(st)
}

// UnmarshalState implements Stateful; the next OnTrainBegin then keeps the
// restored state (and decodes the best weights through the Trainer).
func (e *EarlyStopping) UnmarshalState(b []byte) error {
	st := earlyStoppingState{Kind: "EarlyStopping"}
	if err := unmarshalState(e.Name(), b, &st.Kind, &st); err != nil {
		return err
	}
	e.wait, e.stoppedEpoch, e.bestEpoch, e.best = st.Wait, st.StoppedEpoch, st.BestEpoch, float64(st.Best)
	e.bestWeights, e.pending = nil, st.BestWeights
	e.resumed = true
	return nil
}
