package layers

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Layer is one building block of a model. Forward adds the nodes that
// compute the layer's output from x to the scope's graph.
//
// A model is built twice from the same Layer value: once for training
// (s.Training() is true) and once for inference. Parameters must therefore be
// created through s.Param, which hands out the same weight tensor both times,
// and Forward must not keep per-build state in the Layer itself.
type Layer interface {
	Forward(s *Scope, x *G.Node) (*G.Node, error)
}

// LayerFunc adapts a function to the Layer interface.
type LayerFunc func(s *Scope, x *G.Node) (*G.Node, error)

// Forward calls f.
func (f LayerFunc) Forward(s *Scope, x *G.Node) (*G.Node, error) { return f(s, x) }

// Initializer fills a freshly created parameter. fanIn and fanOut follow
// PyTorch's convention (torch.nn.init._calculate_fan_in_and_fan_out).
type Initializer func(rng *rand.Rand, data any, fanIn, fanOut int)

// Param is a learnable tensor, shared by the training and inference graphs.
type Param struct {
	// Name is unique within a model and stable from run to run: it keys
	// saved weights and the solver's per-parameter state.
	Name  string
	Value *tensor.Dense
	// Node is the parameter's node in the training graph.
	Node *G.Node
}

// ParamSet holds a model's parameters in creation order.
type ParamSet struct {
	byName map[string]*Param
	list   []*Param
}

// NewParamSet returns an empty set.
func NewParamSet() *ParamSet { return &ParamSet{byName: map[string]*Param{}} }

// List returns the parameters in creation order.
func (ps *ParamSet) List() []*Param { return ps.list }

// Get returns the parameter with the given name, or nil.
func (ps *ParamSet) Get(name string) *Param { return ps.byName[name] }

// RunHook is called by the program that owns the graph before every run of
// its machine; step counts the runs of the training program from 0. Dropout
// uses it to draw a fresh, seeded mask.
type RunHook func(step int64) error

// Scope is what a Layer sees while it adds nodes to a graph: the graph, the
// dtype, whether this build is for training, the fixed batch size, the
// model's parameters and a seeded random source for initialisation.
type Scope struct {
	graph     *G.ExprGraph
	dtype     tensor.Dtype
	training  bool
	batchSize int
	seed      uint64
	params    *ParamSet
	rng       *rand.Rand
	names     map[string]int
	prefix    string
	hooks     []RunHook
	inputs    []*G.Node
	// firstBuild is true when the ParamSet was empty at NewScope: this
	// build creates the parameters, whether or not it is for training.
	firstBuild bool
}

// NewScope returns a scope that adds nodes to g. The first build of a model
// passes a fresh ParamSet, the later builds (inference) pass the same set:
// the parameters are then looked up by name instead of created. seed drives
// initialisation and every random draw a layer makes (dropout masks).
func NewScope(g *G.ExprGraph, dtype tensor.Dtype, training bool, batchSize int, seed uint64, params *ParamSet) (*Scope, error) {
	if dtype != tensor.Float32 && dtype != tensor.Float64 {
		return nil, errors.Errorf("layers: dtype %v is not supported (want Float32 or Float64)", dtype)
	}
	if batchSize <= 0 {
		return nil, errors.Errorf("layers: batch size %d must be ≥ 1", batchSize)
	}
	if params == nil {
		params = NewParamSet()
	}
	return &Scope{
		graph: g, dtype: dtype, training: training, batchSize: batchSize, seed: seed,
		params: params, rng: rand.New(rand.NewPCG(seed, 0x5eed)), names: map[string]int{},
		firstBuild: len(params.list) == 0,
	}, nil
}

// Graph returns the graph being built.
func (s *Scope) Graph() *G.ExprGraph { return s.graph }

// Dtype returns the element type of every tensor in the model.
func (s *Scope) Dtype() tensor.Dtype { return s.dtype }

// Training reports whether this build is the training program (dropout on).
func (s *Scope) Training() bool { return s.training }

// BatchSize returns the number of rows of every batch the program runs on.
func (s *Scope) BatchSize() int { return s.batchSize }

// Seed returns the model's seed; layers derive their own random streams
// from it (with their unique name) so that results do not depend on the
// order in which layers draw.
func (s *Scope) Seed() uint64 { return s.seed }

// Params returns the model's parameters.
func (s *Scope) Params() *ParamSet { return s.params }

// Hooks returns the run hooks registered so far, in registration order.
func (s *Scope) Hooks() []RunHook { return s.hooks }

// OnRun registers h to run before every run of this build's machine.
func (s *Scope) OnRun(h RunHook) { s.hooks = append(s.hooks, h) }

// Inputs returns the auxiliary input nodes layers created with Input.
func (s *Scope) Inputs() []*G.Node { return s.inputs }

// UniqueName returns base, or base_N when base was already used in this
// scope. Gorgonia merges input nodes that share a name and shape, so every
// node a layer names must get its name from here. Both builds of a model
// hand out the same names in the same order.
func (s *Scope) UniqueName(base string) string {
	base = s.prefix + base
	for {
		n := s.names[base]
		s.names[base] = n + 1
		if n == 0 {
			return base
		}
		// A generated name is recorded as used too, so that a later
		// base that happens to spell it ("dense_1") cannot collide.
		name := base + "_" + strconv.Itoa(n)
		if s.names[name] == 0 {
			s.names[name] = 1
			return name
		}
	}
}

// Param returns the learnable parameter called name (made unique with
// UniqueName) with the given shape. The first build creates the tensor and
// fills it with init; a later build over the same ParamSet wraps the very
// same tensor, so the solver's in-place updates are seen by both programs.
func (s *Scope) Param(name string, shape tensor.Shape, fanIn, fanOut int, init Initializer) (*G.Node, error) {
	name = s.UniqueName(name)
	if p := s.params.byName[name]; p != nil {
		if !p.Value.Shape().Eq(shape) {
			return nil, errors.Errorf("layers: parameter %q has shape %v in this build but %v in the first", name, shape, p.Value.Shape())
		}
		return newNode(s.graph, s.dtype, shape, name, p.Value)
	}
	if !s.training && !s.firstBuild {
		// An inference build that creates a parameter the training build
		// never made would silently use untrained weights.
		return nil, errors.Errorf("layers: parameter %q exists only in the inference build", name)
	}
	for _, d := range shape {
		if d <= 0 {
			return nil, errors.Errorf("layers: parameter %q has invalid shape %v", name, shape)
		}
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(s.dtype))
	if init != nil {
		init(s.rng, t.Data(), fanIn, fanOut)
	}
	n, err := newNode(s.graph, s.dtype, shape, name, t)
	if err != nil {
		return nil, err
	}
	p := &Param{Name: name, Value: t, Node: n}
	s.params.byName[name] = p
	s.params.list = append(s.params.list, p)
	return n, nil
}

// Input returns a non-learnable node of the given shape that the layer
// fills itself (from a RunHook) before each run, for example a dropout
// mask. Its value is preallocated and bound.
func (s *Scope) Input(name string, shape tensor.Shape) (*G.Node, *tensor.Dense, error) {
	name = s.UniqueName(name)
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(s.dtype))
	n, err := newNode(s.graph, s.dtype, shape, name, t)
	if err != nil {
		return nil, nil, err
	}
	s.inputs = append(s.inputs, n)
	return n, t, nil
}

// WithPrefix runs build with every name it creates prefixed by prefix+"/".
func (s *Scope) WithPrefix(prefix string, build func() (*G.Node, error)) (*G.Node, error) {
	old := s.prefix
	s.prefix = old + prefix + "/"
	defer func() { s.prefix = old }()
	return build()
}

// newNode creates a tensor node with a bound value. Gorgonia panics on a
// rank or dtype mismatch here; the checks above make that unreachable, and
// the recover turns any remaining case into an error.
func newNode(g *G.ExprGraph, dt tensor.Dtype, shape tensor.Shape, name string, v *tensor.Dense) (n *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("layers: creating node %q: %v", name, r)
		}
	}()
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v)), nil
}

// String makes a Param print as its name and shape.
func (p *Param) String() string { return fmt.Sprintf("%s%v", p.Name, p.Value.Shape()) }
