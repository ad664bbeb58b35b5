package layers

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// biasAddOp adds a bias vector to every row of a (batch, units) matrix.
// Gorgonia's BroadcastAdd first repeats the bias into a full matrix (an
// allocation and a copy per step) and differentiates through a generic
// reduction; this op adds in place of the repeat, and its gradient is the
// upstream gradient itself for the matrix and a column sum for the bias.
// The arithmetic is the same element by element: y[i][j] = x[i][j] + b[j].
type biasAddOp struct {
	opkit.Pure
	out *opkit.Output
}

func (biasAddOp) Arity() int { return 2 }
func (biasAddOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m, v := G.TensorType{Dims: 2, Of: a}, G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(m, v, m)
}
func (op biasAddOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeArg(op.String(), in, 0)
	if err != nil {
		return nil, err
	}
	b, err := shapeArg(op.String(), in, 1)
	if err != nil {
		return nil, err
	}
	if len(x) != 2 || len(b) != 1 || b[0] != x[1] {
		return nil, errors.Errorf("layers: %v: input %v and bias %v, want (batch, n) and (n)", op, x, b)
	}
	return x.Clone(), nil
}
func (op biasAddOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op) }
func (op biasAddOp) Hashcode() uint32      { return opkit.Hash(op) }
func (biasAddOp) String() string           { return "BiasAdd" }

// Do returns x + b, row by row.
func (op biasAddOp) Do(vals ...G.Value) (G.Value, error) {
	x, err := denseArg(op.String(), vals, 0)
	if err != nil {
		return nil, err
	}
	b, err := denseArg(op.String(), vals, 1)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	if len(s) != 2 || !b.Shape().Eq(tensor.Shape{s[1]}) || b.Dtype() != x.Dtype() {
		return nil, errors.Errorf("layers: %v: input %v %v and bias %v %v, want (batch, n) and (n) of one dtype", op, s, x.Dtype(), b.Shape(), b.Dtype())
	}
	y := op.out.Like(nil, x)
	switch xs := x.Data().(type) {
	case []float32:
		addRows(xs, b.Float32s(), y.Float32s())
	case []float64:
		addRows(xs, b.Float64s(), y.Float64s())
	default:
		return nil, errors.Errorf("layers: %v: dtype %v is not supported", op, x.Dtype())
	}
	return y, nil
}

func (biasAddOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: ∂L/∂x is the upstream gradient; ∂L/∂b sums it over the rows.
func (op biasAddOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("layers: %v has %d inputs, want 2", op, len(in))
	}
	db, err := G.ApplyOp(newBiasGrad(2), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, db}, nil
}

// biasGradOp is the gradient of a bias added along axis 1: it sums a
// (batch, channels, …) gradient over every axis but the channel one, for
// Dense's (batch, units) and for Conv2D's NCHW alike. Images (rows) are
// added first to last; within one, a channel's positions are summed first.
type biasGradOp struct {
	opkit.Pure
	dims int // of the input: 2 for Dense, 4 for Conv2D
	out  *opkit.Output
}

// newBiasGrad returns a bias gradient op for inputs of dims axes, with its
// own result buffer.
func newBiasGrad(dims int) biasGradOp { return biasGradOp{dims: dims, out: opkit.NewOutput()} }

func (op biasGradOp) Arity() int { return 1 }
func (op biasGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.dims, Of: a}, G.TensorType{Dims: 1, Of: a})
}

// check returns an error unless s has the op's number of axes, at least 2.
func (op biasGradOp) check(s tensor.Shape) error {
	if len(s) != op.dims || op.dims < 2 {
		return errors.Errorf("layers: %v needs a %d-axis gradient, got shape %v", op, op.dims, s)
	}
	return nil
}

func (op biasGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeArg(op.String(), in, 0)
	if err != nil {
		return nil, err
	}
	if err := op.check(s); err != nil {
		return nil, err
	}
	return tensor.Shape{s[1]}, nil
}
func (op biasGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op) }
func (op biasGradOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op biasGradOp) String() string        { return fmt.Sprintf("BiasGrad%dD", op.dims) }

// Do sums the gradient into one value per channel.
func (op biasGradOp) Do(vals ...G.Value) (G.Value, error) {
	x, err := denseArg(op.String(), vals, 0)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	if err := op.check(s); err != nil {
		return nil, err
	}
	positions := s.TotalSize() / (s[0] * s[1])
	out := op.out.Get(nil, x.Dtype(), s[1])
	switch xs := x.Data().(type) {
	case []float32:
		sumChannels(xs, out.Float32s(), s[0], s[1], positions)
	case []float64:
		sumChannels(xs, out.Float64s(), s[0], s[1], positions)
	default:
		return nil, errors.Errorf("layers: %v: dtype %v is not supported", op, x.Dtype())
	}
	return out, nil
}

// addRows sets y = x + b for every row of x.
func addRows[T float](x, b, y []T) {
	n := len(b)
	for r := 0; r+n <= len(x); r += n {
		xr, yr := x[r:r+n], y[r:r+n]
		for j, v := range b {
			yr[j] = xr[j] + v
		}
	}
}

// sumChannels sets out[c] to the sum of x's (image, c) planes of p
// positions each, for n images of len(out) channels: images first to last,
// each plane summed on its own first (sumPlane). With one position per
// plane (Dense) that is adding the rows, first to last, and the loop does
// exactly that. Large inputs (a convolution's gradient) are split over the
// threads by channel, each channel summed in the same order as on one.
func sumChannels[T float](x, out []T, n, channels, p int) {
	if p == 1 {
		clear(out)
		for r := 0; r+channels <= len(x); r += channels {
			for j, v := range x[r : r+channels] {
				out[j] += v
			}
		}
		return
	}
	if blasThreads() <= 1 || len(x) < parallelElems || channels < 2 {
		sumPlanes(x, out, n, channels, p, 0, channels)
		return
	}
	pool := poolOf[T](&sumJobs)
	j := pool.Get().(*sumJob[T])
	j.x, j.out, j.n, j.channels, j.pos = x, out, n, channels, p
	j.run(j, channels)
	j.x, j.out = nil, nil
	pool.Put(j)
}

// sumPlanes does sumChannels for channels [lo, hi).
func sumPlanes[T float](x, out []T, n, channels, p, lo, hi int) {
	clear(out[lo:hi])
	for i := 0; i < n; i++ {
		for c := lo; c < hi; c++ {
			out[c] += sumPlane(x[(i*channels+c)*p : (i*channels+c+1)*p])
		}
	}
}

// sumPlane sums v in four interleaved partial sums, (s0+s1)+(s2+s3), then
// the last len(v) mod 4 values in order: one running sum waits for each
// addition to finish (4 cycles), four keep the adder busy, which made the
// bias gradient of the MNIST CNN's convolutions about 3× faster.
func sumPlane[T float](v []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i]
		s1 += v[i+1]
		s2 += v[i+2]
		s3 += v[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(v); i++ {
		s += v[i]
	}
	return s
}

var (
	_ G.SDOp = biasAddOp{}
	_ G.Op   = biasGradOp{}
)
