package layers

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// DenseOption configures a Dense layer.
type DenseOption func(*dense)

// WithWeightInit sets how Dense initialises its weight matrix (default
// KaimingUniform(√5), PyTorch's nn.Linear default).
func WithWeightInit(init Initializer) DenseOption { return func(d *dense) { d.weightInit = init } }

// WithBiasInit sets how Dense initialises its bias (default
// LinearBiasUniform, PyTorch's nn.Linear default).
func WithBiasInit(init Initializer) DenseOption { return func(d *dense) { d.biasInit = init } }

// WithoutBias drops Dense's bias, as nn.Linear(bias=False) does; useful
// before a normalisation that would cancel it anyway.
func WithoutBias() DenseOption { return func(d *dense) { d.noBias = true } }

type dense struct {
	units      int
	weightInit Initializer
	biasInit   Initializer
	noBias     bool
}

// Dense is a fully connected layer, y = x·W + b, with W of shape
// (inputs, units) and b of shape (units): PyTorch's nn.Linear with the
// weight stored transposed, so the golden files' row-major (in, out)
// matrices load as they are. Its parameters are named "dense/weight" and
// "dense/bias" ("dense_1/…" for the next Dense, and so on), created in that
// order. The input must be (batch, features): flatten images first.
func Dense(units int, opts ...DenseOption) Layer {
	d := &dense{units: units, weightInit: KaimingUniform(math.Sqrt(5)), biasInit: LinearBiasUniform}
	for _, o := range opts {
		if o != nil {
			o(d)
		}
	}
	return d
}

// Forward creates (or, in a later build, looks up) the parameters and adds
// the product and the bias.
func (d *dense) Forward(s *Scope, x *G.Node) (*G.Node, error) {
	if err := checkInput("Dense", s, x); err != nil {
		return nil, err
	}
	if d.units <= 0 {
		return nil, errors.Errorf("layers: Dense units = %d must be ≥ 1", d.units)
	}
	shape := x.Shape()
	if len(shape) != 2 {
		return nil, errors.Errorf("layers: Dense(%d) needs a (batch, features) input, got %q of shape %v; put a Flatten() before it", d.units, x.Name(), shape)
	}
	in := shape[1]
	return layerScope(s, "dense", func() (*G.Node, error) {
		w, err := s.Param("weight", tensor.Shape{in, d.units}, in, d.units, d.weightInit)
		if err != nil {
			return nil, err
		}
		var b *G.Node
		if !d.noBias {
			if b, err = s.Param("bias", tensor.Shape{d.units}, in, d.units, d.biasInit); err != nil {
				return nil, err
			}
		}
		return guard(d.String(), func() (*G.Node, error) {
			y, err := G.ApplyOp(newMatMul(false, false), x, w)
			if err != nil || b == nil {
				return y, err
			}
			return G.ApplyOp(biasAddOp{out: opkit.NewOutput()}, y, b)
		})
	})
}

// String describes the layer for model summaries.
func (d *dense) String() string {
	if d.noBias {
		return fmt.Sprintf("Dense(%d, no bias)", d.units)
	}
	return fmt.Sprintf("Dense(%d)", d.units)
}
