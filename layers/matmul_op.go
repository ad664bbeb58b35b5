package layers

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// matMulOp is the matrix product op(a)·op(b), where op transposes its
// operand when the flag says so. It makes the same BLAS call as Gorgonia's
// Mul (and its gradients the same calls as Gorgonia's), so its results are
// bit-identical to them; it exists for the buffer it keeps. Gorgonia's
// product allocates its result on every run, and for Dense's weight
// gradient that is the largest allocation of a training step (401 KB of
// the MNIST MLP's 588 KB).
type matMulOp struct {
	opkit.Pure
	transA, transB bool
	out            *opkit.Output
}

// newMatMul returns a product op with its own result buffer.
func newMatMul(transA, transB bool) matMulOp {
	return matMulOp{transA: transA, transB: transB, out: opkit.NewOutput()}
}

func (op matMulOp) Arity() int { return 2 }
func (op matMulOp) Type() hm.Type {
	m := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(m, m, m)
}

// dims returns the product's (m, n) and the shared k for operands of shapes
// a and b, or an error naming them.
func (op matMulOp) dims(a, b tensor.Shape) (m, n, k int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, errors.Errorf("layers: %v needs two matrices, got shapes %v and %v", op, a, b)
	}
	m, k = a[0], a[1]
	if op.transA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if op.transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, errors.Errorf("layers: %v: shapes %v and %v do not multiply (%d ≠ %d)", op, a, b, k, kb)
	}
	return m, n, k, nil
}

func (op matMulOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, err := shapeArg(op.String(), in, 0)
	if err != nil {
		return nil, err
	}
	b, err := shapeArg(op.String(), in, 1)
	if err != nil {
		return nil, err
	}
	m, n, _, err := op.dims(a, b)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{m, n}, nil
}
func (op matMulOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op) }
func (op matMulOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op matMulOp) String() string {
	name := "MatMul"
	if op.transA {
		name += "ᵀ·"
	} else {
		name += "·"
	}
	if op.transB {
		name += "ᵀ"
	}
	return name
}

func (op matMulOp) Do(vals ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vals...) }

// UsePreallocDo writes into prealloc when the machine offers one.
func (op matMulOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	name := op.String()
	a, err := rowMajorArg(name, vals, 0)
	if err != nil {
		return nil, err
	}
	b, err := rowMajorArg(name, vals, 1)
	if err != nil {
		return nil, err
	}
	if a.Dtype() != b.Dtype() {
		return nil, errors.Errorf("layers: %s: operands of dtypes %v and %v", name, a.Dtype(), b.Dtype())
	}
	m, n, k, err := op.dims(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	c := op.out.Get(prealloc, a.Dtype(), m, n)
	lda, ldb := a.Shape()[1], b.Shape()[1]
	switch as := a.Data().(type) {
	case []float32:
		gemm(op.transA, op.transB, m, n, k, 1, as, lda, b.Float32s(), ldb, 0, c.Float32s(), n)
	case []float64:
		gemm(op.transA, op.transB, m, n, k, 1, as, lda, b.Float64s(), ldb, 0, c.Float64s(), n)
	}
	return c, nil
}

// rowMajorArg is denseArg for an operand the BLAS reads in place: a
// transposed view is materialised first.
func rowMajorArg(op string, vals []G.Value, i int) (*tensor.Dense, error) {
	d, err := denseArg(op, vals, i)
	if err != nil {
		return nil, err
	}
	if d.IsMaterializable() || d.IsView() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return nil, errors.Errorf("layers: %s input %d cannot be laid out row-major", op, i)
		}
		d = m
	}
	return d, nil
}

func (op matMulOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: for z = op(a)·op(b), the products Gorgonia's Mul differentiates
// into, with the same operand order and transposes.
func (op matMulOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("layers: %v has %d inputs, want 2", op, len(in))
	}
	a, b := in[0], in[1]
	type product struct {
		transA, transB bool
		x, y           *G.Node
	}
	var da, db product
	switch {
	case !op.transA && !op.transB: // z = a·b
		da, db = product{false, true, grad, b}, product{true, false, a, grad}
	case !op.transA && op.transB: // z = a·bᵀ
		da, db = product{false, false, grad, b}, product{true, false, grad, a}
	case op.transA && !op.transB: // z = aᵀ·b
		da, db = product{false, true, b, grad}, product{false, false, a, grad}
	default: // z = aᵀ·bᵀ
		da, db = product{true, true, b, grad}, product{true, true, grad, a}
	}
	grads := make(G.Nodes, 2)
	for i, p := range []product{da, db} {
		g, err := G.ApplyOp(newMatMul(p.transA, p.transB), p.x, p.y)
		if err != nil {
			return nil, err
		}
		grads[i] = g
	}
	return grads, nil
}

// gemm is C = alpha·op(A)·op(B) + beta·C (row-major) on the BLAS installed
// with gorgonia.Use.
func gemm[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmOn(G.WhichBLAS(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmOn is gemm on the given BLAS.
func gemmOn[T float](impl G.BLAS, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		impl.Sgemm(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		impl.Dgemm(tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

var (
	_ G.SDOp            = matMulOp{}
	_ G.UsePreallocDoer = matMulOp{}
)
