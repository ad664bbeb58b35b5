package graph

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/fastblas"
	"github.com/adamant-ml/adamant/layers"
)

// mnistBatch is a batch shaped like MNIST's (64 × 784, 10 classes) with
// random pixels: the benchmarks measure the framework, not the data.
func mnistBatch() *datasets.Batch {
	rng := rand.New(rand.NewPCG(1, 2))
	b := &datasets.Batch{X32: make([]float32, 64*784), Labels: make([]int, 64), Size: 64}
	for i := range b.X32 {
		b.X32[i] = rng.Float32()
	}
	for i := range b.Labels {
		b.Labels[i] = rng.IntN(10)
	}
	return b
}

// mnistMLP is the benchmark's model: MLP 784-128-10, batch 64, float32.
func mnistMLP(b *testing.B) *Model {
	m, err := New(layers.Sequential(layers.Dense(128), layers.ReLU(), layers.Dense(10)), WithInputShape(784))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// benchmarkOurStep times one TrainStep of the MNIST MLP (784-128-10, batch
// 64, float32) with solvers.Adam: feed, forward, backward, update.
func benchmarkOurStep(b *testing.B) {
	m := mnistMLP(b)
	solver := newAdam(b)
	batch := mnistBatch()
	for i := 0; i < 5; i++ { // warm the allocator and the BLAS workspaces
		if _, err := m.TrainStep(solver, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.TrainStep(solver, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkMachineOnly runs only the training machine (execute + Reset) of
// the same model: what Gorgonia allocates by itself. TrainStep's allocations
// above this floor are adamant's own (feed, hooks, solver, bookkeeping).
func benchmarkMachineOnly(b *testing.B) {
	m := mnistMLP(b)
	if err := m.train.feed(mnistBatch()); err != nil {
		b.Fatal(err)
	}
	run := func() {
		if err := m.train.execute(); err != nil {
			b.Fatal(err)
		}
		m.train.machine.Reset()
	}
	for i := 0; i < 5; i++ {
		run()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}

// benchmarkGorgoniaStep is the same step written the way Gorgonia's own
// examples do: its ops (Mul, BroadcastAdd, Rectify, LogSoftMax, Mean), the
// full Grad graph (input gradient included), G.Let of a fresh batch tensor
// and the built-in AdamSolver. It is the baseline adamant replaces.
func benchmarkGorgoniaStep(b *testing.B) {
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(3, 4))
	randT := func(shape ...int) *tensor.Dense {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		for i, d := 0, t.Data().([]float32); i < len(d); i++ {
			d[i] = (rng.Float32() - 0.5) * 0.1
		}
		return t
	}
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(64, 784), G.WithName("x"))
	y := G.NewMatrix(g, tensor.Float32, G.WithShape(64, 10), G.WithName("y"), G.WithValue(randT(64, 10)))
	w1 := G.NewMatrix(g, tensor.Float32, G.WithShape(784, 128), G.WithName("w1"), G.WithValue(randT(784, 128)))
	b1 := G.NewVector(g, tensor.Float32, G.WithShape(128), G.WithName("b1"), G.WithValue(randT(128)))
	w2 := G.NewMatrix(g, tensor.Float32, G.WithShape(128, 10), G.WithName("w2"), G.WithValue(randT(128, 10)))
	b2 := G.NewVector(g, tensor.Float32, G.WithShape(10), G.WithName("b2"), G.WithValue(randT(10)))
	h := G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w1)), b1, nil, []byte{0}))))
	out := G.Must(G.BroadcastAdd(G.Must(G.Mul(h, w2)), b2, nil, []byte{0}))
	loss := G.Must(G.Neg(G.Must(G.Mean(G.Must(G.HadamardProd(G.Must(G.LogSoftMax(out)), y))))))
	learnables := G.Nodes{w1, b1, w2, b2}
	if _, err := G.Grad(loss, learnables...); err != nil {
		b.Fatal(err)
	}
	machine := G.NewTapeMachine(g, G.BindDualValues(learnables...))
	defer machine.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(1e-3))
	vgs := G.NodesToValueGrads(learnables)
	batch := mnistBatch()
	step := func() {
		xt := tensor.New(tensor.WithShape(64, 784), tensor.WithBacking(batch.X32))
		if err := G.Let(x, xt); err != nil {
			b.Fatal(err)
		}
		if err := machine.RunAll(); err != nil {
			b.Fatal(err)
		}
		if err := solver.Step(vgs); err != nil {
			b.Fatal(err)
		}
		machine.Reset()
	}
	for i := 0; i < 5; i++ {
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
}

// BenchmarkMNISTStep compares one training step of the MNIST MLP: adamant
// against plain Gorgonia, each with gonum's BLAS and then with fastblas
// (installed process-wide, hence last).
func BenchmarkMNISTStep(b *testing.B) {
	b.Run("gorgonia-builtin/gonum", benchmarkGorgoniaStep)
	b.Run("adamant/gonum", benchmarkOurStep)
	b.Run("machine-only/gonum", benchmarkMachineOnly)
	fastblas.Install(fastblas.WithThreads(runtime.GOMAXPROCS(0)))
	defer G.Use(gonum.Implementation{})
	b.Run("gorgonia-builtin/fastblas", benchmarkGorgoniaStep)
	b.Run("adamant/fastblas", benchmarkOurStep)
	b.Run("machine-only/fastblas", benchmarkMachineOnly)
}
