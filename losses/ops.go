package losses

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// lossKind selects the per-row loss of rowLossOp.
type lossKind uint8

const (
	crossEntropy lossKind = iota
	meanSquared
)

func (k lossKind) String() string {
	if k == crossEntropy {
		return "SoftmaxCrossEntropy"
	}
	return "MeanSquaredError"
}

type float = opkit.Float

// rowLossOp computes Σᵢ wᵢ·lossᵢ(oᵢ, tᵢ) from output (N, C), target (N, C)
// and weights (N) in one pass. Rows of weight 0 are skipped, so that
// whatever a padded row holds (even NaN) neither counts nor spreads.
type rowLossOp struct {
	opkit.Pure
	kind lossKind
}

func (op rowLossOp) Arity() int { return 3 }
func (op rowLossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m, v := G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(m, m, v, a)
}
func (op rowLossOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op rowLossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op.kind) }
func (op rowLossOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op rowLossOp) String() string        { return op.kind.String() }

// Do returns the loss as a Gorgonia scalar (*G.F32 or *G.F64), as
// Gorgonia's own full reductions do: other ops (adding a penalty, scaling)
// reject a zero-dimensional tensor in a scalar's place.
func (op rowLossOp) Do(vals ...G.Value) (G.Value, error) {
	o, t, w, err := lossArgs(op.String(), vals)
	if err != nil {
		return nil, err
	}
	cols := o.Shape()[1]
	switch os := o.Data().(type) {
	case []float32:
		l := rowLoss(op.kind, cols, os, t.Data().([]float32), w.Data().([]float32))
		return G.NewF32(float32(l)), nil
	case []float64:
		l := rowLoss(op.kind, cols, os, t.Data().([]float64), w.Data().([]float64))
		return G.NewF64(l), nil
	}
	return nil, errors.Errorf("losses: %v: unsupported dtype %v", op, o.Dtype())
}

// DiffWRT: only the output is differentiated; targets and weights are data.
func (op rowLossOp) DiffWRT(int) []bool { return []bool{true, false, false} }

func (op rowLossOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 3 {
		return nil, errors.Errorf("losses: %v has %d inputs, want 3", op, len(in))
	}
	diff := rowLossDiffOp{kind: op.kind, out: opkit.NewOutput()}
	do, err := G.ApplyOp(diff, in[0], in[1], in[2], grad)
	return G.Nodes{do, nil, nil}, err
}

// rowLossDiffOp computes dL/do from o, t, w and the upstream scalar
// gradient, recomputing what it needs from o so the forward pass keeps
// nothing.
type rowLossDiffOp struct {
	opkit.Pure
	kind lossKind
	out  *opkit.Output
}

func (op rowLossDiffOp) Arity() int { return 4 }
func (op rowLossDiffOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m, v := G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(m, m, v, a, m)
}
func (op rowLossDiffOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) == 0 {
		return nil, errors.Errorf("losses: %v got no inputs", op)
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("losses: %v: output has no static shape", op)
	}
	return s.Clone(), nil
}
func (op rowLossDiffOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%vDiff", op.kind) }
func (op rowLossDiffOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op rowLossDiffOp) String() string        { return op.kind.String() + "Diff" }
func (op rowLossDiffOp) Do(vals ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(nil, vals...)
}

// UsePreallocDo writes into prealloc when the machine offers one.
func (op rowLossDiffOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	name := op.String()
	if len(vals) != 4 {
		return nil, errors.Errorf("losses: %s got %d inputs, want 4", name, len(vals))
	}
	o, t, w, err := lossArgs(name, vals[:3])
	if err != nil {
		return nil, err
	}
	up, err := scalarOf(name, vals[3])
	if err != nil {
		return nil, err
	}
	d := op.out.Like(prealloc, o)
	cols := o.Shape()[1]
	switch os := o.Data().(type) {
	case []float32:
		rowLossGrad(op.kind, cols, up, os, t.Data().([]float32), w.Data().([]float32), d.Data().([]float32))
	case []float64:
		rowLossGrad(op.kind, cols, up, os, t.Data().([]float64), w.Data().([]float64), d.Data().([]float64))
	}
	return d, nil
}

// lossArgs checks and returns the output, target and weight values.
func lossArgs(op string, vals []G.Value) (o, t, w *tensor.Dense, err error) {
	if len(vals) != 3 {
		return nil, nil, nil, errors.Errorf("losses: %s got %d inputs, want 3", op, len(vals))
	}
	ds := make([]*tensor.Dense, 3)
	for i, v := range vals {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, nil, nil, errors.Errorf("losses: %s input %d is a %T, want a *tensor.Dense", op, i, v)
		}
		ds[i] = d
	}
	o, t, w = ds[0], ds[1], ds[2]
	os := o.Shape()
	if len(os) != 2 || os[1] < 1 || !os.Eq(t.Shape()) || len(w.Shape()) != 1 || w.Shape()[0] != os[0] {
		return nil, nil, nil, errors.Errorf("losses: %s: output %v, target %v, weights %v; want (N, C), (N, C), (N)", op, os, t.Shape(), w.Shape())
	}
	dt := o.Dtype()
	if (dt != tensor.Float32 && dt != tensor.Float64) || t.Dtype() != dt || w.Dtype() != dt {
		return nil, nil, nil, errors.Errorf("losses: %s: dtypes %v, %v, %v; want one of Float32, Float64 for all", op, dt, t.Dtype(), w.Dtype())
	}
	return o, t, w, nil
}

// scalarOf reads the upstream gradient, which Gorgonia passes as a scalar
// value or a one-element tensor.
func scalarOf(op string, v G.Value) (float64, error) {
	switch x := v.(type) {
	case *G.F64:
		return float64(*x), nil
	case *G.F32:
		return float64(*x), nil
	}
	if v != nil {
		switch d := v.Data().(type) {
		case float64:
			return d, nil
		case float32:
			return float64(d), nil
		case []float64:
			if len(d) == 1 {
				return d[0], nil
			}
		case []float32:
			if len(d) == 1 {
				return float64(d[0]), nil
			}
		}
	}
	return 0, errors.Errorf("losses: %s: upstream gradient %v is not a scalar", op, v)
}

// rowStats returns a row's maximum and log Σ exp(o − max).
func rowStats[T float](o []T) (m T, logSum float64) {
	m = o[0]
	for _, v := range o[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for _, v := range o {
		s += math.Exp(float64(v) - float64(m))
	}
	return m, math.Log(s)
}

// rowLoss is the forward pass, accumulated in float64.
func rowLoss[T float](kind lossKind, cols int, o, t, w []T) float64 {
	var total float64
	for i, wi := range w {
		if wi == 0 {
			continue
		}
		or, tr := o[i*cols:(i+1)*cols], t[i*cols:(i+1)*cols]
		var l float64
		switch kind {
		case crossEntropy:
			// −Σ t·(o − m − log Σ e^(o−m)), with zero targets skipped so
			// that a −Inf logit of an impossible class costs nothing.
			m, ls := rowStats(or)
			for c, tc := range tr {
				if tc != 0 {
					l -= float64(tc) * (float64(or[c]) - float64(m) - ls)
				}
			}
		case meanSquared:
			for c, tc := range tr {
				d := float64(or[c]) - float64(tc)
				l += d * d
			}
			l /= float64(cols)
		}
		total += float64(wi) * l
	}
	return total
}

// rowLossGrad is the backward pass: d = upstream·dL/do.
func rowLossGrad[T float](kind lossKind, cols int, up float64, o, t, w, d []T) {
	for i, wi := range w {
		or, tr, dr := o[i*cols:(i+1)*cols], t[i*cols:(i+1)*cols], d[i*cols:(i+1)*cols]
		if wi == 0 {
			clear(dr)
			continue
		}
		k := up * float64(wi)
		switch kind {
		case crossEntropy:
			// dr first holds e^(o−max), so each exponential is taken once.
			m := or[0]
			for _, v := range or[1:] {
				if v > m {
					m = v
				}
			}
			var sum, tsum float64
			for c, v := range or {
				e := math.Exp(float64(v) - float64(m))
				dr[c] = T(e)
				sum += e
				tsum += float64(tr[c])
			}
			k *= tsum / sum // softmax·Σt = e·Σt/Σe
			kt := up * float64(wi)
			for c, e := range dr {
				dr[c] = T(k*float64(e) - kt*float64(tr[c]))
			}
		case meanSquared:
			k *= 2 / float64(cols)
			for c, v := range or {
				dr[c] = T(k * (float64(v) - float64(tr[c])))
			}
		}
	}
}

var (
	_ G.SDOp            = rowLossOp{}
	_ G.Op              = rowLossDiffOp{}
	_ G.UsePreallocDoer = rowLossDiffOp{}
)
