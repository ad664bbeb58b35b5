package losses

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// Loss turns a model's output into the scalar the solver minimises.
//
// Forward adds to s's graph a node equal to Σᵢ wᵢ·lossᵢ, where lossᵢ is
// row i's loss and wᵢ = rowWeights[i]. graph/ passes wᵢ = 1/rows for real
// rows and 0 for the padding of a short last batch, so the result is the
// batch mean PyTorch's reduction="mean" gives, and padded rows neither
// count nor propagate a gradient. output and target are (batch, outputs);
// rowWeights is (batch). Targets and weights are constants to the loss: no
// gradient flows into them.
type Loss interface {
	Forward(s *layers.Scope, output, target, rowWeights *G.Node) (*G.Node, error)
}

// LossFunc adapts a function to the Loss interface.
type LossFunc func(s *layers.Scope, output, target, rowWeights *G.Node) (*G.Node, error)

// Forward calls f.
func (f LossFunc) Forward(s *layers.Scope, output, target, rowWeights *G.Node) (*G.Node, error) {
	return f(s, output, target, rowWeights)
}

// fusedLoss is a Loss computed by one rowLossOp.
type fusedLoss struct{ kind lossKind }

// SoftmaxCrossEntropy is the cross-entropy of softmax(output) against the
// target distribution, from logits: lossᵢ = −Σ_c t_ic·log softmax(o)_ic.
// With one-hot targets and wᵢ = 1/rows it equals PyTorch's
// nn.CrossEntropyLoss() (mean reduction) on integer labels; soft targets
// (rows of probabilities, as with label smoothing) work too.
//
// It is one fused graph node forward and one backward, with
// dL/do_ic = wᵢ·(softmax_ic·Σ_c t_ic − t_ic)·upstream. Each row is shifted
// by its own maximum and accumulated in float64, so float32 logits that
// differ by hundreds give finite, exact-as-possible losses; Gorgonia's
// SoftMax is not used because its running maximum is not per row.
func SoftmaxCrossEntropy() Loss { return fusedLoss{kind: crossEntropy} }

// MeanSquaredError is lossᵢ = mean_c (o_ic − t_ic)²; with wᵢ = 1/rows the
// total equals PyTorch's nn.MSELoss() (mean over all elements). One fused
// node forward and one backward.
func MeanSquaredError() Loss { return fusedLoss{kind: meanSquared} }

// String names the loss.
func (l fusedLoss) String() string { return l.kind.String() }

// Forward checks the shapes and adds the fused loss node.
func (l fusedLoss) Forward(s *layers.Scope, output, target, rowWeights *G.Node) (n *G.Node, err error) {
	name := l.kind.String()
	if output == nil || target == nil || rowWeights == nil {
		return nil, errors.Errorf("losses: %s: output, target and row weights must all be non-nil", name)
	}
	os, ts, ws := output.Shape(), target.Shape(), rowWeights.Shape()
	if len(os) != 2 || os[1] < 1 {
		return nil, errors.Errorf("losses: %s: output %q has shape %v, want (batch, outputs ≥ 1)", name, output.Name(), os)
	}
	if !os.Eq(ts) {
		return nil, errors.Errorf("losses: %s: target %q has shape %v, output %q %v; they must match", name, target.Name(), ts, output.Name(), os)
	}
	if len(ws) != 1 || ws[0] != os[0] {
		return nil, errors.Errorf("losses: %s: row weights %q have shape %v, want (%d) for output shape %v", name, rowWeights.Name(), ws, os[0], os)
	}
	dt := output.Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, errors.Errorf("losses: %s: output dtype %v is not Float32 or Float64", name, dt)
	}
	if target.Dtype() != dt || rowWeights.Dtype() != dt {
		return nil, errors.Errorf("losses: %s: dtypes differ: output %v, target %v, row weights %v", name, dt, target.Dtype(), rowWeights.Dtype())
	}
	if s != nil && s.Dtype() != dt {
		return nil, errors.Errorf("losses: %s: output dtype %v, the scope %v", name, dt, s.Dtype())
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, errors.Errorf("losses: %s: gorgonia panicked: %v", name, r)
		}
	}()
	n, err = G.ApplyOp(rowLossOp{kind: l.kind}, output, target, rowWeights)
	return n, errors.WithMessage(err, "losses: "+name)
}
