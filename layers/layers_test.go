package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

func TestInitializerStatistics(t *testing.T) {
	const fanIn, fanOut, n = 50, 30, 200_000
	cases := []struct {
		name  string
		init  layers.Initializer
		bound float64 // 0: unbounded
		std   float64
	}{
		{"KaimingUniform(√5)", layers.KaimingUniform(math.Sqrt(5)), 1 / math.Sqrt(fanIn), 1 / math.Sqrt(3*fanIn)},
		{"LinearBiasUniform", layers.LinearBiasUniform, 1 / math.Sqrt(fanIn), 1 / math.Sqrt(3*fanIn)},
		{"GlorotUniform", layers.GlorotUniform, math.Sqrt(6.0 / (fanIn + fanOut)), math.Sqrt(2.0 / (fanIn + fanOut))},
		{"GlorotNormal", layers.GlorotNormal, 0, math.Sqrt(2.0 / (fanIn + fanOut))},
		{"HeUniform", layers.HeUniform, math.Sqrt(6.0 / fanIn), math.Sqrt(2.0 / fanIn)},
		{"HeNormal", layers.HeNormal, 0, math.Sqrt(2.0 / fanIn)},
		{"Uniform(1,3)", layers.Uniform(1, 3), 0, 1 / math.Sqrt(3)},
		{"Normal(0,0.5)", layers.Normal(0, 0.5), 0, 0.5},
	}
	for _, c := range cases {
		data := make([]float64, n)
		c.init(rand.New(rand.NewPCG(1, 2)), data, fanIn, fanOut)
		var mean, sq, maxAbs float64
		for _, v := range data {
			mean += v
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
		mean /= n
		for _, v := range data {
			sq += (v - mean) * (v - mean)
		}
		std := math.Sqrt(sq / n)
		if c.bound > 0 && maxAbs > c.bound {
			t.Errorf("%s: |w| reaches %v, above the bound %v", c.name, maxAbs, c.bound)
		}
		if c.bound > 0 && maxAbs < 0.99*c.bound {
			t.Errorf("%s: |w| only reaches %v of the bound %v", c.name, maxAbs, c.bound)
		}
		if math.Abs(std-c.std) > 0.01*c.std {
			t.Errorf("%s: std %v, want %v", c.name, std, c.std)
		}
	}
	zeros := []float32{1, 2}
	layers.Zeros(nil, zeros, 1, 1)
	ones := []float64{0, 0}
	layers.Constant(1)(nil, ones, 1, 1)
	if zeros[0] != 0 || zeros[1] != 0 || ones[0] != 1 || ones[1] != 1 {
		t.Errorf("Zeros gave %v, Constant(1) %v", zeros, ones)
	}
}

// build runs model.Forward on a fresh graph and returns the scope.
func build(t *testing.T, model layers.Layer, dt tensor.Dtype, training bool, seed uint64, ps *layers.ParamSet, shape ...int) (*layers.Scope, *G.Node) {
	t.Helper()
	s, err := layers.NewScope(G.NewGraph(), dt, training, shape[0], seed, ps)
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := s.Input("input", tensor.Shape(shape))
	if err != nil {
		t.Fatal(err)
	}
	y, err := model.Forward(s, x)
	if err != nil {
		t.Fatal(err)
	}
	return s, y
}

func TestSeededInitialisation(t *testing.T) {
	model := func() layers.Layer {
		return layers.Sequential(layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(5), layers.Dense(2))
	}
	a, _ := build(t, model(), tensor.Float64, true, 42, nil, 2, 1, 5, 5)
	b, _ := build(t, model(), tensor.Float64, true, 42, nil, 2, 1, 5, 5)
	c, _ := build(t, model(), tensor.Float64, true, 43, nil, 2, 1, 5, 5)
	f, _ := build(t, model(), tensor.Float32, true, 42, nil, 2, 1, 5, 5)
	for i, p := range a.Params().List() {
		av := p.Value.Data().([]float64)
		bv := b.Params().List()[i].Value.Data().([]float64)
		cv := c.Params().List()[i].Value.Data().([]float64)
		fv := f.Params().List()[i].Value.Data().([]float32)
		differs := false
		for j := range av {
			if av[j] != bv[j] {
				t.Fatalf("%s[%d]: same seed gave %v and %v", p.Name, j, av[j], bv[j])
			}
			if float32(av[j]) != fv[j] {
				t.Fatalf("%s[%d]: float32 %v is not float64 %v rounded", p.Name, j, fv[j], av[j])
			}
			differs = differs || av[j] != cv[j]
		}
		if !differs {
			t.Errorf("%s: seeds 42 and 43 gave the same values", p.Name)
		}
	}
}

func TestPyTorchDefaultBounds(t *testing.T) {
	s, _ := build(t, layers.Sequential(layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(7)), tensor.Float64, true, 1, nil, 1, 2, 6, 6)
	bounds := map[string]float64{
		"conv/weight": 1 / math.Sqrt(2*3*3), "conv/bias": 1 / math.Sqrt(2*3*3),
		"dense/weight": 1 / math.Sqrt(4*4*4), "dense/bias": 1 / math.Sqrt(4*4*4),
	}
	shapes := map[string]tensor.Shape{
		"conv/weight": {4, 2, 3, 3}, "conv/bias": {4}, "dense/weight": {64, 7}, "dense/bias": {7},
	}
	if got := len(s.Params().List()); got != len(bounds) {
		t.Fatalf("%d parameters, want %d", got, len(bounds))
	}
	for _, p := range s.Params().List() {
		b, ok := bounds[p.Name]
		if !ok {
			t.Fatalf("unexpected parameter %s", p.Name)
		}
		if !p.Value.Shape().Eq(shapes[p.Name]) {
			t.Errorf("%s has shape %v, want %v", p.Name, p.Value.Shape(), shapes[p.Name])
		}
		for _, v := range p.Value.Data().([]float64) {
			if math.Abs(v) > b {
				t.Errorf("%s holds %v, beyond PyTorch's bound %v", p.Name, v, b)
			}
		}
	}
}

func TestNamesAndSharedParameters(t *testing.T) {
	model := layers.Sequential(
		layers.Dense(4, layers.WithWeightInit(layers.GlorotUniform), layers.WithBiasInit(layers.Zeros)),
		layers.Dropout(0.5),
		layers.Sequential(layers.Dense(3, layers.WithoutBias()), layers.Dropout(0.5)),
		layers.Dense(2),
	)
	ps := layers.NewParamSet()
	train, _ := build(t, model, tensor.Float32, true, 1, ps, 8, 5)
	var names []string
	for _, p := range ps.List() {
		names = append(names, p.String())
	}
	want := "dense/weight(5, 4) dense/bias(4) dense_1/weight(4, 3) dense_2/weight(3, 2) dense_2/bias(2)"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("parameters %s, want %s", got, want)
	}
	var inputs []string
	for _, n := range train.Inputs() {
		inputs = append(inputs, n.Name())
	}
	if got := strings.Join(inputs, " "); got != "input dropout/mask dropout_1/mask" {
		t.Errorf("inputs %s", got)
	}
	if len(train.Hooks()) != 2 {
		t.Errorf("%d run hooks, want one per dropout", len(train.Hooks()))
	}
	for _, v := range ps.Get("dense/bias").Value.Data().([]float32) {
		if v != 0 {
			t.Errorf("WithBiasInit(Zeros) left bias %v", v)
		}
	}
	// The inference build over the same set wraps the same tensors and
	// has no dropout masks.
	infer, _ := build(t, model, tensor.Float32, false, 1, ps, 3, 5)
	if len(ps.List()) != 5 || len(infer.Hooks()) != 0 || len(infer.Inputs()) != 1 {
		t.Fatalf("inference build: %d params, %d hooks, %d inputs", len(ps.List()), len(infer.Hooks()), len(infer.Inputs()))
	}
	for _, p := range ps.List() {
		n := infer.Graph().ByName(p.Name)
		if len(n) != 1 || n[0].Value() != G.Value(p.Value) {
			t.Errorf("inference node of %s does not share the training tensor", p.Name)
		}
	}
	// A different architecture cannot reuse the set.
	s, _ := layers.NewScope(G.NewGraph(), tensor.Float32, false, 3, 1, ps)
	x, _, _ := s.Input("input", tensor.Shape{3, 5})
	if _, err := layers.Dense(6).Forward(s, x); err == nil || !strings.Contains(err.Error(), "dense/weight") {
		t.Errorf("shape change in the inference build: err = %v", err)
	}
}

func TestShapeAndParameterErrors(t *testing.T) {
	cases := []struct {
		name  string
		layer layers.Layer
		shape []int
		dtype tensor.Dtype
		want  string
	}{
		{"Dense on images", layers.Dense(3), []int{2, 1, 4, 4}, tensor.Float64, "Flatten"},
		{"Dense zero units", layers.Dense(0), []int{2, 4}, tensor.Float64, "units = 0"},
		{"Conv2D on a matrix", layers.Conv2D(2, 3), []int{2, 4}, tensor.Float64, "NCHW"},
		{"Conv2D kernel too big", layers.Conv2D(2, 5), []int{2, 1, 3, 3}, tensor.Float64, "larger than the padded image"},
		{"Conv2D stride 0", layers.Conv2D(2, 2, layers.WithStride(0)), []int{2, 1, 3, 3}, tensor.Float64, "stride = 0"},
		{"Conv2D negative padding", layers.Conv2D(2, 2, layers.WithPadding(-1)), []int{2, 1, 3, 3}, tensor.Float64, "padding = -1"},
		{"Conv2D zero filters", layers.Conv2D(0, 2), []int{2, 1, 3, 3}, tensor.Float64, "filters = 0"},
		{"MaxPool2D padding", layers.MaxPool2D(2, layers.WithPadding(2)), []int{1, 1, 4, 4}, tensor.Float64, "padding = 2"},
		{"MaxPool2D kernel 0", layers.MaxPool2D(0), []int{1, 1, 4, 4}, tensor.Float64, "kernel = 0"},
		{"Flatten on a vector", layers.Flatten(), []int{4}, tensor.Float64, "Flatten"},
		{"LeakyReLU NaN", layers.LeakyReLU(math.NaN()), []int{2, 2}, tensor.Float64, "alpha = NaN"},
		{"Sequential nil", layers.Sequential(layers.ReLU(), nil), []int{2, 2}, tensor.Float64, "layer 1 is nil"},
		{"Sequential names the layer", layers.Sequential(layers.ReLU(), layers.Dense(2)), []int{2, 3, 3}, tensor.Float32, "layer 1 (Dense(2))"},
	}
	for _, c := range cases {
		s, err := layers.NewScope(G.NewGraph(), c.dtype, true, c.shape[0], 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := s.Input("input", tensor.Shape(c.shape))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.layer.Forward(s, x)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// A float32 input in a float64 scope.
	s, _ := layers.NewScope(G.NewGraph(), tensor.Float64, true, 2, 1, nil)
	x := G.NewMatrix(s.Graph(), tensor.Float32, G.WithShape(2, 2), G.WithName("x32"))
	if _, err := layers.ReLU().Forward(s, x); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("dtype mismatch: err = %v", err)
	}
}

func TestDropoutValidation(t *testing.T) {
	for _, p := range []float64{-0.1, 1, 1.5, math.NaN(), math.Inf(1)} {
		s, _ := layers.NewScope(G.NewGraph(), tensor.Float64, true, 2, 1, nil)
		x, _, _ := s.Input("input", tensor.Shape{2, 3})
		_, err := layers.Dropout(p).Forward(s, x)
		if err == nil || !strings.Contains(err.Error(), "p = ") || !strings.Contains(err.Error(), "[0, 1)") {
			t.Errorf("Dropout(%v): err = %v, want one naming p and its range", p, err)
		}
	}
}

// masks builds a training scope for model on a (rows, cols) input and
// returns the dropout masks drawn for a step.
func masks(t *testing.T, model layers.Layer, seed uint64, step int64, rows, cols int) [][]float64 {
	t.Helper()
	s, _ := build(t, model, tensor.Float64, true, seed, nil, rows, cols)
	for _, h := range s.Hooks() {
		if err := h(step); err != nil {
			t.Fatal(err)
		}
	}
	var out [][]float64
	for _, n := range s.Inputs()[1:] {
		out = append(out, n.Value().Data().([]float64))
	}
	return out
}

func TestDropoutMasks(t *testing.T) {
	for _, p := range []float64{0.1, 0.5, 0.9} {
		m := masks(t, layers.Dropout(p), 1, 0, 400, 250)[0]
		dropped := 0
		for _, v := range m {
			switch v {
			case 0:
				dropped++
			case 1 / (1 - p):
			default:
				t.Fatalf("p=%v: mask holds %v, want 0 or %v", p, v, 1/(1-p))
			}
		}
		if frac := float64(dropped) / float64(len(m)); math.Abs(frac-p) > 0.005 {
			t.Errorf("p=%v: dropped fraction %v", p, frac)
		}
	}
	equal := func(a, b []float64) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	a := masks(t, layers.Dropout(0.5), 7, 3, 8, 8)[0]
	if b := masks(t, layers.Dropout(0.5), 7, 3, 8, 8)[0]; !equal(a, b) {
		t.Error("same seed and step gave different masks")
	}
	if b := masks(t, layers.Dropout(0.5), 7, 4, 8, 8)[0]; equal(a, b) {
		t.Error("steps 3 and 4 gave the same mask")
	}
	if b := masks(t, layers.Dropout(0.5), 8, 3, 8, 8)[0]; equal(a, b) {
		t.Error("seeds 7 and 8 gave the same mask")
	}
	// The mask depends on the layer's name, not on what was drawn before
	// it: a Dense in front (which draws its initial weights) changes
	// nothing.
	if b := masks(t, layers.Sequential(layers.Dense(8), layers.Dropout(0.5)), 7, 3, 8, 8)[0]; !equal(a, b) {
		t.Error("a layer drawn before the dropout changed its mask")
	}
	two := masks(t, layers.Sequential(layers.Dropout(0.5), layers.Dropout(0.5)), 7, 3, 8, 8)
	if equal(two[0], two[1]) {
		t.Error("two dropout layers drew the same mask")
	}
}

func TestDropoutIdentity(t *testing.T) {
	for _, c := range []struct {
		p        float64
		training bool
	}{{0.5, false}, {0, true}, {0, false}} {
		s, err := layers.NewScope(G.NewGraph(), tensor.Float32, c.training, 2, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _, _ := s.Input("input", tensor.Shape{2, 3})
		y, err := layers.Dropout(c.p).Forward(s, x)
		if err != nil {
			t.Fatal(err)
		}
		if y != x || len(s.Hooks()) != 0 {
			t.Errorf("Dropout(%v), training %v: not the identity", c.p, c.training)
		}
	}
}

func TestDescribe(t *testing.T) {
	model := layers.Sequential(layers.Conv2D(4, 3, layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2),
		layers.Flatten(), layers.Dense(10))
	got, err := layers.Describe(model, tensor.Float32, 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Conv2D(4, 3x3, stride 1, padding 1)", "(4, 28, 28)", "40", "(4, 14, 14)", "(784)", "7850", "total parameters: 7890"} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe lacks %q:\n%s", want, got)
		}
	}
	if _, err := layers.Describe(model, tensor.Float32, 5); err == nil {
		t.Error("Describe on a wrong input shape gave no error")
	}
	if s := model.(interface{ String() string }).String(); !strings.Contains(s, "4: Dense(10)") {
		t.Errorf("String() = %s", s)
	}
}

// TestSequentialFusesReLUIntoMaxPool: in a Sequential, a ReLU followed by
// a MaxPool2D becomes one fused node, and a CNN's output and parameter
// gradients are bit for bit those of the same network with the ReLU kept
// apart (nested in a Sequential of its own).
func TestSequentialFusesReLUIntoMaxPool(t *testing.T) {
	build := func(relu layers.Layer) (y *G.Node, grads G.Nodes, m G.VM, nodes string) {
		g := G.NewGraph()
		s, err := layers.NewScope(g, tensor.Float32, true, 3, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, xT, err := s.Input("input", tensor.Shape{3, 2, 9, 8})
		if err != nil {
			t.Fatal(err)
		}
		for i := range xT.Data().([]float32) {
			xT.Data().([]float32)[i] = float32(math.Sin(float64(i) * 0.7))
		}
		model := layers.Sequential(layers.Conv2D(4, 3, layers.WithPadding(1)), relu, layers.MaxPool2D(2), layers.Flatten(), layers.Dense(3))
		if y, err = model.Forward(s, x); err != nil {
			t.Fatal(err)
		}
		var learn G.Nodes
		for _, p := range s.Params().List() {
			learn = append(learn, p.Node)
		}
		if grads, err = G.Grad(G.Must(G.Sum(G.Must(G.Square(y)))), learn...); err != nil {
			t.Fatal(err)
		}
		m = G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return y, grads, m, fmt.Sprint(g.AllNodes())
	}
	fusedY, fusedGrads, fm, fusedNodes := build(layers.ReLU())
	defer fm.Close()
	apartY, apartGrads, am, apartNodes := build(layers.Sequential(layers.ReLU()))
	defer am.Close()
	if !strings.Contains(fusedNodes, "∘ReLU") || strings.Contains(apartNodes, "∘ReLU") {
		t.Fatalf("fused graph %s, separate graph %s: want the fused pooling only in the first", fusedNodes, apartNodes)
	}
	same := func(what string, a, b *G.Node) {
		av, bv := a.Value().Data().([]float32), b.Value().Data().([]float32)
		for i := range av {
			if math.Float32bits(av[i]) != math.Float32bits(bv[i]) {
				t.Fatalf("%s[%d]: %v fused, %v apart", what, i, av[i], bv[i])
			}
		}
	}
	same("output", fusedY, apartY)
	for i := range fusedGrads {
		same(fmt.Sprintf("gradient %d", i), fusedGrads[i], apartGrads[i])
	}
}
