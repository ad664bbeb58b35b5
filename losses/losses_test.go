package losses_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/losses"
)

// lossGraph is a loss over bound output, target and weight inputs.
type lossGraph struct {
	s                *layers.Scope
	out, loss        *G.Node
	outT, tgtT, rowT *tensor.Dense
}

func newLossGraph(t testing.TB, l losses.Loss, dt tensor.Dtype, rows, cols int) *lossGraph {
	t.Helper()
	s, err := layers.NewScope(G.NewGraph(), dt, true, rows, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	lg := &lossGraph{s: s}
	var tgt, w *G.Node
	lg.out, lg.outT, _ = s.Input("output", tensor.Shape{rows, cols})
	tgt, lg.tgtT, _ = s.Input("target", tensor.Shape{rows, cols})
	w, lg.rowT, _ = s.Input("row_weights", tensor.Shape{rows})
	if lg.loss, err = l.Forward(s, lg.out, tgt, w); err != nil {
		t.Fatal(err)
	}
	return lg
}

// set copies float64 values into a tensor of either dtype.
func set(d *tensor.Dense, v []float64) {
	switch x := d.Data().(type) {
	case []float32:
		for i := range v {
			x[i] = float32(v[i])
		}
	case []float64:
		copy(x, v)
	}
}

func oneHot(labels []int, classes int) []float64 {
	t := make([]float64, len(labels)*classes)
	for i, l := range labels {
		t[i*classes+l] = 1
	}
	return t
}

func mean(rows int) []float64 {
	w := make([]float64, rows)
	for i := range w {
		w[i] = 1 / float64(rows)
	}
	return w
}

// value runs the loss and returns its value and dL/doutput.
func (lg *lossGraph) value(t testing.TB) (float64, []float64) {
	t.Helper()
	grads, err := G.Grad(lg.loss, lg.out)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(lg.s.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var l float64
	switch v := lg.loss.Value().Data().(type) {
	case float32:
		l = float64(v)
	case float64:
		l = v
	}
	var g []float64
	switch d := grads[0].Value().Data().(type) {
	case []float32:
		for _, v := range d {
			g = append(g, float64(v))
		}
	case []float64:
		g = d
	}
	return l, g
}

func TestPyTorchValues(t *testing.T) {
	// torch.nn.CrossEntropyLoss()(torch.tensor([[1.,2,3],[1,-1,0]]),
	// torch.tensor([2,0])): both rows are log(1+e⁻¹+e⁻²) = 0.40760596….
	xent := math.Log(1 + math.Exp(-1) + math.Exp(-2))
	cases := []struct {
		name       string
		loss       losses.Loss
		out, tgt   []float64
		rows, cols int
		want       float64
	}{
		{"cross-entropy", losses.SoftmaxCrossEntropy(), []float64{1, 2, 3, 1, -1, 0}, oneHot([]int{2, 0}, 3), 2, 3, xent},
		// torch.nn.MSELoss()([[1,2],[3,4]], [[0,2],[5,3]]) = (1+0+4+1)/4.
		{"mse", losses.MeanSquaredError(), []float64{1, 2, 3, 4}, []float64{0, 2, 5, 3}, 2, 2, 1.5},
	}
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			lg := newLossGraph(t, c.loss, dt, c.rows, c.cols)
			set(lg.outT, c.out)
			set(lg.tgtT, c.tgt)
			set(lg.rowT, mean(c.rows))
			got, _ := lg.value(t)
			tol := 1e-15
			if dt == tensor.Float32 {
				tol = 1e-7
			}
			if math.Abs(got-c.want) > tol {
				t.Errorf("%s %v: loss %.17g, want %.17g", c.name, dt, got, c.want)
			}
		}
	}
}

func TestCrossEntropyLargeLogitGapsFloat32(t *testing.T) {
	// Row 0: the right class is 100 behind; row 1: 2000 ahead of the wrong
	// one; row 2: the right class wins by 1000 (loss 0).
	lg := newLossGraph(t, losses.SoftmaxCrossEntropy(), tensor.Float32, 3, 2)
	set(lg.outT, []float64{0, 100, 1000, -1000, -500, 500})
	set(lg.tgtT, oneHot([]int{0, 1, 1}, 2))
	set(lg.rowT, []float64{1, 1, 1})
	got, grad := lg.value(t)
	if want := 100.0 + 2000; math.Abs(got-want) > 1e-4 {
		t.Errorf("loss %v, want %v", got, want)
	}
	want := []float64{-1, 1, 1, -1, 0, 0}
	for i, g := range grad {
		if math.Abs(g-want[i]) > 1e-6 {
			t.Errorf("grad[%d] = %v, want %v", i, g, want[i])
		}
	}
}

func TestZeroWeightRowsAreIgnored(t *testing.T) {
	for _, l := range []losses.Loss{losses.SoftmaxCrossEntropy(), losses.MeanSquaredError()} {
		lg := newLossGraph(t, l, tensor.Float64, 3, 2)
		nan := math.NaN()
		set(lg.outT, []float64{1, 2, nan, nan, 3, -1})
		set(lg.tgtT, []float64{1, 0, 0, 1, 0, 1})
		set(lg.rowT, []float64{0.5, 0, 0.5})
		got, grad := lg.value(t)
		if math.IsNaN(got) || grad[2] != 0 || grad[3] != 0 || math.IsNaN(grad[0]) {
			t.Errorf("%v: padded NaN row leaked: loss %v, grad %v", l, got, grad)
		}
	}
}

func TestGradients(t *testing.T) {
	const rows, cols, h = 4, 5, 1e-6
	rng := rand.New(rand.NewPCG(5, 6))
	soft := make([]float64, rows*cols)
	for i := range rows {
		var s float64
		for c := range cols {
			soft[i*cols+c] = rng.Float64()
			s += soft[i*cols+c]
		}
		for c := range cols {
			soft[i*cols+c] /= s
		}
	}
	cases := []struct {
		name    string
		loss    losses.Loss
		target  []float64
		weights []float64
		scale   float64 // logits spread
	}{
		{"cross-entropy one-hot", losses.SoftmaxCrossEntropy(), oneHot([]int{0, 3, 4, 1}, cols), mean(rows), 3},
		{"cross-entropy soft, weighted", losses.SoftmaxCrossEntropy(), soft, []float64{0.1, 0.7, 0, 0.2}, 3},
		{"cross-entropy gaps of hundreds", losses.SoftmaxCrossEntropy(), oneHot([]int{2, 2, 0, 1}, cols), mean(rows), 300},
		{"mse", losses.MeanSquaredError(), soft, []float64{0.3, 0.2, 0.1, 0.4}, 3},
	}
	for _, c := range cases {
		lg := newLossGraph(t, c.loss, tensor.Float64, rows, cols)
		o := lg.outT.Data().([]float64)
		for i := range o {
			o[i] = c.scale * (2*rng.Float64() - 1)
		}
		set(lg.tgtT, c.target)
		set(lg.rowT, c.weights)
		// A non-unit upstream gradient checks that it is applied.
		scaled := G.Must(G.Mul(lg.loss, G.NewConstant(1.5)))
		grads, err := G.Grad(scaled, lg.out)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(lg.s.Graph())
		eval := func() float64 {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			return scaled.Value().Data().(float64)
		}
		eval()
		analytic := append([]float64(nil), grads[0].Value().Data().([]float64)...)
		for i := range o {
			orig := o[i]
			o[i] = orig + h
			up := eval()
			o[i] = orig - h
			down := eval()
			o[i] = orig
			num := (up - down) / (2 * h)
			if math.Abs(analytic[i]-num)/math.Max(1, math.Abs(num)) > 1e-6 {
				t.Errorf("%s: dL/do[%d] = %.10g, finite differences %.10g", c.name, i, analytic[i], num)
			}
		}
		m.Close()
	}
}

func TestShapeErrors(t *testing.T) {
	g := G.NewGraph()
	s, _ := layers.NewScope(g, tensor.Float64, true, 4, 1, nil)
	out, _, _ := s.Input("output", tensor.Shape{4, 3})
	tgt, _, _ := s.Input("target", tensor.Shape{4, 2})
	w, _, _ := s.Input("row_weights", tensor.Shape{4})
	w3, _, _ := s.Input("row_weights", tensor.Shape{3})
	vec, _, _ := s.Input("vector", tensor.Shape{4})
	tgt32 := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithName("t32"))
	good, _, _ := s.Input("target", tensor.Shape{4, 3})
	cases := []struct {
		name              string
		out, tgt, weights *G.Node
		want              []string
	}{
		{"target shape", out, tgt, w, []string{"(4, 2)", "(4, 3)"}},
		{"weights shape", out, good, w3, []string{"(3)", "(4, 3)"}},
		{"output rank", vec, vec, w, []string{"(4)", "(batch, outputs"}},
		{"dtype", out, tgt32, w, []string{"float32", "float64"}},
		{"nil", out, nil, w, []string{"non-nil"}},
	}
	for _, l := range []losses.Loss{losses.SoftmaxCrossEntropy(), losses.MeanSquaredError()} {
		for _, c := range cases {
			_, err := l.Forward(s, c.out, c.tgt, c.weights)
			if err == nil {
				t.Errorf("%v %s: no error", l, c.name)
				continue
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "losses: ") {
					t.Errorf("%v %s: err = %v, want one naming %q", l, c.name, err, want)
				}
			}
		}
	}
}

func TestLossesDoNotMerge(t *testing.T) {
	g := G.NewGraph()
	s, _ := layers.NewScope(g, tensor.Float64, true, 2, 1, nil)
	out, _, _ := s.Input("output", tensor.Shape{2, 3})
	tgt, _, _ := s.Input("target", tensor.Shape{2, 3})
	w, _, _ := s.Input("row_weights", tensor.Shape{2})
	a, _ := losses.SoftmaxCrossEntropy().Forward(s, out, tgt, w)
	b, _ := losses.MeanSquaredError().Forward(s, out, tgt, w)
	if a == nil || a == b {
		t.Error("cross-entropy and MSE share a node")
	}
}

func ExampleSoftmaxCrossEntropy() {
	g := G.NewGraph()
	s, _ := layers.NewScope(g, tensor.Float64, true, 2, 1, nil)
	logits, logitsT, _ := s.Input("logits", tensor.Shape{2, 3})
	target, targetT, _ := s.Input("target", tensor.Shape{2, 3})
	weights, weightsT, _ := s.Input("row_weights", tensor.Shape{2})
	copy(logitsT.Data().([]float64), []float64{1, 2, 3, 1, -1, 0})
	copy(targetT.Data().([]float64), []float64{0, 0, 1, 1, 0, 0}) // labels 2 and 0
	copy(weightsT.Data().([]float64), []float64{0.5, 0.5})        // the batch mean
	loss, err := losses.SoftmaxCrossEntropy().Forward(s, logits, target, weights)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", loss.Value().Data())
	// Output: loss 0.4076
}
