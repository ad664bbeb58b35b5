package callbacks_test

import (
	"math"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/pkg/errors"
)

// fakeTrainer is the training loop's side of the Trainer contract: a
// learning rate, a stop flag and a weight vector the tests move by hand.
type fakeTrainer struct {
	lr      float64
	stopped bool
	weights []float64
	saved   []string
	restore int
}

func (t *fakeTrainer) LearningRate() float64 { return t.lr }

func (t *fakeTrainer) SetLearningRate(lr float64) error {
	if math.IsNaN(lr) || lr < 0 {
		return errors.Errorf("fake: learning rate %v", lr)
	}
	t.lr = lr
	return nil
}

func (t *fakeTrainer) StopTraining() { t.stopped = true }

func (t *fakeTrainer) SnapshotWeights() (callbacks.Snapshot, error) {
	return append([]float64(nil), t.weights...), nil
}

func (t *fakeTrainer) RestoreWeights(s callbacks.Snapshot) error {
	w, ok := s.([]float64)
	if !ok || len(w) != len(t.weights) {
		return errors.Errorf("fake: snapshot %T", s)
	}
	copy(t.weights, w)
	t.restore++
	return nil
}

func (t *fakeTrainer) SaveCheckpoint(path string) error {
	t.saved = append(t.saved, path)
	return nil
}

// loop drives callbacks like train.Fit does: train begin, then per epoch
// epoch begin, per batch begin/end, epoch end, and train end last. It
// records the learning rate in force during every batch.
type loop struct {
	t         *fakeTrainer
	cbs       []callbacks.Callback
	epochs    int
	batches   int
	epochLogs func(epoch int) callbacks.Logs // logs at epoch end
	batchLoss func(epoch, batch int) float64
	// beforeEpochEnd runs just before the epoch-end hooks (to move weights).
	beforeEpochEnd func(epoch int)
	// maxSteps, when > 0, ends the last epoch early once that many
	// optimizer steps were taken (a short last epoch).
	maxSteps int

	lrs      [][]float64 // lrs[epoch][batch]
	step     int
	lastLogs callbacks.Logs
}

func (l *loop) hook(f func(callbacks.Callback, *callbacks.State) error, s *callbacks.State) error {
	for _, c := range l.cbs {
		if err := f(c, s); err != nil {
			return err
		}
	}
	return nil
}

// run trains epochs [from, to) and runs OnTrainEnd; it returns the first
// hook error.
func (l *loop) run(from, to int) (err error) {
	s := &callbacks.State{Epochs: l.epochs, BatchesPerEpoch: l.batches, Trainer: l.t, Epoch: from, Step: l.step}
	if err := l.hook(callbacks.Callback.OnTrainBegin, s); err != nil {
		return err
	}
	defer func() {
		s.Logs = l.lastLogs
		if e := l.hook(callbacks.Callback.OnTrainEnd, s); err == nil {
			err = e
		}
	}()
	batchLogs := callbacks.Logs{}
	for epoch := from; epoch < to && !l.t.stopped; epoch++ {
		s.Epoch, s.Logs = epoch, callbacks.Logs{}
		if err := l.hook(callbacks.Callback.OnEpochBegin, s); err != nil {
			return err
		}
		var row []float64
		for b := 0; b < l.batches && !l.t.stopped && (l.maxSteps == 0 || l.step < l.maxSteps); b++ {
			s.Batch, s.Step, s.Logs = b, l.step, batchLogs
			if err := l.hook(callbacks.Callback.OnBatchBegin, s); err != nil {
				return err
			}
			row = append(row, l.t.lr)
			loss := 1.0
			if l.batchLoss != nil {
				loss = l.batchLoss(epoch, b)
			}
			batchLogs[callbacks.KeyLoss] = loss
			batchLogs[callbacks.KeyLR] = l.t.lr
			l.step++
			if err := l.hook(callbacks.Callback.OnBatchEnd, s); err != nil {
				return err
			}
		}
		l.lrs = append(l.lrs, row)
		if l.beforeEpochEnd != nil {
			l.beforeEpochEnd(epoch)
		}
		logs := callbacks.Logs{callbacks.KeyLoss: 1, callbacks.KeyLR: l.t.lr}
		if l.epochLogs != nil {
			logs = l.epochLogs(epoch)
		}
		s.Logs = logs
		l.lastLogs = logs
		if err := l.hook(callbacks.Callback.OnEpochEnd, s); err != nil {
			return err
		}
	}
	return nil
}
