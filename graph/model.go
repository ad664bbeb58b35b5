package graph

import (
	"fmt"
	"math"
	"sync"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// buildMu serialises graph construction: Gorgonia keeps a global node-ID
// counter and caches hashes on shared package constants, so building two
// graphs at once races (docs/architecture.md). Running machines of separate
// graphs concurrently is safe and is not under this lock.
var buildMu sync.Mutex

// Model is a network compiled to two Gorgonia tape machines that share one
// set of weight tensors: a training program (forward and backward, dropout
// on) and an inference program (forward only, dropout off). A Model is not
// safe for concurrent use; separate Models may train in parallel.
type Model struct {
	cfg    config
	params *layers.ParamSet
	train  *program
	infer  *program
	// step counts the training runs; it seeds per-step randomness such as
	// dropout masks, so a resumed run draws the same masks.
	step int64
	// description is the "model" section of the files the model writes,
	// nil when a layer cannot describe itself.
	description []byte
}

// program is one compiled graph with its preallocated, bound inputs.
type program struct {
	graph *G.ExprGraph
	// compiled is the graph the machine runs: for training, the subgraph
	// that the loss and the learnables' gradients need.
	compiled *G.ExprGraph
	machine  G.VM
	// direct runs the machine's program on the calling goroutine (nil:
	// through RunAll); see directRun.
	direct *directRun
	batch  int

	x, target, rowWeights    *G.Node
	xT, targetT, rowWeightsT *tensor.Dense
	output, loss             *G.Node
	hooks                    []layers.RunHook

	// Training program only.
	learnables G.Nodes
	valueGrads []G.ValueGrad
}

// New declares a model from a layer (usually a layers.Sequential) and
// compiles it. The input shape (WithInputShape) is required; everything else
// has a default (float32, batch 64, seed 1, softmax cross-entropy).
func New(model layers.Layer, opts ...Option) (*Model, error) {
	if model == nil {
		return nil, errors.New("graph: model layer is nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, params: layers.NewParamSet()}
	var err error
	if m.train, err = m.build(model, true, cfg.batchSize); err != nil {
		return nil, errors.Wrap(err, "graph: building the training program")
	}
	if m.infer, err = m.build(model, false, cfg.evalBatchSize); err != nil {
		return nil, errors.Wrap(err, "graph: building the inference program")
	}
	m.description = describeModel(model, cfg)
	return m, nil
}

// build adds the model, its loss and (for training) the gradients to a new
// graph and compiles it. Gorgonia panics on some graph-building errors; they
// are recovered here and returned.
func (m *Model) build(model layers.Layer, training bool, batch int) (p *program, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, errors.Errorf("gorgonia panicked: %v", r)
		}
	}()

	cfg := m.cfg
	g := G.NewGraph()
	s, err := layers.NewScope(g, cfg.dtype, training, batch, cfg.seed, m.params)
	if err != nil {
		return nil, err
	}
	p = &program{graph: g, batch: batch}
	xShape := append(tensor.Shape{batch}, cfg.inputShape...)
	if p.x, p.xT, err = s.Input("input", xShape); err != nil {
		return nil, err
	}
	if p.output, err = model.Forward(s, p.x); err != nil {
		return nil, err
	}
	outShape := p.output.Shape()
	if len(outShape) != 2 || outShape[0] != batch {
		return nil, errors.Errorf("model output has shape %v, want (batch=%d, outputs)", outShape, batch)
	}
	if p.target, p.targetT, err = s.Input("target", outShape.Clone()); err != nil {
		return nil, err
	}
	if p.rowWeights, p.rowWeightsT, err = s.Input("row_weights", tensor.Shape{batch}); err != nil {
		return nil, err
	}
	if p.loss, err = cfg.loss.Forward(s, p.output, p.target, p.rowWeights); err != nil {
		return nil, errors.Wrap(err, "loss")
	}
	if !p.loss.IsScalar() {
		return nil, errors.Errorf("loss has shape %v, want a scalar", p.loss.Shape())
	}
	p.hooks = s.Hooks()

	compiled := g
	var vmOpts []G.VMOpt
	if training {
		for _, prm := range m.params.List() {
			p.learnables = append(p.learnables, prm.Node)
		}
		if len(p.learnables) == 0 {
			return nil, errors.New("model has no parameters to train")
		}
		grads, err := G.Grad(p.loss, p.learnables...)
		if err != nil {
			return nil, errors.Wrap(err, "gradients")
		}
		// Grad also builds the gradient of the input batch (matmul
		// differentiates both operands); compiling only what the loss
		// and the learnables' gradients need leaves that work out.
		roots := append(G.Nodes{p.loss, p.output}, grads...)
		compiled = g.ExactSubgraphRoots(roots...)
		// No BindDualValues: with it the machine adds every gradient into
		// a dual value (a second pass over each gradient, about 65 µs of
		// an MNIST step) only for the solver to zero it again. The solver reads
		// the gradient nodes' own values instead, which the machine binds
		// on every run and Reset leaves in place.
		p.valueGrads = make([]G.ValueGrad, len(grads))
		for i, prm := range p.learnables {
			p.valueGrads[i] = paramGrad{param: prm, grad: grads[i]}
		}
	} else {
		vmOpts = append(vmOpts, G.EvalMode())
	}
	p.compiled = compiled
	p.machine = G.NewTapeMachine(compiled, vmOpts...)
	p.direct = newDirectRun(p.machine)
	return p, nil
}

// paramGrad is what a solver sees of one parameter: its weight tensor
// (shared with the inference graph) and the gradient the last run of the
// training machine computed for it.
type paramGrad struct{ param, grad *G.Node }

// Value returns the parameter's weight tensor.
func (pg paramGrad) Value() G.Value { return pg.param.Value() }

// Grad returns the last run's gradient.
func (pg paramGrad) Grad() (G.Value, error) {
	v := pg.grad.Value()
	if v == nil {
		return nil, errors.Errorf("graph: parameter %s has no gradient yet (the training machine has not run)", pg.param.Name())
	}
	return v, nil
}

// Name returns the parameter's name, which keys the solver's state.
func (pg paramGrad) Name() string { return pg.param.Name() }

// Close releases both machines.
func (m *Model) Close() error {
	for _, p := range []*program{m.train, m.infer} {
		if p != nil && p.machine != nil {
			if err := p.machine.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Dtype returns the model's element type.
func (m *Model) Dtype() tensor.Dtype { return m.cfg.dtype }

// BatchSize returns the number of rows of a training batch.
func (m *Model) BatchSize() int { return m.cfg.batchSize }

// InputShape returns the shape of one example.
func (m *Model) InputShape() []int { return append([]int(nil), m.cfg.inputShape...) }

// Outputs returns the number of model outputs per example (classes).
func (m *Model) Outputs() int { return m.train.output.Shape()[1] }

// Params returns the model's parameters in creation order.
func (m *Model) Params() []*layers.Param { return m.params.List() }

// Learnables returns the parameters' nodes in the training graph, the
// nodes whose gradients a solver consumes.
func (m *Model) Learnables() G.Nodes { return m.train.learnables }

// Steps returns how many training steps the model has run; it numbers the
// per-step random draws (dropout masks).
func (m *Model) Steps() int64 { return m.step }

// SetSteps sets the step count, so that a run resumed from a checkpoint
// draws the dropout masks the uninterrupted run would have drawn.
func (m *Model) SetSteps(n int64) { m.step = n }

// Seed returns the seed of the weight initialisation and of the layers'
// random draws (WithSeed).
func (m *Model) Seed() uint64 { return m.cfg.seed }

// EvalBatchSize returns the number of rows of an inference batch.
func (m *Model) EvalBatchSize() int { return m.cfg.evalBatchSize }

// NumParams returns the number of scalar weights.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params.List() {
		n += p.Value.Shape().TotalSize()
	}
	return n
}

// String summarises the model: its parameters and their shapes.
func (m *Model) String() string {
	s := fmt.Sprintf("model(%v, input %v, batch %d, %d parameters)", m.cfg.dtype, m.cfg.inputShape, m.cfg.batchSize, m.NumParams())
	for _, p := range m.params.List() {
		s += "\n  " + p.String()
	}
	return s
}

// loss returns the scalar value of the program's loss node.
func (p *program) lossValue() (float64, error) {
	v := p.loss.Value()
	if v == nil {
		return math.NaN(), errors.New("graph: loss has no value (the machine did not run)")
	}
	// The scalar types first: their Data boxes the number (an allocation
	// per batch).
	switch x := v.(type) {
	case *G.F32:
		return float64(*x), nil
	case *G.F64:
		return float64(*x), nil
	}
	switch x := v.Data().(type) {
	case []float32:
		return float64(x[0]), nil
	case []float64:
		return x[0], nil
	}
	return math.NaN(), errors.Errorf("graph: loss value of unexpected type %T", v.Data())
}
