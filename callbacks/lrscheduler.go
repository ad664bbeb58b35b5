package callbacks

import (
	"encoding/json"
	"strconv"

	"github.com/pkg/errors"
)

// Interval says what one step of a Schedule is.
type Interval int

const (
	// PerEpoch steps the schedule after every epoch, as PyTorch code that
	// calls scheduler.step() once per epoch does.
	PerEpoch Interval = iota
	// PerBatch steps the schedule after every optimizer step.
	PerBatch
)

// String returns "epoch" or "batch".
func (i Interval) String() string {
	switch i {
	case PerEpoch:
		return "epoch"
	case PerBatch:
		return "batch"
	}
	return "Interval(" + strconv.Itoa(int(i)) + ")"
}

// LRScheduler is the callback that drives a Schedule. At train begin it
// reads the optimizer's learning rate as the schedule's initial rate and
// sets the rate for the first step; then it steps the schedule after every
// epoch or every batch and sets the rate it returns, so rate i is in force
// during step i (the order of PyTorch's optimizer.step(); scheduler.step()).
// Several LRSchedulers and a ReduceLROnPlateau may be combined: each reads
// the rate the others left, as PyTorch's chainable schedulers do.
//
// It implements Stateful: a run resumed from a checkpoint continues the
// schedule where it was and does not take the initial rate again (the
// checkpoint's solver state restores the rate itself). The schedule may be
// a type of yours (see Schedule); a rate it returns that is negative, NaN
// or infinite stops training with an error naming it.
type LRScheduler struct {
	Base
	schedule Schedule
	every    Interval
	started  bool
	resumed  bool
}

// NewLRScheduler returns a callback that steps s every epoch or every batch.
// It reports the schedule's invalid settings, if any. Stepping per batch
// allocates nothing.
func NewLRScheduler(s Schedule, every Interval) (*LRScheduler, error) {
	if s == nil {
		return nil, errors.New("LRScheduler: schedule is nil")
	}
	if every != PerEpoch && every != PerBatch {
		return nil, errors.Errorf("LRScheduler: interval %d, want PerEpoch or PerBatch", int(every))
	}
	if err := validate(s); err != nil {
		return nil, err
	}
	return &LRScheduler{schedule: s, every: every}, nil
}

// Name identifies the callback and its schedule in errors and checkpoints.
func (c *LRScheduler) Name() string {
	return "LRScheduler(" + c.schedule.String() + ", per " + c.every.String() + ")"
}

// Schedule returns the schedule the callback drives.
func (c *LRScheduler) Schedule() Schedule { return c.schedule }

// OnTrainBegin takes the optimizer's rate as the initial rate and sets the
// rate for step 0, unless the callback was restored from a checkpoint.
func (c *LRScheduler) OnTrainBegin(s *State) error {
	if c.resumed {
		c.resumed = false
		return nil
	}
	base := s.Trainer.LearningRate()
	if !(base >= 0) || !finite(base) {
		return errors.Errorf("%s: the optimizer's learning rate is %v, want a finite value ≥ 0", c.schedule.String(), base)
	}
	lr, err := c.schedule.Start(base, base)
	if err != nil {
		return err
	}
	c.started = true
	return c.set(s, lr)
}

// OnBatchEnd steps a PerBatch schedule.
func (c *LRScheduler) OnBatchEnd(s *State) error {
	if c.every != PerBatch {
		return nil
	}
	return c.advance(s)
}

// OnEpochEnd steps a PerEpoch schedule.
func (c *LRScheduler) OnEpochEnd(s *State) error {
	if c.every != PerEpoch {
		return nil
	}
	return c.advance(s)
}

func (c *LRScheduler) advance(s *State) error {
	if !c.started {
		return errors.Errorf("%s: stepped before OnTrainBegin", c.schedule.String())
	}
	lr, err := c.schedule.Step(s.Trainer.LearningRate())
	if err != nil {
		return err
	}
	return c.set(s, lr)
}

// set hands the schedule's rate to the optimizer, refusing one no optimizer
// can use, which only a user's schedule can return.
func (c *LRScheduler) set(s *State, lr float64) error {
	if !(lr >= 0) || !finite(lr) {
		return errors.Errorf("%s: rate %v at step %d, want a finite value ≥ 0", c.schedule.String(), lr, s.Step)
	}
	return s.Trainer.SetLearningRate(lr)
}

type lrSchedulerState struct {
	Kind     string          `json:"kind"`
	Interval string          `json:"interval"`
	Schedule json.RawMessage `json:"schedule"`
}

// MarshalState implements Stateful.
func (c *LRScheduler) MarshalState() ([]byte, error) {
	if !c.started {
		return nil, errors.Errorf("%s: no state before OnTrainBegin", c.schedule.String())
	}
	st, err := c.schedule.MarshalState()
	if err != nil {
		return nil, errors.Wrap(err, c.schedule.String())
	}
	b, err := json.Marshal(lrSchedulerState{Kind: "LRScheduler", Interval: c.every.String(), Schedule: st})
	return b, errors.Wrapf(err, "%s: the state is not JSON", c.schedule.String())
}

// UnmarshalState implements Stateful; the next OnTrainBegin then continues
// the schedule instead of starting it.
func (c *LRScheduler) UnmarshalState(b []byte) error {
	st := lrSchedulerState{Kind: "LRScheduler"}
	if err := unmarshalState("LRScheduler", b, &st.Kind, &st); err != nil {
		return err
	}
	if st.Interval != c.every.String() {
		return errors.Errorf("LRScheduler: state was stepped per %s, this scheduler steps per %s", st.Interval, c.every)
	}
	if err := c.schedule.UnmarshalState(st.Schedule); err != nil {
		return err
	}
	c.started, c.resumed = true, true
	return nil
}
