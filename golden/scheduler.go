package golden

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
)

func init() { Register("scheduler", checkScheduler) }

// schedFile is the "scheduler" kind: a torch.optim.lr_scheduler class and
// its constructor arguments, the optimizer's initial rate, and the rate in
// force during every step.
type schedFile struct {
	Scheduler string          `json:"scheduler"`
	Options   json.RawMessage `json:"options"`
	InitialLR float64         `json:"initial_lr"`
	StepsPer  string          `json:"steps_per"`
	LRs       []float64       `json:"lrs"`
	Metrics   []float64       `json:"metrics"`
}

// schedTolerance is the golden README's bound for schedules.
const schedTolerance = 1e-12

// checkScheduler builds the file's class with callbacks' Go API from its
// PyTorch arguments, drives it with a fake training loop (per epoch or per
// batch as steps_per says; ReduceLROnPlateau gets metrics[i] as val_loss at
// the end of step i, a step being an epoch for it either way) and compares
// the rate in force during each step with lrs. It reports two variants:
// "float64", one uninterrupted run, and "float64-resumed", a run stopped
// halfway whose callback state goes through MarshalState/UnmarshalState
// into a fresh callback, as a checkpoint would carry it.
//
// Every constructor argument of PyTorch 1.13.1's StepLR, MultiStepLR,
// ConstantLR, LinearLR, ExponentialLR, CosineAnnealingLR,
// CosineAnnealingWarmRestarts, PolynomialLR, OneCycleLR, ReduceLROnPlateau,
// SequentialLR and ChainedScheduler is accepted with any value PyTorch
// accepts (callbacks may be stricter: a zero step_size, say, is an error),
// except last_epoch other than -1, which PyTorch itself rejects on a fresh
// optimizer. SequentialLR and ChainedScheduler take their "schedulers" as a
// list of {"scheduler": class, "options": {...}}. LambdaLR and
// MultiplicativeLR take Python functions, which a file cannot hold.
func checkScheduler(f *File) ([]Result, error) {
	if f.Dtype != "" && f.Dtype != "float64" {
		return nil, errors.Errorf("golden: %s: scheduler dtype %q, want float64", f.Path, f.Dtype)
	}
	var sf schedFile
	if err := f.Decode(&sf); err != nil {
		return nil, err
	}
	if len(sf.LRs) == 0 {
		return nil, errors.Errorf("golden: %s: no lrs", f.Path)
	}
	perBatch := false
	switch sf.StepsPer {
	case "epoch":
	case "batch":
		perBatch = true
	default:
		return nil, errors.Errorf("golden: %s: steps_per %q, want \"epoch\" or \"batch\"", f.Path, sf.StepsPer)
	}
	if sf.Scheduler == "ReduceLROnPlateau" {
		if len(sf.Metrics) != len(sf.LRs) {
			return nil, errors.Errorf("golden: %s: %d metrics for %d lrs", f.Path, len(sf.Metrics), len(sf.LRs))
		}
		perBatch = false // a plateau steps on metric reports, which the loop gives at epoch ends
	}
	build := func() (callbacks.Callback, error) {
		return buildSchedulerCallback(sf.Scheduler, sf.Options, perBatch)
	}
	if _, err := build(); err != nil {
		return nil, errors.Wrapf(err, "golden: %s", f.Path)
	}
	n := len(sf.LRs)
	d := schedDriver{perBatch: perBatch, steps: n, metrics: sf.Metrics}

	cb, _ := build()
	tr := &schedTrainer{lr: sf.InitialLR}
	got, _, err := d.run(cb, tr, 0, n, false)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s", f.Path)
	}
	results := []Result{{Variant: "float64", MaxRelErr: MaxRelErr(got, sf.LRs), Tolerance: schedTolerance}}

	half := n / 2
	first, _ := build()
	tr = &schedTrainer{lr: sf.InitialLR}
	got1, state, err := d.run(first, tr, 0, half, true)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s: first half", f.Path)
	}
	second, _ := build()
	if err := second.(callbacks.Stateful).UnmarshalState(state); err != nil {
		return nil, errors.Wrapf(err, "golden: %s", f.Path)
	}
	// The checkpoint's solver state carries the rate in force.
	tr = &schedTrainer{lr: tr.lr}
	got2, _, err := d.run(second, tr, half, n, false)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s: second half", f.Path)
	}
	results = append(results, Result{Variant: "float64-resumed", MaxRelErr: MaxRelErr(append(got1, got2...), sf.LRs), Tolerance: schedTolerance})
	return results, nil
}

// buildSchedulerCallback returns the callback for a PyTorch class and its
// arguments.
func buildSchedulerCallback(class string, raw json.RawMessage, perBatch bool) (callbacks.Callback, error) {
	if class == "ReduceLROnPlateau" {
		a, err := newArgs(class, raw)
		if err != nil {
			return nil, err
		}
		return buildPlateau(a)
	}
	s, err := buildSchedule(class, raw)
	if err != nil {
		return nil, err
	}
	every := callbacks.PerEpoch
	if perBatch {
		every = callbacks.PerBatch
	}
	return callbacks.NewLRScheduler(s, every)
}

func buildPlateau(a *args) (callbacks.Callback, error) {
	var opts []callbacks.ReduceLROnPlateauOption
	mode := a.str("mode", "min")
	opts = append(opts, callbacks.WithMode(callbacks.Mode(mode)))
	opts = append(opts, callbacks.WithFactor(a.float("factor", 0.1)))
	opts = append(opts, callbacks.WithPatience(a.int("patience", 10)))
	opts = append(opts, callbacks.WithThreshold(a.float("threshold", 1e-4)))
	opts = append(opts, callbacks.WithThresholdMode(callbacks.ThresholdMode(a.str("threshold_mode", "rel"))))
	opts = append(opts, callbacks.WithCooldown(a.int("cooldown", 0)))
	opts = append(opts, callbacks.WithMinLR(a.scalarOrOne("min_lr", 0)))
	opts = append(opts, callbacks.WithEps(a.float("eps", 1e-8)))
	a.bool("verbose", false)
	if err := a.done(); err != nil {
		return nil, err
	}
	return callbacks.NewReduceLROnPlateau(opts...)
}

// buildSchedule maps a PyTorch scheduler class and its arguments to a
// callbacks.Schedule; the Schedule's own checks run in NewLRScheduler.
func buildSchedule(class string, raw json.RawMessage) (callbacks.Schedule, error) {
	a, err := newArgs(class, raw)
	if err != nil {
		return nil, err
	}
	if class != "ChainedScheduler" {
		if le := a.int("last_epoch", -1); le != -1 && a.err == nil {
			return nil, errors.Errorf("%s: last_epoch %d: only -1 (a fresh scheduler) can be checked; PyTorch needs initial_lr in the optimizer to resume", class, le)
		}
		a.bool("verbose", false)
	}
	var s callbacks.Schedule
	switch class {
	case "StepLR":
		s = callbacks.StepLR(a.required().int("step_size", 0), a.float("gamma", 0.1))
	case "MultiStepLR":
		s = callbacks.MultiStepLR(a.required().ints("milestones"), a.float("gamma", 0.1))
	case "ConstantLR":
		s = callbacks.ConstantLR(a.float("factor", 1.0/3), a.int("total_iters", 5))
	case "LinearLR":
		s = callbacks.LinearLR(a.float("start_factor", 1.0/3), a.float("end_factor", 1.0), a.int("total_iters", 5))
	case "ExponentialLR":
		s = callbacks.ExponentialLR(a.required().float("gamma", 0))
	case "CosineAnnealingLR":
		s = callbacks.CosineAnnealingLR(a.required().int("T_max", 0), a.float("eta_min", 0))
	case "CosineAnnealingWarmRestarts":
		s = callbacks.CosineAnnealingWarmRestarts(a.required().int("T_0", 0), a.int("T_mult", 1), a.float("eta_min", 0))
	case "PolynomialLR":
		s = callbacks.PolynomialLR(a.int("total_iters", 5), a.float("power", 1.0))
	case "OneCycleLR":
		s = buildOneCycle(a)
	case "SequentialLR":
		children := a.required().schedules("schedulers")
		s = callbacks.SequentialLR(children, a.required().ints("milestones"))
	case "ChainedScheduler":
		s = callbacks.ChainedScheduler(a.required().schedules("schedulers")...)
	case "LambdaLR", "MultiplicativeLR":
		return nil, errors.Errorf("%s takes a Python function (lr_lambda), which a golden file cannot hold; test it in Go", class)
	default:
		return nil, errors.Errorf("unknown scheduler class %q (known: %s)", class, strings.Join(knownSchedulers, ", "))
	}
	if err := a.done(); err != nil {
		return nil, err
	}
	return s, nil
}

var knownSchedulers = []string{"ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
	"ExponentialLR", "LinearLR", "MultiStepLR", "OneCycleLR", "PolynomialLR", "ReduceLROnPlateau", "SequentialLR", "StepLR"}

func buildOneCycle(a *args) callbacks.Schedule {
	maxLR := a.required().scalarOrOne("max_lr", 0)
	total := a.int("total_steps", 0)
	if !a.has("total_steps") {
		epochs, perEpoch := a.int("epochs", 0), a.int("steps_per_epoch", 0)
		if a.err == nil && (!a.has("epochs") || !a.has("steps_per_epoch")) {
			a.err = errors.New("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
		}
		if a.err == nil && (epochs < 1 || perEpoch < 1) {
			a.err = errors.Errorf("OneCycleLR: epochs %d and steps_per_epoch %d, want both ≥ 1", epochs, perEpoch)
		}
		total = epochs * perEpoch
	} else {
		// PyTorch ignores epochs and steps_per_epoch when total_steps is given.
		a.int("epochs", 0)
		a.int("steps_per_epoch", 0)
	}
	// Momentum cycling changes β1, not the rate: accepted, not simulated.
	a.bool("cycle_momentum", true)
	a.scalarOrOne("base_momentum", 0.85)
	a.scalarOrOne("max_momentum", 0.95)
	return callbacks.OneCycleLR(maxLR, total,
		callbacks.WithPctStart(a.float("pct_start", 0.3)),
		callbacks.WithAnnealStrategy(callbacks.Anneal(a.str("anneal_strategy", "cos"))),
		callbacks.WithDivFactor(a.float("div_factor", 25)),
		callbacks.WithFinalDivFactor(a.float("final_div_factor", 1e4)),
		callbacks.WithThreePhase(a.bool("three_phase", false)))
}

// args reads a class's keyword arguments, remembering the first error and
// which keys were read, so that unknown ones can be named.
type args struct {
	class string
	m     map[string]json.RawMessage
	used  map[string]bool
	err   error
	need  bool
}

func newArgs(class string, raw json.RawMessage) (*args, error) {
	a := &args{class: class, m: map[string]json.RawMessage{}, used: map[string]bool{}}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &a.m); err != nil {
			return nil, errors.Wrapf(err, "%s: options are not a JSON object", class)
		}
	}
	// Python's None means "the default".
	for k, v := range a.m {
		if string(v) == "null" {
			delete(a.m, k)
			a.used[k] = true
		}
	}
	return a, nil
}

// required makes the next read fail when its key is absent.
func (a *args) required() *args { a.need = true; return a }

func (a *args) has(name string) bool { _, ok := a.m[name]; return ok }

// get decodes name into v; it reports false when the key is absent.
func (a *args) get(name string, v any) bool {
	req := a.need
	a.need = false
	a.used[name] = true
	raw, ok := a.m[name]
	if !ok {
		if req && a.err == nil {
			a.err = errors.Errorf("%s: argument %s is required", a.class, name)
		}
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil && a.err == nil {
		a.err = errors.Errorf("%s: argument %s = %s: %v", a.class, name, raw, err)
		return false
	}
	return true
}

func (a *args) float(name string, def float64) float64 {
	var v float64
	if !a.get(name, &v) {
		return def
	}
	return v
}

// int reads an integer; Python code may pass 10.0 where it means 10.
func (a *args) int(name string, def int) int {
	var v float64
	if !a.get(name, &v) {
		return def
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		if a.err == nil {
			a.err = errors.Errorf("%s: argument %s = %v, want an integer", a.class, name, v)
		}
		return def
	}
	return int(v)
}

func (a *args) str(name, def string) string {
	var v string
	if !a.get(name, &v) {
		return def
	}
	return v
}

func (a *args) bool(name string, def bool) bool {
	var v bool
	if !a.get(name, &v) {
		return def
	}
	return v
}

func (a *args) ints(name string) []int {
	var vs []float64
	if !a.get(name, &vs) {
		return nil
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		if v != math.Trunc(v) && a.err == nil {
			a.err = errors.Errorf("%s: argument %s[%d] = %v, want an integer", a.class, name, i, v)
		}
		out[i] = int(v)
	}
	return out
}

// scalarOrOne reads a number, or a one-element list (one value per
// parameter group; the files have one group).
func (a *args) scalarOrOne(name string, def float64) float64 {
	var v any
	if !a.get(name, &v) {
		return def
	}
	switch x := v.(type) {
	case float64:
		return x
	case []any:
		if f, ok := x[0].(float64); len(x) == 1 && ok {
			return f
		}
	}
	if a.err == nil {
		a.err = errors.Errorf("%s: argument %s = %v, want a number or a list of one number", a.class, name, v)
	}
	return def
}

// schedules reads a list of nested {"scheduler", "options"} objects.
func (a *args) schedules(name string) []callbacks.Schedule {
	var list []struct {
		Scheduler string          `json:"scheduler"`
		Options   json.RawMessage `json:"options"`
	}
	if !a.get(name, &list) {
		return nil
	}
	out := make([]callbacks.Schedule, len(list))
	for i, c := range list {
		if c.Scheduler == "ReduceLROnPlateau" && a.err == nil {
			a.err = errors.Errorf("%s: %s[%d]: ReduceLROnPlateau cannot be nested", a.class, name, i)
		}
		s, err := buildSchedule(c.Scheduler, c.Options)
		if err != nil && a.err == nil {
			a.err = errors.Wrapf(err, "%s: %s[%d]", a.class, name, i)
		}
		out[i] = s
	}
	return out
}

// done returns the first error, or names the arguments nobody read.
func (a *args) done() error {
	if a.err != nil {
		return a.err
	}
	var unknown []string
	for k := range a.m {
		if !a.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return errors.Errorf("%s: unknown argument(s) %s", a.class, strings.Join(unknown, ", "))
	}
	return nil
}

// schedTrainer is the optimizer side of the loop: only a learning rate.
type schedTrainer struct {
	lr float64
}

func (t *schedTrainer) LearningRate() float64 { return t.lr }

func (t *schedTrainer) SetLearningRate(lr float64) error {
	if math.IsNaN(lr) || lr < 0 {
		return errors.Errorf("learning rate %v", lr)
	}
	t.lr = lr
	return nil
}

func (t *schedTrainer) StopTraining() {}

func (t *schedTrainer) SnapshotWeights() (callbacks.Snapshot, error) {
	return nil, errors.New("the scheduler check has no weights")
}

func (t *schedTrainer) RestoreWeights(callbacks.Snapshot) error {
	return errors.New("the scheduler check has no weights")
}

func (t *schedTrainer) SaveCheckpoint(string) error {
	return errors.New("the scheduler check saves no checkpoints")
}

// schedDriver runs the hooks in train.Fit's order. A per-epoch run has
// epochs of two batches (the rate must not change inside one); a per-batch
// run has epochs of seven, so that epoch hooks run in between.
type schedDriver struct {
	perBatch bool
	steps    int
	metrics  []float64
}

// run covers steps [from, to) between OnTrainBegin and OnTrainEnd and
// returns the rate during each; with save, also the callback's state after
// step to-1, as a checkpoint written then would hold it.
func (d schedDriver) run(cb callbacks.Callback, tr *schedTrainer, from, to int, save bool) (lrs []float64, state []byte, err error) {
	batches := 2
	if d.perBatch {
		batches = 7
	}
	epochs := d.steps
	if d.perBatch {
		epochs = (d.steps + batches - 1) / batches
	}
	s := &callbacks.State{Epochs: epochs, BatchesPerEpoch: batches, Trainer: tr}
	if err := cb.OnTrainBegin(s); err != nil {
		return nil, nil, err
	}
	defer func() {
		if e := cb.OnTrainEnd(s); err == nil && e != nil {
			err = e
		}
	}()
	batchLogs := callbacks.Logs{}
	for step := from; step < to; step++ {
		epoch, first, last := step, 0, batches
		if d.perBatch {
			epoch, first, last = step/batches, step%batches, step%batches+1
		}
		s.Epoch = epoch
		if first == 0 || step == from {
			s.Logs = callbacks.Logs{}
			if err := cb.OnEpochBegin(s); err != nil {
				return nil, nil, err
			}
		}
		for b := first; b < last; b++ {
			s.Batch, s.Step, s.Logs = b, epoch*batches+b, batchLogs
			if err := cb.OnBatchBegin(s); err != nil {
				return nil, nil, err
			}
			if b == first {
				lrs = append(lrs, tr.lr)
			} else if tr.lr != lrs[len(lrs)-1] {
				return nil, nil, errors.Errorf("the rate changed inside epoch %d", epoch)
			}
			batchLogs[callbacks.KeyLoss], batchLogs[callbacks.KeyLR] = 1, tr.lr
			if err := cb.OnBatchEnd(s); err != nil {
				return nil, nil, err
			}
		}
		if !d.perBatch || last == batches || step == d.steps-1 {
			s.Logs = callbacks.Logs{callbacks.KeyLoss: 1, callbacks.KeyLR: tr.lr}
			if step < len(d.metrics) {
				s.Logs[callbacks.KeyValLoss] = d.metrics[step]
			}
			if err := cb.OnEpochEnd(s); err != nil {
				return nil, nil, err
			}
		}
		if save && step == to-1 {
			st, ok := cb.(callbacks.Stateful)
			if !ok {
				return nil, nil, errors.Errorf("%T is not Stateful", cb)
			}
			if state, err = st.MarshalState(); err != nil {
				return nil, nil, err
			}
		}
	}
	return lrs, state, nil
}
