package graph

import (
	"context"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
//
// TrainStep is ComputeGradients followed by ApplyGradients.
func (m *Model) TrainStep(solver G.Solver, b Batch) (StepResult, error) {
	if solver == nil {
		return StepResult{}, errors.New("graph: TrainStep needs a solver")
	}
	res, err := m.ComputeGradients(b)
	if err != nil {
		return res, err
	}
	if err := m.ApplyGradients(solver); err != nil {
		return res, errors.Wrap(err, "graph: solver step")
	}
	return res, nil
}

// ApplyGradients runs solver.Step on the parameters and the gradients of
// the last ComputeGradients. A solver that panics (Gorgonia's own do on
// some inputs) returns an error instead.
func (m *Model) ApplyGradients(solver G.Solver) (err error) {
	if solver == nil {
		return errors.New("graph: ApplyGradients needs a solver")
	}
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("solver %T panicked: %v", solver, r)
		}
	}()
	return solver.Step(m.train.valueGrads)
}

// ComputeGradients runs the training program on b (dropout on) without
// updating the weights, leaving the batch's gradients for ApplyGradients.
// A training loop calls the two separately to look at the loss before it
// lets a solver step on it.
func (m *Model) ComputeGradients(b Batch) (StepResult, error) {
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
func (p *program) run(b Batch) (StepResult, error) {
	defer p.machine.Reset()
	if err := p.execute(); err != nil {
		return StepResult{}, errors.Wrap(err, "graph: running the machine")
	}
	loss, err := p.lossValue()
	if err != nil {
		return StepResult{}, err
	}
	rows := b.Rows()
	return StepResult{Loss: loss, Correct: p.correct(b.ClassLabels(), rows), Rows: rows}, nil
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
// padded last batch count only its real rows. The batch must hold exactly
// its rows' values and labels: a longer slice is as likely a bug in the
// caller (a wrong row count) as a shorter one.
func (p *program) feed(b Batch) error {
	if b == nil {
		return errors.New("graph: nil batch")
	}
	rows := b.Rows()
	if rows < 1 || rows > p.batch {
		return errors.Errorf("graph: batch has %d rows, want 1..%d (the compiled batch size)", rows, p.batch)
	}
	featureLen := p.xT.Shape().TotalSize() / p.batch
	need := rows * featureLen
	x32, x64 := b.Features()
	switch {
	case x32 == nil && x64 == nil:
		return errors.Errorf("graph: input %q: batch has no features", p.x.Name())
	case x32 != nil && x64 != nil:
		return errors.Errorf("graph: input %q: batch has both float32 and float64 features, want one", p.x.Name())
	case x32 != nil && len(x32) != need, x64 != nil && len(x64) != need:
		return errors.Errorf("graph: input %q: batch of %d rows holds %d values, want %d (%d rows × shape %v)",
			p.x.Name(), rows, max(len(x32), len(x64)), need, rows, p.xT.Shape()[1:])
	}
	labels := b.ClassLabels()
	if len(labels) != rows {
		return errors.Errorf("graph: batch has %d labels for %d rows", len(labels), rows)
	}
	classes := p.targetT.Shape()[1]
	for i, l := range labels {
		if l < 0 || l >= classes {
			return errors.Errorf("graph: batch row %d has label %d, want 0..%d (the model has %d outputs)", i, l, classes-1, classes)
		}
	}
	// The typed accessors, not Data: boxing a slice in an interface would
	// allocate on every batch.
	if p.xT.Dtype() == tensor.Float32 {
		fill(p.xT.Float32s(), p.targetT.Float32s(), p.rowWeightsT.Float32s(), x32, x64, labels, classes)
	} else {
		fill(p.xT.Float64s(), p.targetT.Float64s(), p.rowWeightsT.Float64s(), x32, x64, labels, classes)
	}
	return nil
}

// fill copies a validated batch into the bound tensors: features (converted
// when the batch has the other dtype, zero in padded rows), one-hot targets,
// and row weights 1/rows for real rows and 0 for padding.
func fill[T float32 | float64](x, target, rowWeights []T, x32 []float32, x64 []float64, labels []int, classes int) {
	// copy (a memmove) where the dtypes match: the converting loop, which
	// generic code cannot turn into one, took 30 µs of an MNIST step.
	need := max(len(x32), len(x64))
	switch xs := any(x).(type) {
	case []float32:
		if x32 != nil {
			copy(xs, x32)
			break
		}
		convert(xs, x64)
	case []float64:
		if x64 != nil {
			copy(xs, x64)
			break
		}
		convert(xs, x32)
	}
	clear(x[need:])
	clear(target)
	for i, l := range labels {
		target[i*classes+l] = 1
	}
	w := T(1 / float64(len(labels)))
	for i := range rowWeights {
		rowWeights[i] = 0
		if i < len(labels) {
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
	// Float32s/Float64s instead of Data: boxing the slice in an interface
	// would allocate on every batch.
	switch t.Dtype() {
	case tensor.Float32:
		return countCorrect(t.Float32s(), labels, rows, classes)
	case tensor.Float64:
		return countCorrect(t.Float64s(), labels, rows, classes)
	}
	return 0
}

// countCorrect counts the first rows of a (rows × classes) output whose
// largest value is at the label's class.
func countCorrect[T float32 | float64](out []T, labels []int, rows, classes int) int {
	n := 0
	for i := range rows {
		if argmax(out[i*classes:(i+1)*classes]) == labels[i] {
			n++
		}
	}
	return n
}

// argmax returns the index of the first largest element.
func argmax[T float32 | float64](xs []T) int {
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
// src, a last partial batch included, with the inference program (dropout
// off). Give a datasets.Source to read a dataset through the normalisation
// the model was trained with.
func (m *Model) Evaluate(ctx context.Context, src BatchSource) (Metrics, error) {
	var sum float64
	var correct, n int
	err := m.eachInferenceBatch(ctx, src, func(b Batch) error {
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
// example of src, as an (examples × outputs) tensor of the model's dtype.
func (m *Model) Predict(ctx context.Context, src BatchSource) (*tensor.Dense, error) {
	if err := m.CheckData(src); err != nil {
		return nil, err
	}
	classes := m.Outputs()
	out := tensor.New(tensor.WithShape(src.Len(), classes), tensor.Of(m.cfg.dtype))
	row := 0
	err := m.eachInferenceBatch(ctx, src, func(b Batch) error {
		if _, err := m.infer.run(b); err != nil {
			return err
		}
		n := b.Rows() * classes
		if row*classes+n > out.Shape().TotalSize() {
			return errors.Errorf("graph: the source yielded more than the %d examples its Len reports", src.Len())
		}
		switch dst := out.Data().(type) {
		case []float32:
			copy(dst[row*classes:], m.infer.output.Value().Data().([]float32)[:n])
		case []float64:
			copy(dst[row*classes:], m.infer.output.Value().Data().([]float64)[:n])
		}
		row += b.Rows()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if row != src.Len() {
		return nil, errors.Errorf("graph: the source yielded %d examples, its Len reports %d", row, src.Len())
	}
	return out, nil
}

// eachInferenceBatch feeds src batch by batch into the inference program.
func (m *Model) eachInferenceBatch(ctx context.Context, src BatchSource, fn func(Batch) error) error {
	if err := m.CheckData(src); err != nil {
		return err
	}
	return src.EachBatch(ctx, m.infer.batch, func(b Batch) error {
		if err := m.infer.feed(b); err != nil {
			return err
		}
		return fn(b)
	})
}

// CheckData verifies that src's examples fit the model's input, naming
// both sizes when they do not. Examples are fed row-major, so a dataset of
// [1 28 28] images feeds a 784 input. Labels are checked batch by batch as
// they are fed.
func (m *Model) CheckData(src BatchSource) error {
	if src == nil {
		return errors.New("graph: nil dataset")
	}
	want := 1
	for _, d := range m.cfg.inputShape {
		want *= d
	}
	if got := src.FeatureLen(); got != want {
		return errors.Errorf("graph: input %q expects examples of shape %v (%d values), the data's have %d values",
			m.train.x.Name(), m.cfg.inputShape, want, got)
	}
	if src.Len() == 0 {
		return errors.New("graph: the data has no examples")
	}
	return nil
}
