package callbacks

// Logs holds the metrics of a batch or an epoch under Keras' key names:
// "loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_seconds",
// "data_wait_seconds", plus any key a callback adds. A callback may add keys to the logs it is
// handed; later callbacks and the History see them.
type Logs map[string]float64

// Standard log keys, as Keras names them.
const (
	KeyLoss         = "loss"
	KeyAccuracy     = "accuracy"
	KeyValLoss      = "val_loss"
	KeyValAccuracy  = "val_accuracy"
	KeyLR           = "lr"
	KeyEpochSeconds = "epoch_seconds"
	// KeyDataWaitSeconds is the time the training loop spent waiting for
	// the loader's next batch during the epoch: near zero when the
	// background loader keeps up, the data pipeline's cost when not.
	KeyDataWaitSeconds = "data_wait_seconds"
	// KeyGradNorm is the global L2 norm of the batch's gradients, before
	// clipping, in the batch logs when the solver reports it (solvers.Adam
	// does).
	KeyGradNorm = "grad_norm"
)

// Snapshot is an opaque deep copy of a model's weights, made by
// Trainer.SnapshotWeights and given back to Trainer.RestoreWeights.
type Snapshot interface{}

// Trainer is the handle the training loop gives every callback: it reads and
// sets the learning rate, stops training, copies and restores the weights,
// and writes checkpoints. train.Fit implements it.
type Trainer interface {
	// LearningRate returns the solver's current learning rate.
	LearningRate() float64
	// SetLearningRate changes it from the next optimizer step on.
	SetLearningRate(lr float64) error
	// StopTraining asks the loop to stop after the current batch (when
	// called from a batch hook) or epoch (from an epoch hook). End hooks
	// still run.
	StopTraining()
	// SnapshotWeights returns a deep copy of every weight.
	SnapshotWeights() (Snapshot, error)
	// RestoreWeights copies a snapshot back into the model, bit for bit.
	RestoreWeights(Snapshot) error
	// SaveCheckpoint atomically writes weights, solver state, the loop's
	// position and the state of every Stateful callback to path, so that
	// training resumed from it continues exactly as an uninterrupted run.
	// The write happens once every callback has run the current hook, so
	// the saved states include this hook's updates of callbacks listed
	// after the one that asked.
	SaveCheckpoint(path string) error
}

// SnapshotMarshaler is implemented by a Trainer whose snapshots can be
// written into a checkpoint: EarlyStopping with restore_best_weights needs
// it to carry its best weights across a resumed run.
type SnapshotMarshaler interface {
	MarshalSnapshot(Snapshot) ([]byte, error)
	UnmarshalSnapshot([]byte) (Snapshot, error)
}

// State is what the loop passes to every hook.
type State struct {
	// Epoch is the 0-based index of the current epoch (Keras' convention);
	// the 1-based number users see is Epoch+1.
	Epoch int
	// Epochs is the number of epochs the loop was asked to run.
	Epochs int
	// Batch is the 0-based index of the batch within the epoch.
	Batch int
	// BatchesPerEpoch is the number of optimizer steps in one epoch.
	BatchesPerEpoch int
	// Step counts the optimizer steps taken since training began (a resumed
	// run continues the count); during a batch hook it is the step being,
	// or just, taken, from 0.
	Step int
	// Logs are the batch's logs in batch hooks, the epoch's in epoch hooks
	// and the last epoch's in OnTrainEnd.
	Logs Logs
	// Trainer gives access to the learning rate, weights and stopping.
	Trainer Trainer
}

// Callback is notified by the training loop. Hooks run in the order the
// callbacks were given; an error from any hook stops training and is
// returned by the loop, wrapped with the callback's Name.
//
// Order for a run: OnTrainBegin, then per epoch OnEpochBegin, per batch
// OnBatchBegin → optimizer step → OnBatchEnd, then validation, OnEpochEnd;
// OnTrainEnd always runs last, also after an error, a stop or cancellation.
type Callback interface {
	OnTrainBegin(s *State) error
	OnTrainEnd(s *State) error
	OnEpochBegin(s *State) error
	OnEpochEnd(s *State) error
	OnBatchBegin(s *State) error
	OnBatchEnd(s *State) error
}

// Namer is implemented by callbacks that want their own name in errors;
// other callbacks are named by their Go type.
type Namer interface {
	Name() string
}

// Stateful is implemented by callbacks whose state must survive a
// checkpoint (schedules, ReduceLROnPlateau, EarlyStopping) so that a
// resumed run behaves exactly like an uninterrupted one. A resuming loop
// calls UnmarshalState before OnTrainBegin; a callback restored that way
// keeps its state in that OnTrainBegin instead of starting afresh (an
// LRScheduler, for instance, does not take the initial learning rate again:
// the checkpoint's solver state restores the rate in force).
type Stateful interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// Base implements every hook as a no-op; embed it so a callback implements
// only the hooks it needs.
type Base struct{}

// OnTrainBegin does nothing.
func (Base) OnTrainBegin(*State) error { return nil }

// OnTrainEnd does nothing.
func (Base) OnTrainEnd(*State) error { return nil }

// OnEpochBegin does nothing.
func (Base) OnEpochBegin(*State) error { return nil }

// OnEpochEnd does nothing.
func (Base) OnEpochEnd(*State) error { return nil }

// OnBatchBegin does nothing.
func (Base) OnBatchBegin(*State) error { return nil }

// OnBatchEnd does nothing.
func (Base) OnBatchEnd(*State) error { return nil }
