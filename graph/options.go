package graph

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/losses"
)

// Option configures New.
type Option func(*config)

type config struct {
	inputShape    []int
	dtype         tensor.Dtype
	batchSize     int
	evalBatchSize int
	seed          uint64
	loss          losses.Loss
}

func defaultConfig() config {
	return config{dtype: tensor.Float32, batchSize: 64, seed: 1}
}

// WithInputShape sets the shape of one example, without the batch
// dimension: 784 for flattened MNIST, or 1, 28, 28 for images (NCHW).
func WithInputShape(dims ...int) Option {
	return func(c *config) { c.inputShape = append([]int(nil), dims...) }
}

// WithDtype sets the element type of every tensor: tensor.Float32 (the
// default) or tensor.Float64.
func WithDtype(dt tensor.Dtype) Option { return func(c *config) { c.dtype = dt } }

// WithTrainBatchSize sets the rows per training batch (default 64). The training
// program is compiled for this size; a last, smaller batch is padded with
// zero-weight rows, so it costs one full batch and contributes exactly its
// own rows' mean loss.
func WithTrainBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithEvalBatchSize sets the rows per batch of the inference program used
// by Evaluate and Predict (default: max(batch size, 500)). It changes speed
// only, never results.
func WithEvalBatchSize(n int) Option { return func(c *config) { c.evalBatchSize = n } }

// WithSeed seeds weight initialisation and every random draw of the layers
// (dropout masks), and nothing else: the data's draws (validation split,
// shuffling, augmentation) have train.WithDataSeed, which defaults to this
// seed. Same seeds, same machine: bit-identical training.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLoss sets the loss (default losses.SoftmaxCrossEntropy()).
func WithLoss(l losses.Loss) Option { return func(c *config) { c.loss = l } }

func (c *config) validate() error {
	if len(c.inputShape) == 0 {
		return errors.New("graph: WithInputShape is required (the shape of one example, e.g. 784 or 1, 28, 28)")
	}
	for i, d := range c.inputShape {
		if d <= 0 {
			return errors.Errorf("graph: input shape %v: dimension %d is %d, want ≥ 1", c.inputShape, i, d)
		}
	}
	if c.dtype != tensor.Float32 && c.dtype != tensor.Float64 {
		return errors.Errorf("graph: dtype %v is not supported, want Float32 or Float64", c.dtype)
	}
	if c.batchSize < 1 {
		return errors.Errorf("graph: batch size %d, want ≥ 1", c.batchSize)
	}
	if c.evalBatchSize == 0 {
		c.evalBatchSize = max(c.batchSize, 500)
	}
	if c.evalBatchSize < 1 {
		return errors.Errorf("graph: eval batch size %d, want ≥ 1", c.evalBatchSize)
	}
	if c.loss == nil {
		c.loss = losses.SoftmaxCrossEntropy()
	}
	return nil
}
