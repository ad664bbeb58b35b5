package losses_test

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/losses"
)

// mnistMLP builds one training step of the MNIST MLP, (64, 784) → Dense(128)
// → ReLU → Dense(10) → softmax cross-entropy, in float32. gorgoniaOps swaps
// our fused ops for the Gorgonia compositions they replace (Rectify and a
// LogSoftMax-based cross-entropy) as a baseline. subgraph compiles only
// what the loss and the weights' gradients need, as graph/ does.
func mnistMLP(b *testing.B, gorgoniaOps, subgraph bool) (G.VM, func()) {
	const batch = 64
	g := G.NewGraph()
	s, err := layers.NewScope(g, tensor.Float32, true, batch, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	x, xT, _ := s.Input("input", tensor.Shape{batch, 784})
	for i := range xT.Data().([]float32) {
		xT.Data().([]float32)[i] = float32(i%255) / 255
	}
	act := layers.ReLU()
	if gorgoniaOps {
		act = layers.LayerFunc(func(_ *layers.Scope, x *G.Node) (*G.Node, error) { return G.Rectify(x) })
	}
	out, err := layers.Sequential(layers.Dense(128), act, layers.Dense(10)).Forward(s, x)
	if err != nil {
		b.Fatal(err)
	}
	tgt, tgtT, _ := s.Input("target", tensor.Shape{batch, 10})
	for i := range batch {
		tgtT.Data().([]float32)[i*10+i%10] = 1
	}
	w, wT, _ := s.Input("row_weights", tensor.Shape{batch})
	for i := range batch {
		wT.Data().([]float32)[i] = 1.0 / batch
	}
	var loss *G.Node
	if gorgoniaOps {
		logp := G.Must(G.LogSoftMax(out))
		loss = G.Must(G.Neg(G.Must(G.Mean(G.Must(G.Sum(G.Must(G.HadamardProd(logp, tgt)), 1))))))
	} else if loss, err = losses.SoftmaxCrossEntropy().Forward(s, out, tgt, w); err != nil {
		b.Fatal(err)
	}
	var learn G.Nodes
	for _, p := range s.Params().List() {
		learn = append(learn, p.Node)
	}
	grads, err := G.Grad(loss, learn...)
	if err != nil {
		b.Fatal(err)
	}
	compiled := g
	if subgraph {
		compiled = g.ExactSubgraphRoots(append(G.Nodes{loss, out}, grads...)...)
	}
	m := G.NewTapeMachine(compiled, G.BindDualValues(learn...))
	return m, func() { m.Close() }
}

func BenchmarkMNISTMLPStep(b *testing.B) {
	for _, c := range []struct {
		name                  string
		gorgoniaOps, subgraph bool
	}{
		{"fused/subgraph", false, true},
		{"fused/whole-graph", false, false},
		{"gorgonia-ops/subgraph", true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, done := mnistMLP(b, c.gorgoniaOps, c.subgraph)
			defer done()
			b.ReportAllocs()
			for b.Loop() {
				if err := m.RunAll(); err != nil {
					b.Fatal(err)
				}
				m.Reset()
			}
		})
	}
}

func BenchmarkSoftmaxCrossEntropy(b *testing.B) {
	lg := newLossGraph(b, losses.SoftmaxCrossEntropy(), tensor.Float32, 64, 10)
	set(lg.tgtT, oneHot(make([]int, 64), 10))
	set(lg.rowT, mean(64))
	if _, err := G.Grad(lg.loss, lg.out); err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(lg.s.Graph())
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
		m.Reset()
	}
}
