package graph

import (
	"context"
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
)

// StepResult is what one training step reports about its batch.
type StepResult struct {
	// Loss is the batch's mean loss, before the update.
	Loss float64
	// Correct counts rows whose largest output is the label's class.
	Correct int
	// Rows is the number of real (unpadded) rows in the batch.
	Rows int
}

// TrainStep runs one batch through the training program — feed, forward,
// backward — and then lets solver update the weights in place from the
// batch's gradients. Any gorgonia.Solver works: each ValueGrad it receives
// is a parameter's weight tensor and the gradient tensor the training
// machine computed for it in this run (recomputed in full by every run, so
// zeroing it, as Gorgonia's solvers and solvers.Adam do, is harmless).
func (m *Model) TrainStep(solver G.Solver, b *datasets.Batch) (StepResult, error) {
	if solver == nil {
		return StepResult{}, errors.New("graph: TrainStep needs a solver")
	}
	res, err := m.forwardBackward(b)
	if err != nil {
		return res, err
	}
	if err := m.stepSolver(solver); err != nil {
		return res, errors.Wrap(err, "graph: solver step")
	}
	return res, nil
}

// stepSolver runs solver.Step on the training program's parameters. A
// solver that panics (Gorgonia's own do on some inputs) returns an error
// instead.
func (m *Model) stepSolver(solver G.Solver) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("solver %T panicked: %v", solver, r)
		}
	}()
	return solver.Step(m.train.valueGrads)
}

// forwardBackward runs the training program on b without a solver step,
// leaving the batch's gradients as the gradient nodes' values.
func (m *Model) forwardBackward(b *datasets.Batch) (StepResult, error) {
	p := m.train
	if err := p.feed(b); err != nil {
		return StepResult{}, err
	}
	for _, h := range p.hooks {
		if err := h(m.step); err != nil {
			return StepResult{}, errors.Wrap(err, "graph: run hook")
		}
	}
	res, err := p.run(b)
	if err != nil {
		return res, err
	}
	m.step++
	return res, nil
}

// run executes the fed program once and reads loss and accuracy.
func (p *program) run(b *datasets.Batch) (StepResult, error) {
	defer p.machine.Reset()
	if err := p.execute(); err != nil {
		return StepResult{}, errors.Wrap(err, "graph: running the machine")
	}
	loss, err := p.lossValue()
	if err != nil {
		return StepResult{}, err
	}
	return StepResult{Loss: loss, Correct: p.correct(b.Labels, b.Size), Rows: b.Size}, nil
}

// execute runs the machine's program once.
func (p *program) execute() error {
	if p.direct != nil {
		return p.direct.do()
	}
	return p.machine.RunAll()
}

// feed copies a batch into the program's bound input tensors (no
// allocation): features, one-hot targets and the row weights that make a
// padded last batch count only its real rows.
func (p *program) feed(b *datasets.Batch) error {
	if b == nil {
		return errors.New("graph: nil batch")
	}
	rows := b.Size
	if rows < 1 || rows > p.batch {
		return errors.Errorf("graph: batch has %d rows, want 1..%d (the compiled batch size)", rows, p.batch)
	}
	featureLen := p.xT.Shape().TotalSize() / p.batch
	need := rows * featureLen
	switch {
	case b.X32 != nil && len(b.X32) < need, b.X64 != nil && len(b.X64) < need:
		return errors.Errorf("graph: input %q: batch of %d rows holds %d values, want %d (%d rows × shape %v)",
			p.x.Name(), rows, max(len(b.X32), len(b.X64)), need, rows, p.xT.Shape()[1:])
	case b.X32 == nil && b.X64 == nil:
		return errors.Errorf("graph: input %q: batch has no features", p.x.Name())
	}
	if len(b.Labels) < rows {
		return errors.Errorf("graph: batch has %d labels for %d rows", len(b.Labels), rows)
	}
	classes := p.targetT.Shape()[1]
	for i, l := range b.Labels[:rows] {
		if l < 0 || l >= classes {
			return errors.Errorf("graph: batch row %d has label %d, want 0..%d (the model has %d outputs)", i, l, classes-1, classes)
		}
	}
	// The typed accessors, not Data: boxing a slice in an interface would
	// allocate on every batch.
	if p.xT.Dtype() == tensor.Float32 {
		fill(p.xT.Float32s(), p.targetT.Float32s(), p.rowWeightsT.Float32s(), b, need, classes)
	} else {
		fill(p.xT.Float64s(), p.targetT.Float64s(), p.rowWeightsT.Float64s(), b, need, classes)
	}
	return nil
}

// fill copies a validated batch into the bound tensors: features (converted
// when the batch has the other dtype, zero in padded rows), one-hot targets,
// and row weights 1/rows for real rows and 0 for padding.
func fill[T float32 | float64](x, target, rowWeights []T, b *datasets.Batch, need, classes int) {
	// copy (a memmove) where the dtypes match: the converting loop, which
	// generic code cannot turn into one, took 30 µs of an MNIST step.
	switch xs := any(x).(type) {
	case []float32:
		if b.X32 != nil {
			copy(xs, b.X32[:need])
			break
		}
		convert(xs, b.X64[:need])
	case []float64:
		if b.X64 != nil {
			copy(xs, b.X64[:need])
			break
		}
		convert(xs, b.X32[:need])
	}
	clear(x[need:])
	clear(target)
	for i, l := range b.Labels[:b.Size] {
		target[i*classes+l] = 1
	}
	w := T(1 / float64(b.Size))
	for i := range rowWeights {
		rowWeights[i] = 0
		if i < b.Size {
			rowWeights[i] = w
		}
	}
}

// convert copies src into dst, converting each element.
func convert[D, S float32 | float64](dst []D, src []S) {
	for i, v := range src {
		dst[i] = D(v)
	}
}

// correct counts the first rows whose arg-max output equals the label.
func (p *program) correct(labels []int, rows int) int {
	v := p.output.Value()
	if v == nil {
		return 0
	}
	t, ok := v.(*tensor.Dense)
	if !ok {
		return 0
	}
	classes := t.Shape()[1]
	n := 0
	// Float32s/Float64s instead of Data: boxing the slice in an interface
	// would allocate on every batch.
	switch t.Dtype() {
	case tensor.Float32:
		out := t.Float32s()
		for i := 0; i < rows; i++ {
			if argmax32(out[i*classes:(i+1)*classes]) == labels[i] {
				n++
			}
		}
	case tensor.Float64:
		out := t.Float64s()
		for i := 0; i < rows; i++ {
			if argmax64(out[i*classes:(i+1)*classes]) == labels[i] {
				n++
			}
		}
	}
	return n
}

func argmax32(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func argmax64(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// Metrics are a model's loss and accuracy over a dataset.
type Metrics struct {
	Loss     float64
	Accuracy float64
	// Examples is the number of examples evaluated.
	Examples int
}

// Evaluate computes the mean loss and the accuracy over every example of
// ds, a last partial batch included, with the inference program (dropout
// off). loaderOpts add to the loader's settings (for example the
// normalisation the model was trained with); shuffling and augmentation
// have no place here.
func (m *Model) Evaluate(ctx context.Context, ds *datasets.Dataset, loaderOpts ...datasets.LoaderOption) (Metrics, error) {
	var sum float64
	var correct, n int
	err := m.eachInferenceBatch(ctx, ds, loaderOpts, func(b *datasets.Batch) error {
		res, err := m.infer.run(b)
		if err != nil {
			return err
		}
		sum += res.Loss * float64(res.Rows)
		correct += res.Correct
		n += res.Rows
		return nil
	})
	if err != nil {
		return Metrics{}, err
	}
	if n == 0 {
		return Metrics{}, errors.New("graph: Evaluate on an empty dataset")
	}
	return Metrics{Loss: sum / float64(n), Accuracy: float64(correct) / float64(n), Examples: n}, nil
}

// Predict returns the model's outputs (logits for a classifier) for every
// example of ds, as an (examples × outputs) tensor of the model's dtype.
func (m *Model) Predict(ctx context.Context, ds *datasets.Dataset, loaderOpts ...datasets.LoaderOption) (*tensor.Dense, error) {
	if err := m.checkDataset(ds); err != nil {
		return nil, err
	}
	classes := m.Outputs()
	out := tensor.New(tensor.WithShape(ds.Len(), classes), tensor.Of(m.cfg.dtype))
	row := 0
	err := m.eachInferenceBatch(ctx, ds, loaderOpts, func(b *datasets.Batch) error {
		if _, err := m.infer.run(b); err != nil {
			return err
		}
		n := b.Size * classes
		switch dst := out.Data().(type) {
		case []float32:
			copy(dst[row*classes:], m.infer.output.Value().Data().([]float32)[:n])
		case []float64:
			copy(dst[row*classes:], m.infer.output.Value().Data().([]float64)[:n])
		}
		row += b.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachInferenceBatch feeds ds batch by batch into the inference program.
func (m *Model) eachInferenceBatch(ctx context.Context, ds *datasets.Dataset, loaderOpts []datasets.LoaderOption, fn func(*datasets.Batch) error) error {
	if err := m.checkDataset(ds); err != nil {
		return err
	}
	opts := append([]datasets.LoaderOption{datasets.WithBatchSize(m.infer.batch)}, loaderOpts...)
	loader, err := datasets.NewLoader(ds, opts...)
	if err != nil {
		return errors.Wrap(err, "graph: evaluation loader")
	}
	it := loader.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, ok := it.Next()
		if !ok {
			break
		}
		if err := m.infer.feed(b); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return it.Err()
}

// checkDataset verifies that ds's examples fit the model's input and its
// labels the model's outputs, naming both shapes when they do not. Examples
// are fed row-major, so a dataset of [1 28 28] images feeds a 784 input.
func (m *Model) checkDataset(ds *datasets.Dataset) error {
	if ds == nil {
		return errors.New("graph: nil dataset")
	}
	if err := ds.Validate(); err != nil {
		return errors.Wrap(err, "graph")
	}
	want := 1
	for _, d := range m.cfg.inputShape {
		want *= d
	}
	if ds.FeatureLen() != want {
		return errors.Errorf("graph: input %q expects examples of shape %v (%d values), the dataset's have shape %v (%d values)",
			m.train.x.Name(), m.cfg.inputShape, want, ds.ExampleShape, ds.FeatureLen())
	}
	if ds.Classes > m.Outputs() {
		return errors.Errorf("graph: dataset has %d classes but the model has %d outputs", ds.Classes, m.Outputs())
	}
	return nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
