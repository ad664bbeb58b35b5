package layers

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// guard runs a layer's graph building and turns a Gorgonia panic into an
// error that names the layer: nothing may panic out of Forward.
func guard(layer string, build func() (*G.Node, error)) (n *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, errors.Errorf("layers: %s: gorgonia panicked: %v", layer, r)
		}
	}()
	n, err = build()
	if err != nil {
		return nil, errors.WithMessage(err, "layers: "+layer)
	}
	return n, nil
}

// checkInput rejects nil inputs and dtypes other than the scope's, which
// Gorgonia would otherwise report deep inside an op.
func checkInput(layer string, s *Scope, x *G.Node) error {
	if s == nil {
		return errors.Errorf("layers: %s: scope is nil", layer)
	}
	if x == nil {
		return errors.Errorf("layers: %s: input node is nil", layer)
	}
	if dt := x.Dtype(); dt != s.Dtype() {
		return errors.Errorf("layers: %s: input %q has dtype %v, the scope %v", layer, x.Name(), dt, s.Dtype())
	}
	return nil
}

// activation is a layer that applies one of the custom elementwise ops.
type activation struct{ op actOp }

// Forward applies the activation elementwise; it has no parameters.
func (a activation) Forward(s *Scope, x *G.Node) (*G.Node, error) {
	name := a.op.String()
	if err := checkInput(name, s, x); err != nil {
		return nil, err
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	op := a.op
	op.out = opkit.NewOutput()
	return guard(name, func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// String names the activation and its parameter, for model summaries.
func (a activation) String() string { return a.op.String() }

// ReLU returns max(x, 0) elementwise, with derivative 0 at x = 0 as in
// PyTorch. It is one graph node forward and one backward (Gorgonia's
// Rectify is three).
func ReLU() Layer { return activation{actOp{kind: actReLU}} }

// LeakyReLU returns x for x > 0 and alpha·x otherwise (PyTorch's
// nn.LeakyReLU(negative_slope=alpha); its default slope is 0.01). Any
// alpha but NaN is accepted, as in PyTorch; Forward rejects NaN, which would
// poison every output.
func LeakyReLU(alpha float64) Layer { return activation{actOp{kind: actLeakyReLU, alpha: alpha}} }

// ELU returns x for x > 0 and alpha·(eˣ − 1) otherwise (Clevert et al.
// 2015, "Fast and Accurate Deep Network Learning by Exponential Linear
// Units"; PyTorch's nn.ELU, default alpha 1). Forward rejects a NaN alpha.
func ELU(alpha float64) Layer { return activation{actOp{kind: actELU, alpha: alpha}} }

// Sigmoid returns 1/(1+e⁻ˣ) elementwise, computed without overflow for
// large |x|.
func Sigmoid() Layer { return activation{actOp{kind: actSigmoid}} }

// Tanh returns the hyperbolic tangent elementwise.
func Tanh() Layer { return activation{actOp{kind: actTanh}} }

// softmax is the Softmax and LogSoftmax layer.
type softmax struct{ op softmaxOp }

// Forward applies the (log-)softmax to every row of x.
func (l softmax) Forward(s *Scope, x *G.Node) (*G.Node, error) {
	name := l.String()
	if err := checkInput(name, s, x); err != nil {
		return nil, err
	}
	if x.Dims() < 1 {
		return nil, errors.Errorf("layers: %s: input %q is a scalar, want (batch, classes)", name, x.Name())
	}
	op := l.op
	op.out = opkit.NewOutput()
	return guard(name, func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// String names the layer for model summaries.
func (l softmax) String() string {
	if l.op.log {
		return "LogSoftmax"
	}
	return "Softmax"
}

// Softmax normalises every row (the last axis) of its input to
// probabilities, shifting each row by its own maximum first so that logits
// far apart do not overflow. Train on logits with
// losses.SoftmaxCrossEntropy rather than on Softmax's output; use this layer
// for models whose output must be probabilities.
func Softmax() Layer { return softmax{softmaxOp{}} }

// LogSoftmax returns log(softmax(x)) per row, computed as x − max − log Σ
// exp(x − max) so it stays finite where softmax underflows to 0.
func LogSoftmax() Layer { return softmax{softmaxOp{log: true}} }

// validAlpha rejects a NaN activation parameter.
func validAlpha(layer string, alpha float64) error {
	if math.IsNaN(alpha) {
		return errors.Errorf("layers: %s alpha = NaN is not a number", layer)
	}
	return nil
}

// validate reports an activation parameter that would poison the outputs.
func (a activation) validate() error {
	switch a.op.kind {
	case actLeakyReLU, actELU:
		return validAlpha(a.op.kind.String(), a.op.alpha)
	}
	return nil
}

var _ fmt.Stringer = activation{}
