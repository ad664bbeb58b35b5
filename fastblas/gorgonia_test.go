package fastblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The interfaces gorgonia.Use and tensor.Use take.
var (
	_ G.BLAS      = (*Implementation)(nil)
	_ tensor.BLAS = (*Implementation)(nil)
)

// mlpLayer builds y = x·w and the gradients of sum(tanh(y)) with respect to
// x and w, which Gorgonia computes with transposed products (dW = xᵀ·dY,
// dX = dY·wᵀ), runs it once and returns y, dx and dw.
func mlpLayer(t *testing.T, x, w *tensor.Dense) (y, dx, dw []float32) {
	t.Helper()
	g := G.NewGraph()
	xn := G.NewMatrix(g, G.Float32, G.WithShape(x.Shape()...), G.WithName("x"), G.WithValue(x.Clone()))
	wn := G.NewMatrix(g, G.Float32, G.WithShape(w.Shape()...), G.WithName("w"), G.WithValue(w.Clone()))
	yn := G.Must(G.Mul(xn, wn))
	loss := G.Must(G.Sum(G.Must(G.Tanh(yn))))
	if _, err := G.Grad(loss, xn, wn); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	grad := func(n *G.Node) []float32 {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), gv.Data().([]float32)...)
	}
	return append([]float32(nil), yn.Value().Data().([]float32)...), grad(xn), grad(wn)
}

// TestGorgoniaAfterInstall runs the same graph with gonum's BLAS and after
// Install, and compares the product and both gradients.
func TestGorgoniaAfterInstall(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	random := func(rows, cols int) *tensor.Dense {
		d := make([]float32, rows*cols)
		for i := range d {
			d[i] = float32(r.NormFloat64() * 0.1)
		}
		return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(d))
	}
	x, w := random(64, 784), random(784, 128)

	before := G.WhichBLAS()
	defer G.Use(before)
	G.Use(gonum.Implementation{})
	y0, dx0, dw0 := mlpLayer(t, x, w)

	impl := Install(WithThreads(2))
	if G.WhichBLAS() != G.BLAS(impl) || tensor.WhichBLAS() != tensor.BLAS(impl) {
		t.Fatal("Install did not make the Implementation Gorgonia's and tensor's BLAS")
	}
	y1, dx1, dw1 := mlpLayer(t, x, w)

	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"x·w", y1, y0}, {"dx", dx1, dx0}, {"dw", dw1, dw0}} {
		var maxDiff, maxAbs float64
		for i := range c.want {
			maxDiff = math.Max(maxDiff, math.Abs(float64(c.got[i]-c.want[i])))
			maxAbs = math.Max(maxAbs, math.Abs(float64(c.want[i])))
		}
		if maxDiff > 1e-5*maxAbs {
			t.Errorf("%s: max difference %g from gonum's result (max |value| %g)", c.name, maxDiff, maxAbs)
		}
	}
}
