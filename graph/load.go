package graph

import (
	"encoding/json"
	"fmt"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/losses"
)

// sectionModel holds the model's description in weights and checkpoint
// files, when its layers can describe themselves (layers.Specifier).
const sectionModel = "model"

// modelRecordVersion numbers modelRecord's layout.
const modelRecordVersion = 1

// modelRecord is the "model" section: everything New needs to declare the
// model again.
type modelRecord struct {
	Version        int         `json:"version"`
	Layers         layers.Spec `json:"layers"`
	InputShape     []int       `json:"input_shape"`
	Dtype          string      `json:"dtype"`
	TrainBatchSize int         `json:"train_batch_size"`
	EvalBatchSize  int         `json:"eval_batch_size"`
	Seed           uint64      `json:"seed"`
	// Loss names a stock loss; empty for a loss of the user's, which Load
	// then needs as an option.
	Loss string `json:"loss,omitempty"`
}

// stockLosses are the losses a file can name.
var stockLosses = []losses.Loss{losses.SoftmaxCrossEntropy(), losses.MeanSquaredError()}

// describeModel returns the "model" section for m, or nil when one of its
// layers cannot describe itself (the file then holds the weights only).
func describeModel(model layers.Layer, cfg config) []byte {
	spec, err := layers.SpecOf(model)
	if err != nil {
		return nil
	}
	rec := modelRecord{
		Version: modelRecordVersion, Layers: spec, InputShape: cfg.inputShape, Dtype: cfg.dtype.String(),
		TrainBatchSize: cfg.batchSize, EvalBatchSize: cfg.evalBatchSize, Seed: cfg.seed,
	}
	for _, l := range stockLosses {
		if fmt.Sprint(l) == fmt.Sprint(cfg.loss) {
			rec.Loss = fmt.Sprint(l)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil
	}
	return b
}

// Load declares, compiles and fills a model from a weights or checkpoint
// file alone: the file names the layers, input shape, dtype, batch sizes,
// seed and loss the model was declared with (when its layers describe
// themselves: every stock layer does, and a custom one must implement
// layers.Specifier and be registered with layers.RegisterSpec). opts are
// applied after the recorded settings, so that WithEvalBatchSize, say,
// changes only what it names; a model with a loss of its own needs
// WithLoss.
func Load(path string, opts ...Option) (*Model, error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return c.Model(opts...)
}

// Model declares, compiles and fills the model the checkpoint describes;
// see Load.
func (c *Checkpoint) Model(opts ...Option) (*Model, error) {
	b, ok := c.sections[sectionModel]
	if !ok {
		return nil, errors.Errorf("graph: %s does not describe its model (one of its layers had no layers.Spec); declare the model and use LoadWeights", c.Path)
	}
	var rec modelRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, errors.Wrapf(err, "graph: %s: model description", c.Path)
	}
	if rec.Version != modelRecordVersion {
		return nil, errors.Errorf("graph: %s describes its model in version %d, this build reads version %d", c.Path, rec.Version, modelRecordVersion)
	}
	layer, err := layers.LayerFromSpec(rec.Layers)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: %s", c.Path)
	}
	var dtype tensor.Dtype
	switch rec.Dtype {
	case tensor.Float32.String():
		dtype = tensor.Float32
	case tensor.Float64.String():
		dtype = tensor.Float64
	default:
		return nil, errors.Errorf("graph: %s: model dtype %q, want float32 or float64", c.Path, rec.Dtype)
	}
	recorded := []Option{
		WithInputShape(rec.InputShape...), WithDtype(dtype), WithTrainBatchSize(rec.TrainBatchSize),
		WithEvalBatchSize(rec.EvalBatchSize), WithSeed(rec.Seed),
	}
	for _, l := range stockLosses {
		if fmt.Sprint(l) == rec.Loss {
			recorded = append(recorded, WithLoss(l))
		}
	}
	all := append(recorded, opts...)
	probe := defaultConfig()
	for _, o := range all {
		o(&probe)
	}
	if probe.loss == nil && rec.Loss == "" {
		return nil, errors.Errorf("graph: %s was trained with a loss of its own, which a file cannot describe: pass graph.WithLoss", c.Path)
	}
	m, err := New(layer, all...)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: rebuilding the model of %s", c.Path)
	}
	if err := m.LoadWeightsFrom(c); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}
