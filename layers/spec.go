package layers

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/pkg/errors"
)

// Spec describes a layer well enough to declare it again: its kind, its
// numeric settings and, for a Sequential, its layers. graph stores the
// Spec of a model in its weights and checkpoint files, so that graph.Load
// rebuilds the model from a file alone.
//
// Initializers are not part of a Spec: a rebuilt layer gets the default
// ones, and the file's weights replace what they drew.
type Spec struct {
	Kind   string             `json:"kind"`
	Params map[string]float64 `json:"params,omitempty"`
	Layers []Spec             `json:"layers,omitempty"`
}

// Specifier is a layer that can describe itself. Every stock layer is one.
//
// A custom layer that wants graph.Load to rebuild it implements Specifier
// with a Kind of its own and registers a builder for that Kind with
// RegisterSpec (in an init function, so that Load finds it); a layer that
// does not is still trained and saved as usual, only Load then needs the
// layer declared again (graph.New and LoadWeights).
type Specifier interface {
	Layer
	Spec() Spec
}

// SpecOf describes l, naming the first layer (with its position inside
// Sequentials) that cannot describe itself.
func SpecOf(l Layer) (Spec, error) {
	if q, ok := l.(sequential); ok {
		s := Spec{Kind: "Sequential", Layers: make([]Spec, len(q))}
		for i, sub := range q {
			var err error
			if s.Layers[i], err = SpecOf(sub); err != nil {
				return Spec{}, errors.Wrapf(err, "Sequential layer %d", i)
			}
		}
		return s, nil
	}
	sp, ok := l.(Specifier)
	if !ok {
		return Spec{}, errors.Errorf("layers: %s does not describe itself (it has no Spec method; see layers.Specifier)", describe(l))
	}
	s := sp.Spec()
	if s.Kind == "" {
		return Spec{}, errors.Errorf("layers: %s describes itself with an empty kind", describe(l))
	}
	return s, nil
}

// LayerFromSpec declares the layer a Spec describes, with the stock
// layers and those registered with RegisterSpec.
func LayerFromSpec(s Spec) (Layer, error) {
	specMu.RLock()
	build, ok := specBuilders[s.Kind]
	specMu.RUnlock()
	if !ok {
		return nil, errors.Errorf("layers: no layer of kind %q is known (stock: %v; register a custom one with layers.RegisterSpec)", s.Kind, stockKinds())
	}
	l, err := build(s)
	if err != nil {
		return nil, errors.Wrapf(err, "layers: %s", s.Kind)
	}
	return l, nil
}

// RegisterSpec makes LayerFromSpec (and so graph.Load) build layers of
// kind with build. Registering a kind twice, or a stock kind, is an error.
func RegisterSpec(kind string, build func(Spec) (Layer, error)) error {
	if kind == "" || build == nil {
		return errors.New("layers: RegisterSpec needs a kind and a builder")
	}
	specMu.Lock()
	defer specMu.Unlock()
	if _, dup := specBuilders[kind]; dup {
		return errors.Errorf("layers: layer kind %q is already registered", kind)
	}
	specBuilders[kind] = build
	return nil
}

// sequentialFromSpec builds a Sequential's layers in order.
func sequentialFromSpec(s Spec) (Layer, error) {
	ls := make([]Layer, len(s.Layers))
	for i, sub := range s.Layers {
		l, err := LayerFromSpec(sub)
		if err != nil {
			return nil, errors.Wrapf(err, "layer %d", i)
		}
		ls[i] = l
	}
	return Sequential(ls...), nil
}

func init() { specBuilders["Sequential"] = sequentialFromSpec }

var (
	specMu       sync.RWMutex
	specBuilders = map[string]func(Spec) (Layer, error){
		"Dense": func(s Spec) (Layer, error) {
			units, err := specInt(s, "units")
			if err != nil {
				return nil, err
			}
			if b, ok := s.Params["bias"]; ok && b == 0 {
				return Dense(units, WithoutBias()), nil
			}
			return Dense(units), nil
		},
		"Conv2D": func(s Spec) (Layer, error) {
			filters, kernel, stride, padding, err := specInts4(s, "filters", "kernel", "stride", "padding")
			if err != nil {
				return nil, err
			}
			return Conv2D(filters, kernel, WithStride(stride), WithPadding(padding)), nil
		},
		"MaxPool2D": func(s Spec) (Layer, error) {
			_, kernel, stride, padding, err := specInts4(s, "", "kernel", "stride", "padding")
			if err != nil {
				return nil, err
			}
			return MaxPool2D(kernel, WithStride(stride), WithPadding(padding)), nil
		},
		"Dropout":    func(s Spec) (Layer, error) { return Dropout(s.Params["p"]), nil },
		"Flatten":    func(Spec) (Layer, error) { return Flatten(), nil },
		"ReLU":       func(Spec) (Layer, error) { return ReLU(), nil },
		"LeakyReLU":  func(s Spec) (Layer, error) { return LeakyReLU(s.Params["alpha"]), nil },
		"ELU":        func(s Spec) (Layer, error) { return ELU(s.Params["alpha"]), nil },
		"Sigmoid":    func(Spec) (Layer, error) { return Sigmoid(), nil },
		"Tanh":       func(Spec) (Layer, error) { return Tanh(), nil },
		"Softmax":    func(Spec) (Layer, error) { return Softmax(), nil },
		"LogSoftmax": func(Spec) (Layer, error) { return LogSoftmax(), nil },
	}
)

// stockKinds lists the registered kinds, for messages.
func stockKinds() []string {
	specMu.RLock()
	defer specMu.RUnlock()
	kinds := make([]string, 0, len(specBuilders))
	for k := range specBuilders {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// specInt reads an integer setting, naming it when it is missing or not
// a whole number.
func specInt(s Spec, name string) (int, error) {
	v, ok := s.Params[name]
	if !ok || v != math.Trunc(v) || math.Abs(v) > 1<<31 {
		return 0, errors.Errorf("setting %q is %v, want an integer", name, fmt.Sprint(s.Params[name]))
	}
	return int(v), nil
}

// specInts4 reads up to four integer settings; an empty name is skipped.
func specInts4(s Spec, a, b, c, d string) (va, vb, vc, vd int, err error) {
	out := [4]int{}
	for i, n := range []string{a, b, c, d} {
		if n == "" {
			continue
		}
		if out[i], err = specInt(s, n); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return out[0], out[1], out[2], out[3], nil
}

// Spec describes the Dense layer (its initializers are not described).
func (d *dense) Spec() Spec {
	bias := 1.0
	if d.noBias {
		bias = 0
	}
	return Spec{Kind: "Dense", Params: map[string]float64{"units": float64(d.units), "bias": bias}}
}

// Spec describes the convolution.
func (c *conv2D) Spec() Spec {
	return Spec{Kind: "Conv2D", Params: map[string]float64{
		"filters": float64(c.filters), "kernel": float64(c.kernel), "stride": float64(c.stride), "padding": float64(c.padding)}}
}

// Spec describes the pooling.
func (m *maxPool2D) Spec() Spec {
	return Spec{Kind: "MaxPool2D", Params: map[string]float64{
		"kernel": float64(m.kernel), "stride": float64(m.stride), "padding": float64(m.padding)}}
}

// Spec describes the dropout.
func (d dropout) Spec() Spec { return Spec{Kind: "Dropout", Params: map[string]float64{"p": d.p}} }

// Spec describes the flattening.
func (flatten) Spec() Spec { return Spec{Kind: "Flatten"} }

// Spec describes the activation.
func (a activation) Spec() Spec {
	switch a.op.kind {
	case actLeakyReLU:
		return Spec{Kind: "LeakyReLU", Params: map[string]float64{"alpha": a.op.alpha}}
	case actELU:
		return Spec{Kind: "ELU", Params: map[string]float64{"alpha": a.op.alpha}}
	case actSigmoid:
		return Spec{Kind: "Sigmoid"}
	case actTanh:
		return Spec{Kind: "Tanh"}
	}
	return Spec{Kind: "ReLU"}
}

// Spec describes the (log-)softmax.
func (l softmax) Spec() Spec {
	if l.op.log {
		return Spec{Kind: "LogSoftmax"}
	}
	return Spec{Kind: "Softmax"}
}
