package train

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
)

// loop is the state of one Fit call; it is the callbacks.Trainer.
type loop struct {
	ctx    context.Context
	m      *graph.Model
	solver Solver
	cfg    config
	cbs    []callbacks.Callback
	state  callbacks.State
	stop   bool
	pos    position
	// pendingCheckpoints are written once every callback's current hook
	// has run, so a checkpoint never holds a state half-way through the
	// callbacks of one event.
	pendingCheckpoints []string
	lastLogs           callbacks.Logs
}

// Fit trains m on data with solver, running callbacks around every batch
// and epoch. It returns the history of epoch logs; an error stops training
// (after OnTrainEnd has run) and is returned with the history so far. When
// ctx is cancelled, training stops after the current batch, the end hooks
// run, and the returned error wraps ctx.Err(). A panic in a callback or a
// solver is returned as an error.
//
// The returned History is a callbacks.History that Fit runs after every
// other callback, so it also records the keys they add; in a resumed run it
// holds the epochs before the checkpoint too.
func Fit(ctx context.Context, m *graph.Model, solver Solver, data *datasets.Dataset, opts ...Option) (hist *callbacks.History, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("train: Fit panicked: %v", r)
		}
	}()
	if ctx == nil {
		ctx = context.Background()
	}
	if m == nil || solver == nil {
		return nil, errors.New("train: Fit needs a model and a solver")
	}
	cfg := config{epochs: 1}
	for i, o := range opts {
		if o == nil {
			return nil, errors.Errorf("train: option %d is nil", i)
		}
		o(&cfg)
	}
	if err := cfg.validate(m); err != nil {
		return nil, err
	}
	if err := checkLearningRater(solver, cfg.callbacks); err != nil {
		return nil, err
	}
	if err := checkData(m, data); err != nil {
		return nil, err
	}
	if cfg.valFraction != 0 {
		if data, cfg.valData, err = data.Split(cfg.valFraction, cfg.dataSeed); err != nil {
			return nil, errors.Wrap(err, "train: validation split")
		}
	}
	if cfg.valData != nil {
		if err := checkData(m, cfg.valData); err != nil {
			return nil, errors.Wrap(err, "validation data")
		}
	}
	loaderOpts := append([]datasets.LoaderOption{
		datasets.WithBatchSize(m.BatchSize()),
		datasets.WithShuffle(cfg.dataSeed),
		datasets.WithDropLast(cfg.dropLast),
	}, cfg.trainLoaderOpts...)
	loader, err := datasets.NewLoader(data, loaderOpts...)
	if err != nil {
		return nil, errors.Wrap(err, "train: training loader")
	}
	hist = &callbacks.History{}
	l := &loop{ctx: ctx, m: m, solver: solver, cfg: cfg, cbs: append(append([]callbacks.Callback(nil), cfg.callbacks...), hist)}
	l.pos = position{Seed: cfg.dataSeed, Batches: loader.BatchesPerEpoch(), Callbacks: len(l.cbs)}
	if l.pos.Batches == 0 {
		return nil, errors.Errorf("train: %d training examples make no batch of %d (drop last is on)", data.Len(), m.BatchSize())
	}
	if cfg.resumeFrom != "" {
		if err := l.resume(cfg.resumeFrom); err != nil {
			return nil, err
		}
		if cfg.afterResume != nil {
			if err := cfg.afterResume(); err != nil {
				return nil, errors.Wrap(err, "train: after resuming")
			}
		}
	}
	l.state = callbacks.State{Epochs: cfg.epochs, BatchesPerEpoch: l.pos.Batches, Trainer: l, Epoch: l.pos.Epoch, Step: l.pos.Step}
	return hist, l.run(loader)
}

// validate checks the options and fills the defaults that depend on m.
func (c *config) validate(m *graph.Model) error {
	if !c.dataSeedSet {
		c.dataSeed = m.Seed()
	}
	if c.epochs < 1 {
		return errors.Errorf("train: epochs %d, want ≥ 1", c.epochs)
	}
	if c.valFraction != 0 && (c.valFraction <= 0 || c.valFraction >= 1 || math.IsNaN(c.valFraction)) {
		return errors.Errorf("train: validation split %v, want a fraction in (0, 1)", c.valFraction)
	}
	if c.valFraction != 0 && c.valData != nil {
		return errors.New("train: give either WithValidationData or WithValidationSplit, not both")
	}
	for i, cb := range c.callbacks {
		if cb == nil || reflect.ValueOf(cb).Kind() == reflect.Pointer && reflect.ValueOf(cb).IsNil() {
			return errors.Errorf("train: callback %d of %d is nil", i+1, len(c.callbacks))
		}
	}
	for _, s := range c.sections {
		if isLoopSection(s.Name) {
			return errors.Errorf("train: checkpoint section %q is Fit's own; choose another name", s.Name)
		}
	}
	return nil
}

// checkData validates a dataset and checks it against the model's input
// and outputs.
func checkData(m *graph.Model, ds *datasets.Dataset) error {
	if ds == nil {
		return errors.New("train: nil dataset")
	}
	if err := ds.Validate(); err != nil {
		return errors.Wrap(err, "train")
	}
	if err := m.CheckData(ds); err != nil {
		return errors.Wrapf(err, "train: examples of shape %v", ds.ExampleShape)
	}
	if ds.Classes > m.Outputs() {
		return errors.Errorf("train: dataset has %d classes but the model has %d outputs", ds.Classes, m.Outputs())
	}
	return nil
}

// run is the loop proper; OnTrainEnd runs whatever happens after
// OnTrainBegin succeeded.
func (l *loop) run(loader *datasets.Loader) (err error) {
	if err := l.hook("OnTrainBegin", callbacks.Callback.OnTrainBegin); err != nil {
		return err
	}
	defer func() {
		l.state.Logs = l.lastLogs
		if endErr := l.hook("OnTrainEnd", callbacks.Callback.OnTrainEnd); err == nil {
			err = endErr
		}
	}()
	batchLogs := callbacks.Logs{}
	for epoch := l.pos.Epoch; epoch < l.cfg.epochs && !l.stop; epoch++ {
		logs, err := l.runEpoch(loader, epoch, batchLogs)
		if err != nil {
			return err
		}
		if logs != nil {
			l.lastLogs = logs
		}
		if cerr := l.ctx.Err(); cerr != nil {
			return errors.Wrapf(cerr, "train: training interrupted in epoch %d", epoch+1)
		}
	}
	return nil
}

// runEpoch trains one epoch, validates, and runs the epoch hooks. It
// returns nil logs when the epoch was cut short by a stop or cancellation.
// A resumed epoch skips the batches its checkpoint had trained and starts
// from the checkpoint's running sums.
func (l *loop) runEpoch(loader *datasets.Loader, epoch int, batchLogs callbacks.Logs) (callbacks.Logs, error) {
	start := time.Now()
	if epoch != l.pos.Epoch {
		l.pos.Epoch, l.pos.Batch, l.pos.sums = epoch, 0, sums{}
	}
	skip := l.pos.Batch
	l.state.Epoch, l.state.Logs = epoch, callbacks.Logs{}
	epochLogs := l.state.Logs
	if err := l.hook("OnEpochBegin", callbacks.Callback.OnEpochBegin); err != nil {
		return nil, err
	}
	it := loader.Epoch(l.ctx, epoch)
	defer it.Close()
	dataWait := time.Duration(l.pos.DataWaitNanos)
	elapsedBefore := time.Duration(l.pos.ElapsedNanos)
	normer, _ := l.solver.(GradNormer)
	for batch := 0; ; batch++ {
		waitStart := time.Now()
		b, ok := it.Next()
		dataWait += time.Since(waitStart)
		if !ok {
			break
		}
		if batch < skip {
			continue
		}
		l.state.Batch, l.state.Step, l.state.Logs = batch, l.pos.Step, batchLogs
		if err := l.hook("OnBatchBegin", callbacks.Callback.OnBatchBegin); err != nil {
			return nil, err
		}
		res, err := l.m.ComputeGradients(b)
		if err != nil {
			return nil, errors.Wrapf(err, "epoch %d, batch %d", epoch+1, batch+1)
		}
		if !finite(res.Loss) {
			return nil, errors.Errorf("train: loss is %v in epoch %d, batch %d: training diverged (lower the learning rate, or clip gradients)", res.Loss, epoch+1, batch+1)
		}
		lr := l.LearningRate()
		if err := l.m.ApplyGradients(l.solver); err != nil {
			return nil, errors.Wrapf(err, "train: solver step in epoch %d, batch %d", epoch+1, batch+1)
		}
		l.pos.LossSum += res.Loss * float64(res.Rows)
		l.pos.Correct += res.Correct
		l.pos.Rows += res.Rows
		l.pos.DataWaitNanos = int64(dataWait)
		l.pos.ElapsedNanos = int64(elapsedBefore + time.Since(start))
		l.pos.Step++
		l.pos.Batch = batch + 1
		batchLogs[callbacks.KeyLoss] = res.Loss
		batchLogs[callbacks.KeyAccuracy] = float64(res.Correct) / float64(res.Rows)
		batchLogs[callbacks.KeyLR] = lr
		if normer != nil {
			batchLogs[callbacks.KeyGradNorm] = normer.GradNorm()
		}
		if err := l.hook("OnBatchEnd", callbacks.Callback.OnBatchEnd); err != nil {
			return nil, err
		}
		if l.stop || l.ctx.Err() != nil {
			return nil, nil
		}
	}
	if err := it.Err(); err != nil {
		if l.ctx.Err() != nil {
			return nil, nil
		}
		return nil, errors.Wrapf(err, "train: loading epoch %d", epoch+1)
	}
	if l.pos.Rows == 0 {
		return nil, errors.Errorf("train: epoch %d had no batches", epoch+1)
	}
	epochLogs[callbacks.KeyLoss] = l.pos.LossSum / float64(l.pos.Rows)
	epochLogs[callbacks.KeyAccuracy] = float64(l.pos.Correct) / float64(l.pos.Rows)
	epochLogs[callbacks.KeyLR] = l.LearningRate()
	if l.cfg.valData != nil {
		met, err := l.m.Evaluate(l.ctx, datasets.NewSource(l.cfg.valData, l.cfg.evalLoaderOpts...))
		if err != nil {
			if l.ctx.Err() != nil {
				return nil, nil
			}
			return nil, errors.Wrapf(err, "train: validation after epoch %d", epoch+1)
		}
		epochLogs[callbacks.KeyValLoss] = met.Loss
		epochLogs[callbacks.KeyValAccuracy] = met.Accuracy
	}
	epochLogs[callbacks.KeyEpochSeconds] = (elapsedBefore + time.Since(start)).Seconds()
	epochLogs[callbacks.KeyDataWaitSeconds] = dataWait.Seconds()
	l.state.Logs = epochLogs
	l.state.Batch = l.pos.Batches - 1
	if err := l.hook("OnEpochEnd", callbacks.Callback.OnEpochEnd); err != nil {
		return nil, err
	}
	return epochLogs, nil
}

// hook runs one hook of every callback in order, then writes the
// checkpoints they asked for.
func (l *loop) hook(name string, call func(callbacks.Callback, *callbacks.State) error) error {
	for _, cb := range l.cbs {
		if err := call(cb, &l.state); err != nil {
			return errors.Wrapf(err, "callback %s: %s", callbackName(cb), name)
		}
	}
	for len(l.pendingCheckpoints) > 0 {
		path := l.pendingCheckpoints[0]
		l.pendingCheckpoints = l.pendingCheckpoints[1:]
		if err := l.writeCheckpoint(path); err != nil {
			return errors.Wrapf(err, "checkpoint requested in %s", name)
		}
	}
	return nil
}

// callbackName is the callback's Name, or its Go type.
func callbackName(cb callbacks.Callback) string {
	if n, ok := cb.(callbacks.Namer); ok {
		return n.Name()
	}
	t := reflect.TypeOf(cb)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// sectionName is the checkpoint section of callback i.
func sectionName(i int, cb callbacks.Callback) string {
	return fmt.Sprintf("callback/%d/%s", i, callbackName(cb))
}
