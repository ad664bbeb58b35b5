package layers_test

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// gradCase is a layer whose gradients are checked on an input of a shape.
type gradCase struct {
	name  string
	layer layers.Layer
	shape tensor.Shape
	// fill sets the input; nil draws from U(−2, 2).
	fill func(x []float64, rng *rand.Rand)
}

// checkGradients builds cost = Σ layer(x) ⊙ r for a fixed random r in
// float64, and compares the analytic gradients of x and of every parameter
// with central finite differences.
func checkGradients(t *testing.T, c gradCase) {
	t.Helper()
	g := G.NewGraph()
	s, err := layers.NewScope(g, tensor.Float64, true, c.shape[0], 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, xT, err := s.Input("input", c.shape)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	xs := xT.Data().([]float64)
	if c.fill != nil {
		c.fill(xs, rng)
	} else {
		for i := range xs {
			xs[i] = 4*rng.Float64() - 2
		}
	}
	y, err := c.layer.Forward(s, x)
	if err != nil {
		t.Fatal(err)
	}
	r, rT, err := s.Input("r", y.Shape().Clone())
	if err != nil {
		t.Fatal(err)
	}
	for i := range rT.Data().([]float64) {
		rT.Data().([]float64)[i] = 2*rng.Float64() - 1
	}
	prod, err := G.HadamardProd(y, r)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	wrt := G.Nodes{x}
	vals := [][]float64{xs}
	names := []string{"input"}
	for _, p := range s.Params().List() {
		wrt = append(wrt, p.Node)
		vals = append(vals, p.Value.Data().([]float64))
		names = append(names, p.Name)
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	for _, h := range s.Hooks() {
		if err := h(0); err != nil {
			t.Fatal(err)
		}
	}
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return cost.Value().Data().(float64)
	}
	run()
	analytic := make([][]float64, len(grads))
	for i, gn := range grads {
		analytic[i] = append([]float64(nil), gn.Value().Data().([]float64)...)
	}
	const h = 1e-6
	for i, v := range vals {
		for j := range v {
			orig := v[j]
			v[j] = orig + h
			up := run()
			v[j] = orig - h
			down := run()
			v[j] = orig
			num := (up - down) / (2 * h)
			got := analytic[i][j]
			if err := math.Abs(got-num) / math.Max(1, math.Abs(num)); err > 1e-6 || math.IsNaN(got) {
				t.Errorf("%s: d cost/d %s[%d] = %.10g, finite differences %.10g", c.name, names[i], j, got, num)
			}
		}
	}
}

// awayFromZero keeps inputs out of the kinks of ReLU-like functions.
func awayFromZero(x []float64, rng *rand.Rand) {
	for i := range x {
		v := 0.1 + 1.9*rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		x[i] = v
	}
}

// gaps puts logits hundreds apart within each row.
func gaps(x []float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float64(rng.IntN(7)-3)*150 + rng.Float64()
	}
}

func TestGradients(t *testing.T) {
	cases := []gradCase{
		{name: "Dense", layer: layers.Dense(4), shape: tensor.Shape{3, 5}},
		{name: "Dense without bias", layer: layers.Dense(2, layers.WithoutBias()), shape: tensor.Shape{3, 4}},
		{name: "ReLU", layer: layers.ReLU(), shape: tensor.Shape{3, 4}, fill: awayFromZero},
		{name: "LeakyReLU", layer: layers.LeakyReLU(0.1), shape: tensor.Shape{3, 4}, fill: awayFromZero},
		{name: "ELU", layer: layers.ELU(1), shape: tensor.Shape{3, 4}, fill: awayFromZero},
		{name: "ELU alpha 0.5", layer: layers.ELU(0.5), shape: tensor.Shape{3, 4}, fill: awayFromZero},
		{name: "Sigmoid", layer: layers.Sigmoid(), shape: tensor.Shape{3, 4}},
		{name: "Tanh", layer: layers.Tanh(), shape: tensor.Shape{3, 4}},
		{name: "Softmax", layer: layers.Softmax(), shape: tensor.Shape{3, 4}},
		{name: "LogSoftmax", layer: layers.LogSoftmax(), shape: tensor.Shape{3, 4}},
		{name: "Softmax gaps", layer: layers.Softmax(), shape: tensor.Shape{4, 5}, fill: gaps},
		{name: "LogSoftmax gaps", layer: layers.LogSoftmax(), shape: tensor.Shape{4, 5}, fill: gaps},
		{name: "Flatten+Dense", layer: layers.Sequential(layers.Flatten(), layers.Dense(3)), shape: tensor.Shape{2, 2, 3, 3}},
		{name: "Conv2D", layer: layers.Conv2D(3, 3, layers.WithPadding(1)), shape: tensor.Shape{2, 2, 5, 5}},
		{name: "Conv2D stride 2", layer: layers.Conv2D(2, 2, layers.WithStride(2)), shape: tensor.Shape{2, 1, 5, 4}},
		{name: "Conv2D padding wider than the image", layer: layers.Conv2D(2, 5, layers.WithPadding(2)), shape: tensor.Shape{2, 1, 1, 2}},
		{name: "MaxPool2D", layer: layers.MaxPool2D(2), shape: tensor.Shape{2, 2, 4, 5}},
		{name: "MaxPool2D overlapping padded", layer: layers.MaxPool2D(3, layers.WithStride(2), layers.WithPadding(1)), shape: tensor.Shape{2, 2, 5, 5}},
		{name: "Dropout", layer: layers.Dropout(0.3), shape: tensor.Shape{4, 6}},
		{name: "MLP", layer: layers.Sequential(layers.Dense(6), layers.Tanh(), layers.Dropout(0.5), layers.Dense(3), layers.LogSoftmax()), shape: tensor.Shape{4, 5}},
		{name: "CNN", layer: layers.Sequential(
			layers.Conv2D(2, 3, layers.WithPadding(1)), layers.ELU(1), layers.MaxPool2D(2),
			layers.Flatten(), layers.Dense(3), layers.Sigmoid()), shape: tensor.Shape{2, 1, 4, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGradients(t, c) })
	}
}

// run builds layer on a float input of the given values and returns the
// output after one run.
func run(t *testing.T, dt tensor.Dtype, layer layers.Layer, shape tensor.Shape, xs any) *tensor.Dense {
	t.Helper()
	g := G.NewGraph()
	s, err := layers.NewScope(g, dt, true, shape[0], 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, xT, err := s.Input("input", shape)
	if err != nil {
		t.Fatal(err)
	}
	switch d := xT.Data().(type) {
	case []float32:
		copy(d, xs.([]float32))
	case []float64:
		copy(d, xs.([]float64))
	}
	y, err := layer.Forward(s, x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return y.Value().(*tensor.Dense)
}

func TestSoftmaxLargeGapsFloat32(t *testing.T) {
	// Gorgonia's SoftMax gives NaN for the second row: its running maximum
	// starts at the tensor's first element, not the row's.
	x := []float32{0, 0, 100, 0, -1000, 1000}
	soft := run(t, tensor.Float32, layers.Softmax(), tensor.Shape{3, 2}, x).Data().([]float32)
	logs := run(t, tensor.Float32, layers.LogSoftmax(), tensor.Shape{3, 2}, x).Data().([]float32)
	wantSoft := []float32{0.5, 0.5, 1, float32(math.Exp(-100)), 0, 1}
	wantLog := []float32{float32(-math.Ln2), float32(-math.Ln2), 0, -100, -2000, 0}
	for i := range x {
		if math.Abs(float64(soft[i]-wantSoft[i])) > 1e-7 {
			t.Errorf("Softmax[%d] = %v, want %v", i, soft[i], wantSoft[i])
		}
		if math.Abs(float64(logs[i]-wantLog[i])) > 1e-5*math.Max(1, math.Abs(float64(wantLog[i]))) {
			t.Errorf("LogSoftmax[%d] = %v, want %v", i, logs[i], wantLog[i])
		}
	}
}

func TestActivationValues(t *testing.T) {
	x := []float64{-2, -0.5, 0, 0.5, 3}
	cases := []struct {
		layer layers.Layer
		f     func(float64) float64
	}{
		{layers.ReLU(), func(v float64) float64 { return math.Max(v, 0) }},
		{layers.LeakyReLU(0.01), func(v float64) float64 { return map[bool]float64{true: v, false: 0.01 * v}[v > 0] }},
		{layers.ELU(1.5), func(v float64) float64 { return map[bool]float64{true: v, false: 1.5 * (math.Exp(v) - 1)}[v > 0] }},
		{layers.Sigmoid(), func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{layers.Tanh(), math.Tanh},
	}
	for _, c := range cases {
		got := run(t, tensor.Float64, c.layer, tensor.Shape{1, 5}, x).Data().([]float64)
		for i, v := range x {
			if want := c.f(v); math.Abs(got[i]-want) > 1e-15 {
				t.Errorf("%v(%v) = %v, want %v", c.layer, v, got[i], want)
			}
		}
	}
	// Sigmoid saturates without overflow in float32.
	big := run(t, tensor.Float32, layers.Sigmoid(), tensor.Shape{1, 2}, []float32{-200, 200}).Data().([]float32)
	if big[0] != 0 || big[1] != 1 {
		t.Errorf("Sigmoid(±200) = %v, want [0 1]", big)
	}
}

func TestMaxPoolValuesAndNaN(t *testing.T) {
	x := []float64{
		1, 2, 5, 0,
		3, 4, 1, 1,
		math.NaN(), 0, -1, -2,
		7, 0, -3, -4,
	}
	got := run(t, tensor.Float64, layers.MaxPool2D(2), tensor.Shape{1, 1, 4, 4}, x).Data().([]float64)
	want := []float64{4, 5, math.NaN(), -1}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("pool[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	// The backward pass with a NaN input must not panic (Gorgonia's does).
	g := G.NewGraph()
	s, _ := layers.NewScope(g, tensor.Float64, true, 1, 1, nil)
	in, inT, _ := s.Input("input", tensor.Shape{1, 1, 4, 4})
	copy(inT.Data().([]float64), x)
	y, err := layers.MaxPool2D(2).Forward(s, in)
	if err != nil {
		t.Fatal(err)
	}
	cost := G.Must(G.Sum(y))
	grads, err := G.Grad(cost, in)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	dx := grads[0].Value().Data().([]float64)
	if dx[8] != 1 || dx[5] != 1 || dx[2] != 1 || dx[10] != 1 || sum(dx) != 4 {
		t.Errorf("pool gradient = %v, want 1 at each window's winner", dx)
	}
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func TestOpsDoNotMerge(t *testing.T) {
	// Gorgonia merges nodes whose ops hash alike over the same children;
	// its LogSoftMax built after SoftMax returns the SoftMax node.
	g := G.NewGraph()
	s, _ := layers.NewScope(g, tensor.Float64, true, 2, 1, nil)
	x, _, _ := s.Input("input", tensor.Shape{2, 3})
	pairs := [][2]layers.Layer{
		{layers.Softmax(), layers.LogSoftmax()},
		{layers.LeakyReLU(0.1), layers.LeakyReLU(0.2)},
		{layers.ELU(1), layers.LeakyReLU(1)},
		{layers.Sigmoid(), layers.Tanh()},
	}
	for _, p := range pairs {
		a, err := p[0].Forward(s, x)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p[1].Forward(s, x)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Errorf("%v and %v share a node", p[0], p[1])
		}
	}
}
