package train

import (
	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
)

// Option configures Fit.
type Option func(*config)

type config struct {
	epochs          int
	dataSeed        uint64
	dataSeedSet     bool
	valData         *datasets.Dataset
	valFraction     float64
	callbacks       []callbacks.Callback
	trainLoaderOpts []datasets.LoaderOption
	evalLoaderOpts  []datasets.LoaderOption
	dropLast        bool
	resumeFrom      string
	sections        []graph.Section
	afterResume     func() error
}

// WithEpochs sets how many epochs to train (default 1). A resumed run
// counts the epochs already done: WithEpochs(5) on a checkpoint of epoch 3
// trains two more.
func WithEpochs(n int) Option { return func(c *config) { c.epochs = n } }

// WithDataSeed seeds every random draw of the data: the validation split
// (WithValidationSplit), the per-epoch shuffling and the augmentation
// transforms of WithTrainLoaderOptions. The default is the model's seed
// (graph.WithSeed), which seeds the weights and dropout only.
func WithDataSeed(seed uint64) Option {
	return func(c *config) { c.dataSeed, c.dataSeedSet = seed, true }
}

// WithValidationData evaluates ds after every epoch (val_loss,
// val_accuracy).
func WithValidationData(ds *datasets.Dataset) Option {
	return func(c *config) { c.valData = ds }
}

// WithValidationSplit holds out a seeded fraction of the training data,
// in (0, 1), for validation.
func WithValidationSplit(fraction float64) Option {
	return func(c *config) { c.valFraction = fraction }
}

// WithCallbacks adds callbacks, run in the order given; a nil callback is
// an error.
func WithCallbacks(cbs ...callbacks.Callback) Option {
	return func(c *config) { c.callbacks = append(c.callbacks, cbs...) }
}

// WithTrainLoaderOptions adds options to the training loader, such as the
// transforms (normalisation, augmentation). Batch size (the model's) and
// shuffling (WithDataSeed) are Fit's.
func WithTrainLoaderOptions(opts ...datasets.LoaderOption) Option {
	return func(c *config) { c.trainLoaderOpts = append(c.trainLoaderOpts, opts...) }
}

// WithEvalLoaderOptions adds options to the validation loader (the same
// normalisation as training, never augmentation).
func WithEvalLoaderOptions(opts ...datasets.LoaderOption) Option {
	return func(c *config) { c.evalLoaderOpts = append(c.evalLoaderOpts, opts...) }
}

// WithDropLast drops the last partial batch of every epoch instead of
// training on it (padded, with zero-weight rows).
func WithDropLast(drop bool) Option { return func(c *config) { c.dropLast = drop } }

// WithResume continues training from a checkpoint written by
// callbacks.Trainer.SaveCheckpoint: weights, solver state, the loop's
// position, the interrupted epoch's running sums and every stateful
// callback's state are restored, so the run continues bit for bit as an
// uninterrupted one with the same options, and reports the same numbers.
// Nothing is changed when the checkpoint does not match the run.
func WithResume(path string) Option { return func(c *config) { c.resumeFrom = path } }

// WithCheckpointSection adds a section of the caller's own to every
// checkpoint the run writes, such as a description of the run (cmd/mnist
// stores its settings under "run"); graph.ReadCheckpoint gives it back. The
// names Fit uses itself ("weights", "solver", "loop", "callback/…") are
// refused.
func WithCheckpointSection(name string, data []byte) Option {
	return func(c *config) { c.sections = append(c.sections, graph.Section{Name: name, Data: data}) }
}

// WithAfterResume runs fn once WithResume's checkpoint is restored, before
// OnTrainBegin: the place to change on purpose something the checkpoint
// restored (cmd/mnist's -resume-force -lr sets the solver's learning rate
// there, since the solver's state brings back the saved one). An error
// stops Fit before training.
func WithAfterResume(fn func() error) Option { return func(c *config) { c.afterResume = fn } }
