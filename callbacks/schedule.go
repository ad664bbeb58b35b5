package callbacks

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Schedule is a learning-rate schedule, open the way PyTorch's
// torch.optim.lr_scheduler.LRScheduler base class is: a type of yours that
// implements these four methods (and, optionally, Validator and Restarter)
// can be given to NewLRScheduler, SequentialLR and ChainedScheduler like the
// built-in ones. A schedule counts steps; NewLRScheduler decides whether a
// step is an epoch or a batch.
//
// The built-in schedules compute their rates exactly as the
// torch.optim.lr_scheduler class of the same name does in PyTorch 1.13.1,
// with the same arithmetic, so that their rates match PyTorch's to the last
// bits (the recursive, "chainable" forms PyTorch steps with drift from the
// closed forms, and these follow the recursive ones). Like PyTorch's, most
// of them are chainable: each step multiplies or adjusts the rate currently
// in force, so two schedules combined with ChainedScheduler (or a schedule
// and ReduceLROnPlateau) compose as they do in PyTorch. SequentialLR
// switches from one schedule to the next at given steps (a warm-up, then
// cosine annealing). The built-in constructors never fail; an invalid
// argument is reported, naming the field and its valid range, by
// NewLRScheduler (or by the enclosing SequentialLR or ChainedScheduler),
// which call Validate.
//
// A Schedule holds its position, so give each one to a single LRScheduler.
// The calls it gets, in PyTorch's terms:
//
//   - Start is the constructor: base is the optimizer's initial rate
//     (PyTorch's initial_lr), lr the rate in force, which another schedule
//     chained before this one may already have changed. It returns the rate
//     for step 0 (PyTorch's initial step, last_epoch 0).
//   - Step is step(): it advances one step from the rate lr in force (which
//     ReduceLROnPlateau or a chained schedule may have changed since) and
//     returns the rate for the new step. A schedule that ignores lr and
//     computes from base is a closed form; one that multiplies lr is
//     chainable.
//   - MarshalState and UnmarshalState are state_dict() and
//     load_state_dict(): the position, as JSON (LRScheduler nests it in the
//     checkpoint). A resumed run calls UnmarshalState instead of Start, then
//     Step, and must see the rates an uninterrupted run sees, bit for bit.
//
// An error from Start or Step stops training and is returned wrapped with
// the LRScheduler's name; a rate that is negative, NaN or infinite is such
// an error.
type Schedule interface {
	// String names the schedule and its settings, for instance
	// "StepLR(step_size=100, gamma=0.98)"; it appears in errors and in
	// LRScheduler's Name.
	String() string
	// Start takes the initial step from the rate lr in force, with base as
	// the initial rate, and returns the rate for step 0.
	Start(base, lr float64) (float64, error)
	// Step advances one step from the rate lr in force and returns the
	// rate for the new step.
	Step(lr float64) (float64, error)
	// Stateful's MarshalState returns the schedule's position as JSON;
	// UnmarshalState restores it on a schedule built with the same
	// settings.
	Stateful
}

// Validator is implemented by a Schedule that can report invalid settings
// before training starts. NewLRScheduler, SequentialLR and ChainedScheduler
// call it; every built-in schedule implements it.
type Validator interface {
	// Validate returns the first invalid setting, naming the field and its
	// valid range, or nil.
	Validate() error
}

// Restarter is implemented by a Schedule that has a closed form for step 0.
// SequentialLR calls Restart when it hands over to the schedule at a
// milestone (PyTorch's step(0)): the step count goes back to 0 and the rate
// comes from the closed form. A schedule without it is started again
// instead, with Start(initial rate, lr), which is what PyTorch's step(0)
// does for a class without a closed form.
type Restarter interface {
	Restart(lr float64) (float64, error)
}

// validate runs s's Validate, when it has one.
func validate(s Schedule) error {
	if v, ok := s.(Validator); ok {
		return v.Validate()
	}
	return nil
}

// restart hands over to s at a SequentialLR milestone; base is the
// initial rate.
func restart(s Schedule, base, lr float64) (float64, error) {
	if r, ok := s.(Restarter); ok {
		return r.Restart(lr)
	}
	return s.Start(base, lr)
}

// scheduleState is a built-in schedule's position, as stored in a
// checkpoint; a combinator holds its children's states, each as written
// by the child's MarshalState.
type scheduleState struct {
	Class     string            `json:"class"`
	Base      num               `json:"base_lr"`
	LastEpoch int               `json:"last_epoch"`
	TI        int               `json:"t_i,omitempty"`
	TCur      int               `json:"t_cur,omitempty"`
	Children  []json.RawMessage `json:"children,omitempty"`
}

// Products added to something are wrapped in float64(...) throughout the
// schedules: Go may fuse x*y+z into one FMA (it does on arm64, and on amd64
// built for v3), which rounds once where PyTorch rounds twice; an explicit
// conversion forbids the fusion in our code. (The standard library's
// math.Cos is compiled with fused products too on amd64 v3 and arm64, so
// the cosine schedules' last bits differ between such a build and a plain
// amd64 one; each stays within 3e-15 of PyTorch.)

// core is what every built-in schedule keeps: PyTorch's base_lr and
// last_epoch, and the constructor's verdict on its arguments. It provides
// Validate and, for the schedules whose position is (base_lr, last_epoch),
// MarshalState and UnmarshalState.
type core struct {
	class string
	base  float64
	last  int
	err   error
}

// Validate returns the first invalid argument given to the constructor.
func (c *core) Validate() error { return c.err }

func (c *core) invalid(format string, args ...any) {
	if c.err == nil {
		c.err = errors.Errorf(c.class+": "+format, args...)
	}
}

// begin is the part of PyTorch's constructor every schedule shares: it
// records the initial rate, before the initial step takes last_epoch to 0.
func (c *core) begin(base float64) { c.base, c.last = base, -1 }

func (c *core) state() scheduleState {
	return scheduleState{Class: c.class, Base: num(c.base), LastEpoch: c.last}
}

// MarshalState returns base_lr and last_epoch.
func (c *core) MarshalState() ([]byte, error) { return json.Marshal(c.state()) }

// UnmarshalState restores what MarshalState wrote.
func (c *core) UnmarshalState(b []byte) error {
	_, err := c.load(b)
	return err
}

// load restores base_lr and last_epoch from b and returns the whole state
// for the schedules that keep more.
func (c *core) load(b []byte) (scheduleState, error) {
	var s scheduleState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, errors.Wrapf(err, "callbacks: %s state", c.class)
	}
	if s.Class != c.class {
		return s, errors.Errorf("callbacks: schedule state is for %s, not %s", s.Class, c.class)
	}
	c.base, c.last = float64(s.Base), s.LastEpoch
	return s, nil
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ints formats a list of steps as Python prints it, without the brackets.
func ints(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}
