package layers_test

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// benchStep builds cost = Σ model(x) in float32 with gradients for the
// parameters and returns a machine plus the scope's hooks.
func benchStep(b *testing.B, model layers.Layer, shape tensor.Shape) (G.VM, []layers.RunHook) {
	g := G.NewGraph()
	s, err := layers.NewScope(g, tensor.Float32, true, shape[0], 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	x, xT, _ := s.Input("input", shape)
	for i := range xT.Data().([]float32) {
		xT.Data().([]float32)[i] = float32(i%17)/8 - 1
	}
	y, err := model.Forward(s, x)
	if err != nil {
		b.Fatal(err)
	}
	cost := G.Must(G.Sum(y))
	var learn G.Nodes
	for _, p := range s.Params().List() {
		learn = append(learn, p.Node)
	}
	if len(learn) == 0 {
		learn = G.Nodes{x}
	}
	if _, err := G.Grad(cost, learn...); err != nil {
		b.Fatal(err)
	}
	return G.NewTapeMachine(g, G.BindDualValues(learn...)), s.Hooks()
}

func BenchmarkStep(b *testing.B) {
	cases := []struct {
		name  string
		model layers.Layer
		shape tensor.Shape
	}{
		{"ReLU-64x128", layers.ReLU(), tensor.Shape{64, 128}},
		{"Dropout-64x128", layers.Dropout(0.5), tensor.Shape{64, 128}},
		{"LogSoftmax-64x10", layers.LogSoftmax(), tensor.Shape{64, 10}},
		{"CNN-64x1x28x28", layers.Sequential(
			layers.Conv2D(8, 3, layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2),
			layers.Flatten(), layers.Dense(10)), tensor.Shape{64, 1, 28, 28}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m, hooks := benchStep(b, c.model, c.shape)
			defer m.Close()
			b.ReportAllocs()
			step := int64(0)
			for b.Loop() {
				for _, h := range hooks {
					if err := h(step); err != nil {
						b.Fatal(err)
					}
				}
				if err := m.RunAll(); err != nil {
					b.Fatal(err)
				}
				m.Reset()
				step++
			}
		})
	}
}

// The per-step dropout hook must not allocate: it runs before every batch.
func TestDropoutHookAllocations(t *testing.T) {
	s, err := layers.NewScope(G.NewGraph(), tensor.Float32, true, 64, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _, _ := s.Input("input", tensor.Shape{64, 128})
	if _, err := layers.Dropout(0.5).Forward(s, x); err != nil {
		t.Fatal(err)
	}
	h := s.Hooks()[0]
	step := int64(0)
	if n := testing.AllocsPerRun(20, func() { _ = h(step); step++ }); n != 0 {
		t.Errorf("dropout hook allocates %v times per step", n)
	}
}
