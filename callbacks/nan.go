package callbacks

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/pkg/errors"
)

// TerminateOnNaN stops training after a batch whose loss is NaN or
// infinite, as Keras' TerminateOnNaN does, and writes which batch it was.
// (train.Fit already fails on such a loss; this callback also watches a
// custom key given WithMonitor, and stops instead of failing.)
type TerminateOnNaN struct {
	Base
	monitor    string
	w          io.Writer
	terminated bool
	epoch      int
	batch      int
}

// NewTerminateOnNaN watches "loss" and writes to os.Stderr. Options:
// WithMonitor, WithWriter.
func NewTerminateOnNaN(opts ...TerminateOnNaNOption) (*TerminateOnNaN, error) {
	const who = "TerminateOnNaN"
	c := nanConfig{monitor: KeyLoss, writer: os.Stderr}
	if err := applyAll(who, opts, func(o TerminateOnNaNOption) { o.applyTerminateOnNaN(&c) }); err != nil {
		return nil, err
	}
	if c.monitor == "" {
		return nil, errors.Errorf("%s: monitor is empty, want a log key such as %q", who, KeyLoss)
	}
	if c.writer == nil {
		return nil, errors.Errorf("%s: writer is nil", who)
	}
	return &TerminateOnNaN{monitor: c.monitor, w: c.writer}, nil
}

// Name implements Namer.
func (t *TerminateOnNaN) Name() string { return "TerminateOnNaN" }

// Terminated reports whether the callback stopped training, and after
// which 0-based epoch and batch.
func (t *TerminateOnNaN) Terminated() (epoch, batch int, ok bool) {
	return t.epoch, t.batch, t.terminated
}

// OnTrainBegin clears the verdict of an earlier run.
func (t *TerminateOnNaN) OnTrainBegin(*State) error {
	t.terminated, t.epoch, t.batch = false, 0, 0
	return nil
}

// OnBatchEnd checks the batch's value.
func (t *TerminateOnNaN) OnBatchEnd(s *State) error {
	v, err := monitored(t.Name(), t.monitor, s.Logs)
	if err != nil {
		return err
	}
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		return nil
	}
	t.terminated, t.epoch, t.batch = true, s.Epoch, s.Batch
	s.Trainer.StopTraining()
	_, err = fmt.Fprintf(t.w, "Epoch %d, batch %d: invalid %s %v, terminating training\n", s.Epoch+1, s.Batch+1, t.monitor, v)
	return errors.Wrap(err, t.Name())
}
