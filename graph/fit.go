package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/layers"
)

// FitOption configures Fit.
type FitOption func(*fitConfig)

type fitConfig struct {
	epochs          int
	seed            uint64
	seedSet         bool
	valData         *datasets.Dataset
	valFraction     float64
	callbacks       []callbacks.Callback
	trainLoaderOpts []datasets.LoaderOption
	evalLoaderOpts  []datasets.LoaderOption
	dropLast        bool
	resumeFrom      string
}

// WithEpochs sets how many epochs to train (default 1). A resumed run
// counts the epochs already done.
func WithEpochs(n int) FitOption { return func(c *fitConfig) { c.epochs = n } }

// WithShuffleSeed seeds the per-epoch shuffling, the validation split and
// the augmentation (default: the model's seed).
func WithShuffleSeed(seed uint64) FitOption {
	return func(c *fitConfig) { c.seed, c.seedSet = seed, true }
}

// WithValidationData evaluates ds after every epoch (val_loss,
// val_accuracy).
func WithValidationData(ds *datasets.Dataset) FitOption {
	return func(c *fitConfig) { c.valData = ds }
}

// WithValidationSplit holds out a seeded fraction of the training data,
// in (0, 1), for validation.
func WithValidationSplit(fraction float64) FitOption {
	return func(c *fitConfig) { c.valFraction = fraction }
}

// WithCallbacks adds callbacks, run in the order given.
func WithCallbacks(cbs ...callbacks.Callback) FitOption {
	return func(c *fitConfig) { c.callbacks = append(c.callbacks, cbs...) }
}

// WithTrainLoaderOptions adds options to the training loader, such as the
// transforms (normalisation, augmentation). Batch size and shuffling are
// Fit's.
func WithTrainLoaderOptions(opts ...datasets.LoaderOption) FitOption {
	return func(c *fitConfig) { c.trainLoaderOpts = append(c.trainLoaderOpts, opts...) }
}

// WithEvalLoaderOptions adds options to the validation loader (the same
// normalisation as training, never augmentation).
func WithEvalLoaderOptions(opts ...datasets.LoaderOption) FitOption {
	return func(c *fitConfig) { c.evalLoaderOpts = append(c.evalLoaderOpts, opts...) }
}

// WithDropLast drops the last partial batch of every epoch instead of
// training on it (padded, with zero-weight rows).
func WithDropLast(drop bool) FitOption { return func(c *fitConfig) { c.dropLast = drop } }

// WithResume continues training from a checkpoint written by
// callbacks.Trainer.SaveCheckpoint: weights, solver state, the loop's
// position and every stateful callback's state are restored, so the run
// continues bit for bit as an uninterrupted one with the same options.
func WithResume(path string) FitOption { return func(c *fitConfig) { c.resumeFrom = path } }

// learningRater is what callbacks need of a solver to schedule it.
type learningRater interface {
	LearningRate() float64
	SetLearningRate(lr float64) error
}

// gradNormer is a solver that reports the last step's gradient norm.
type gradNormer interface{ GradNorm() float64 }

// statefulSolver is what a checkpoint needs of a solver to resume it.
type statefulSolver interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// loopState is the "loop" section of a checkpoint.
type loopState struct {
	Epoch     int    `json:"epoch"`      // 0-based epoch to run next
	Batch     int    `json:"batch"`      // batches of Epoch already done
	Step      int    `json:"step"`       // optimizer steps done
	ModelStep int64  `json:"model_step"` // training runs done (dropout stream)
	Seed      uint64 `json:"seed"`
	Batches   int    `json:"batches_per_epoch"`
	Callbacks int    `json:"callbacks"`
}

// fitLoop is the state of one Fit call; it is the callbacks.Trainer.
type fitLoop struct {
	ctx    context.Context
	m      *Model
	solver G.Solver
	cfg    fitConfig
	cbs    []callbacks.Callback
	state  callbacks.State
	stop   bool
	pos    loopState
	// pendingCheckpoints are written once every callback's current hook
	// has run, so a checkpoint never holds a state half-way through the
	// callbacks of one event.
	pendingCheckpoints []string
	lastLogs           callbacks.Logs
}

// Fit trains m on train with solver, running callbacks around every batch
// and epoch. It returns the history of epoch logs; an error stops training
// (after OnTrainEnd has run) and is returned with the history so far. When
// ctx is cancelled, training stops after the current batch, the end hooks
// run, and the returned error wraps ctx.Err().
//
// The returned History is a callbacks.History that Fit runs after every
// other callback, so it also records the keys they add; in a resumed run it
// holds the epochs before the checkpoint too.
func Fit(ctx context.Context, m *Model, solver G.Solver, train *datasets.Dataset, opts ...FitOption) (hist *callbacks.History, err error) {
	if m == nil || solver == nil {
		return nil, errors.New("graph: Fit needs a model and a solver")
	}
	cfg := fitConfig{epochs: 1}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.seedSet {
		cfg.seed = m.cfg.seed
	}
	if cfg.epochs < 1 {
		return nil, errors.Errorf("graph: epochs %d, want ≥ 1", cfg.epochs)
	}
	if cfg.valFraction != 0 && (cfg.valFraction <= 0 || cfg.valFraction >= 1 || math.IsNaN(cfg.valFraction)) {
		return nil, errors.Errorf("graph: validation split %v, want a fraction in (0, 1)", cfg.valFraction)
	}
	if cfg.valFraction != 0 && cfg.valData != nil {
		return nil, errors.New("graph: give either WithValidationData or WithValidationSplit, not both")
	}
	if err := m.checkDataset(train); err != nil {
		return nil, err
	}
	if cfg.valFraction != 0 {
		if train, cfg.valData, err = train.Split(cfg.valFraction, cfg.seed); err != nil {
			return nil, errors.Wrap(err, "graph: validation split")
		}
	}
	if cfg.valData != nil {
		if err := m.checkDataset(cfg.valData); err != nil {
			return nil, errors.Wrap(err, "validation data")
		}
	}
	loaderOpts := append([]datasets.LoaderOption{
		datasets.WithBatchSize(m.cfg.batchSize),
		datasets.WithShuffle(cfg.seed),
		datasets.WithDropLast(cfg.dropLast),
	}, cfg.trainLoaderOpts...)
	loader, err := datasets.NewLoader(train, loaderOpts...)
	if err != nil {
		return nil, errors.Wrap(err, "graph: training loader")
	}
	hist = &callbacks.History{}
	l := &fitLoop{ctx: ctx, m: m, solver: solver, cfg: cfg, cbs: append(append([]callbacks.Callback(nil), cfg.callbacks...), hist)}
	l.pos = loopState{Seed: cfg.seed, Batches: loader.BatchesPerEpoch(), Callbacks: len(l.cbs)}
	if l.pos.Batches == 0 {
		return nil, errors.Errorf("graph: %d training examples make no batch of %d (drop last is on)", train.Len(), m.cfg.batchSize)
	}
	if cfg.resumeFrom != "" {
		if err := l.resume(cfg.resumeFrom); err != nil {
			return nil, err
		}
	}
	l.state = callbacks.State{Epochs: cfg.epochs, BatchesPerEpoch: l.pos.Batches, Trainer: l, Epoch: l.pos.Epoch, Step: l.pos.Step}
	return hist, l.run(loader)
}

// run is the loop proper; OnTrainEnd runs whatever happens after
// OnTrainBegin succeeded.
func (l *fitLoop) run(loader *datasets.Loader) (err error) {
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
	skip := l.pos.Batch // batches of the first epoch a resumed checkpoint had already trained
	for epoch := l.pos.Epoch; epoch < l.cfg.epochs && !l.stop; epoch++ {
		logs, err := l.runEpoch(loader, epoch, skip, batchLogs)
		skip = 0
		if err != nil {
			return err
		}
		if logs != nil {
			l.lastLogs = logs
		}
		if cerr := l.ctx.Err(); cerr != nil {
			return errors.Wrapf(cerr, "graph: training interrupted in epoch %d", epoch+1)
		}
	}
	return nil
}

// runEpoch trains one epoch, validates, and runs the epoch hooks. It
// returns nil logs when the epoch was cut short by a stop or cancellation.
func (l *fitLoop) runEpoch(loader *datasets.Loader, epoch, skip int, batchLogs callbacks.Logs) (callbacks.Logs, error) {
	start := time.Now()
	l.pos.Epoch, l.pos.Batch = epoch, skip
	l.state.Epoch, l.state.Logs = epoch, callbacks.Logs{}
	epochLogs := l.state.Logs
	if err := l.hook("OnEpochBegin", callbacks.Callback.OnEpochBegin); err != nil {
		return nil, err
	}
	it := loader.Epoch(l.ctx, epoch)
	defer it.Close()
	var lossSum float64
	var correct, rows int
	var dataWait time.Duration
	normer, _ := l.solver.(gradNormer)
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
		res, err := l.m.forwardBackward(b)
		if err != nil {
			return nil, errors.Wrapf(err, "epoch %d, batch %d", epoch+1, batch+1)
		}
		if !finite(res.Loss) {
			return nil, errors.Errorf("graph: loss is %v in epoch %d, batch %d: training diverged (lower the learning rate, or clip gradients)", res.Loss, epoch+1, batch+1)
		}
		lr := l.LearningRate()
		if err := l.m.stepSolver(l.solver); err != nil {
			return nil, errors.Wrapf(err, "graph: solver step in epoch %d, batch %d", epoch+1, batch+1)
		}
		lossSum += res.Loss * float64(res.Rows)
		correct += res.Correct
		rows += res.Rows
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
		return nil, errors.Wrapf(err, "graph: loading epoch %d", epoch+1)
	}
	if rows == 0 {
		return nil, errors.Errorf("graph: epoch %d had no batches", epoch+1)
	}
	epochLogs[callbacks.KeyLoss] = lossSum / float64(rows)
	epochLogs[callbacks.KeyAccuracy] = float64(correct) / float64(rows)
	epochLogs[callbacks.KeyLR] = l.LearningRate()
	if l.cfg.valData != nil {
		met, err := l.m.Evaluate(l.ctx, l.cfg.valData, l.cfg.evalLoaderOpts...)
		if err != nil {
			if l.ctx.Err() != nil {
				return nil, nil
			}
			return nil, errors.Wrapf(err, "graph: validation after epoch %d", epoch+1)
		}
		epochLogs[callbacks.KeyValLoss] = met.Loss
		epochLogs[callbacks.KeyValAccuracy] = met.Accuracy
	}
	epochLogs[callbacks.KeyEpochSeconds] = time.Since(start).Seconds()
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
func (l *fitLoop) hook(name string, call func(callbacks.Callback, *callbacks.State) error) error {
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

// LearningRate implements callbacks.Trainer; it is NaN when the solver has
// no learning rate to report.
func (l *fitLoop) LearningRate() float64 {
	if s, ok := l.solver.(learningRater); ok {
		return s.LearningRate()
	}
	return math.NaN()
}

// SetLearningRate implements callbacks.Trainer.
func (l *fitLoop) SetLearningRate(lr float64) error {
	s, ok := l.solver.(learningRater)
	if !ok {
		return errors.Errorf("graph: solver %T has no SetLearningRate; use solvers.Adam to schedule the learning rate", l.solver)
	}
	return s.SetLearningRate(lr)
}

// StopTraining implements callbacks.Trainer.
func (l *fitLoop) StopTraining() { l.stop = true }

// weightSnapshot is the graph package's callbacks.Snapshot.
type weightSnapshot struct {
	values []*tensor.Dense
}

// SnapshotWeights implements callbacks.Trainer.
func (l *fitLoop) SnapshotWeights() (callbacks.Snapshot, error) { return l.m.snapshot(), nil }

// RestoreWeights implements callbacks.Trainer.
func (l *fitLoop) RestoreWeights(s callbacks.Snapshot) error { return l.m.restore(s) }

func (m *Model) snapshot() *weightSnapshot {
	s := &weightSnapshot{}
	for _, p := range m.params.List() {
		s.values = append(s.values, p.Value.Clone().(*tensor.Dense))
	}
	return s
}

func (m *Model) restore(s callbacks.Snapshot) error {
	views, err := m.snapshotParams(s)
	if err != nil {
		return err
	}
	for i, p := range m.params.List() {
		if err := tensor.Copy(p.Value, views[i].Value); err != nil {
			return errors.Wrapf(err, "graph: restoring %s", p.Name)
		}
	}
	return nil
}

// snapshotParams presents a snapshot as parameters (the model's names, the
// snapshot's tensors), the form the weights codec reads and writes. It
// fails for a snapshot of another model.
func (m *Model) snapshotParams(s callbacks.Snapshot) ([]*layers.Param, error) {
	ws, ok := s.(*weightSnapshot)
	params := m.params.List()
	if !ok || len(ws.values) != len(params) {
		return nil, errors.Errorf("graph: snapshot %T was not taken from this model", s)
	}
	views := make([]*layers.Param, len(params))
	for i, p := range params {
		views[i] = &layers.Param{Name: p.Name, Value: ws.values[i]}
	}
	return views, nil
}

// SaveCheckpoint implements callbacks.Trainer. The file is written once
// every callback has run the current hook.
func (l *fitLoop) SaveCheckpoint(path string) error {
	if path == "" {
		return errors.New("graph: empty checkpoint path")
	}
	l.pendingCheckpoints = append(l.pendingCheckpoints, path)
	return nil
}

// writeCheckpoint writes weights, solver, loop and callback state.
func (l *fitLoop) writeCheckpoint(path string) error {
	secs := []section{{sectionWeights, encodeWeights(l.m.params.List())}}
	if s, ok := l.solver.(statefulSolver); ok {
		b, err := s.MarshalState()
		if err != nil {
			return errors.Wrap(err, "graph: solver state")
		}
		secs = append(secs, section{"solver", b})
	}
	pos := l.pos
	pos.ModelStep = l.m.step
	if pos.Batch >= pos.Batches {
		pos.Epoch, pos.Batch = pos.Epoch+1, 0
	}
	b, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	secs = append(secs, section{"loop", b})
	for i, cb := range l.cbs {
		s, ok := cb.(callbacks.Stateful)
		if !ok {
			continue
		}
		b, err := s.MarshalState()
		if err != nil {
			return errors.Wrapf(err, "graph: state of callback %s", callbackName(cb))
		}
		secs = append(secs, section{fmt.Sprintf("callback/%d/%s", i, callbackName(cb)), b})
	}
	return writeSections(path, secs)
}

// resume restores a checkpoint into the model, solver, loop and callbacks.
func (l *fitLoop) resume(path string) error {
	secs, err := readSections(path)
	if err != nil {
		return err
	}
	var pos loopState
	if err := json.Unmarshal(secs["loop"], &pos); err != nil {
		return errors.Errorf("graph: %s is a weights file, not a training checkpoint (no loop state)", path)
	}
	if pos.Batches != l.pos.Batches {
		return errors.Errorf("graph: %s was written with %d batches per epoch, this run has %d (dataset or batch size differ)", path, pos.Batches, l.pos.Batches)
	}
	if pos.Seed != l.pos.Seed {
		return errors.Errorf("graph: %s was written with seed %d, this run uses %d", path, pos.Seed, l.pos.Seed)
	}
	if err := decodeWeights(path, secs[sectionWeights], l.m.params.List()); err != nil {
		return err
	}
	if b, ok := secs["solver"]; ok {
		s, ok := l.solver.(statefulSolver)
		if !ok {
			return errors.Errorf("graph: %s holds solver state but solver %T cannot restore it", path, l.solver)
		}
		if err := s.UnmarshalState(b); err != nil {
			return errors.Wrapf(err, "graph: restoring solver state from %s", path)
		}
	}
	for name, b := range secs {
		if !strings.HasPrefix(name, "callback/") {
			continue
		}
		parts := strings.SplitN(name, "/", 3)
		i, err := strconv.Atoi(parts[1])
		if err != nil || i >= len(l.cbs) || len(parts) != 3 || callbackName(l.cbs[i]) != parts[2] {
			return errors.Errorf("graph: %s holds state for callback #%s %q, which this run's callbacks do not match (give the same callbacks in the same order)", path, parts[1], parts[len(parts)-1])
		}
		s, ok := l.cbs[i].(callbacks.Stateful)
		if !ok {
			return errors.Errorf("graph: callback %s cannot restore its state", parts[2])
		}
		if err := s.UnmarshalState(b); err != nil {
			return errors.Wrapf(err, "graph: restoring callback %s from %s", parts[2], path)
		}
	}
	l.m.step = pos.ModelStep
	pos.Callbacks = len(l.cbs)
	l.pos = pos
	return nil
}

// MarshalSnapshot implements callbacks.SnapshotMarshaler, so that
// EarlyStopping's best weights survive a checkpoint.
func (l *fitLoop) MarshalSnapshot(s callbacks.Snapshot) ([]byte, error) {
	views, err := l.m.snapshotParams(s)
	if err != nil {
		return nil, err
	}
	return encodeWeights(views), nil
}

// UnmarshalSnapshot implements callbacks.SnapshotMarshaler.
func (l *fitLoop) UnmarshalSnapshot(b []byte) (callbacks.Snapshot, error) {
	ws := l.m.snapshot()
	views, err := l.m.snapshotParams(ws)
	if err != nil {
		return nil, err
	}
	if err := decodeWeights("snapshot", b, views); err != nil {
		return nil, err
	}
	return ws, nil
}
