package main

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
)

// mnistClasses is the number of digit classes.
const mnistClasses = 10

// activation maps -activation to a layer.
func activation(name string) layers.Layer {
	switch name {
	case "leaky-relu":
		return layers.LeakyReLU(0.01)
	case "elu":
		return layers.ELU(1)
	default:
		return layers.ReLU()
	}
}

// buildModel declares the network -model asks for and compiles it.
//
// mlp: Dense(h) → act → Dropout for every -hidden size, then Dense(classes).
// cnn: Conv(16·5×5, pad 2) → act → MaxPool(2) → Conv(32·5×5, pad 2) → act →
// MaxPool(2) → Flatten → Dense(hidden[0]) → act → Dropout → Dense(classes).
// The input shape and the number of classes are the data's (modelShape).
func buildModel(c *config) (*graph.Model, error) {
	var ls []layers.Layer
	inputShape, classes, err := modelShape(c)
	if err != nil {
		return nil, err
	}
	if c.Model == "cnn" {
		ls = append(ls,
			layers.Conv2D(16, 5, layers.WithPadding(2)), activation(c.Activation), layers.MaxPool2D(2),
			layers.Conv2D(32, 5, layers.WithPadding(2)), activation(c.Activation), layers.MaxPool2D(2),
			layers.Flatten(),
		)
		hidden := 128
		if len(c.Hidden) > 0 {
			hidden = c.Hidden[0]
		}
		ls = append(ls, layers.Dense(hidden), activation(c.Activation))
		if c.Dropout > 0 {
			ls = append(ls, layers.Dropout(c.Dropout))
		}
	} else {
		for _, h := range c.Hidden {
			ls = append(ls, layers.Dense(h), activation(c.Activation))
			if c.Dropout > 0 {
				ls = append(ls, layers.Dropout(c.Dropout))
			}
		}
	}
	ls = append(ls, layers.Dense(classes))
	dtype := tensor.Float32
	if c.Dtype == "float64" {
		dtype = tensor.Float64
	}
	return graph.New(layers.Sequential(ls...),
		graph.WithInputShape(inputShape...),
		graph.WithDtype(dtype),
		graph.WithTrainBatchSize(c.BatchSize),
		graph.WithSeed(c.Seed),
	)
}

// buildSolver turns the optimizer flags into solvers.Adam options.
func buildSolver(c *config) (*solvers.Adam, error) {
	opts := []solvers.Option{
		solvers.WithLearnRate(c.LR),
		solvers.WithBetas(c.Beta1, c.Beta2),
	}
	if c.EpsConvention == "keras" {
		opts = append(opts, solvers.WithKerasEpsilon())
	}
	opts = append(opts, solvers.WithEpsilon(c.Eps))
	if c.WeightDecay > 0 {
		opts = append(opts, solvers.WithWeightDecay(c.WeightDecay))
		if c.WeightDecayMode == "decoupled" {
			opts = append(opts, solvers.WithDecoupledWeightDecay())
		}
		if c.NoDecayOnBiases {
			opts = append(opts, solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0)))
		}
	}
	if c.AMSGrad {
		opts = append(opts, solvers.WithAMSGrad())
	}
	if c.ClipNorm > 0 {
		opts = append(opts, solvers.WithClipNorm(c.ClipNorm))
	}
	if c.ClipValue > 0 {
		opts = append(opts, solvers.WithClipValue(c.ClipValue))
	}
	if c.SplitThreads > 0 {
		opts = append(opts, solvers.WithWorkers(c.SplitThreads))
	}
	return solvers.NewAdam(opts...)
}

// buildSchedule returns the learning-rate callback the schedule flags ask
// for, or nil. "The whole run" is c.ScheduleEpochs when set, else c.Epochs;
// batchesPerEpoch converts it into steps when the schedule steps per batch.
func buildSchedule(c *config, batchesPerEpoch int) (callbacks.Callback, error) {
	every := callbacks.PerEpoch
	unit := 1 // steps per epoch in the schedule's unit
	if c.ScheduleInterval == "batch" || c.Schedule == "one-cycle" {
		every, unit = callbacks.PerBatch, batchesPerEpoch
	}
	horizon := c.Epochs
	if c.ScheduleEpochs > 0 {
		horizon = c.ScheduleEpochs
	}
	total := horizon * unit
	var s callbacks.Schedule
	switch c.Schedule {
	case "step":
		s = callbacks.StepLR(c.StepSize, c.Gamma)
	case "multistep":
		s = callbacks.MultiStepLR(c.Milestones, c.Gamma)
	case "exponential":
		s = callbacks.ExponentialLR(c.Gamma)
	case "cosine":
		tMax := c.TMax
		if tMax == 0 {
			tMax = total - c.WarmupEpochs
		}
		s = callbacks.CosineAnnealingLR(max(tMax, 1), c.EtaMin)
	case "warm-restarts":
		t0 := c.T0
		if t0 == 0 {
			t0 = unit
		}
		s = callbacks.CosineAnnealingWarmRestarts(t0, c.TMult, c.EtaMin)
	case "one-cycle":
		maxLR := c.MaxLR
		if maxLR == 0 {
			maxLR = 10 * c.LR
		}
		s = callbacks.OneCycleLR(maxLR, total)
	}
	if c.WarmupEpochs > 0 {
		warm := callbacks.LinearLR(c.WarmupFactor, 1, c.WarmupEpochs)
		if s == nil {
			s = warm
		} else {
			s = callbacks.SequentialLR([]callbacks.Schedule{warm, s}, []int{c.WarmupEpochs})
		}
	}
	if s == nil {
		return nil, nil
	}
	cb, err := callbacks.NewLRScheduler(s, every)
	return cb, errors.Wrap(err, "schedule")
}

// buildAugmentation returns the random transforms applied to training
// batches, in torchvision's order (geometry first).
func buildAugmentation(c *config) []datasets.Transform {
	var ts []datasets.Transform
	if c.Rotate > 0 {
		ts = append(ts, datasets.RandomRotation(c.Rotate))
	}
	if c.Shift > 0 {
		ts = append(ts, datasets.RandomShift(c.Shift))
	}
	if c.Flip > 0 {
		ts = append(ts, datasets.RandomHorizontalFlip(c.Flip))
	}
	return ts
}

// normalize is applied to every batch, training and evaluation alike.
func normalize() datasets.Transform {
	return datasets.Normalize(datasets.MNISTMean, datasets.MNISTStd)
}
