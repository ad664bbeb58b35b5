package graph

import (
	"fmt"
	"math"
	"runtime"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/fastblas"
	"github.com/adamant-ml/adamant/layers"
)

// mnistCNN is cmd/mnist's -model cnn network (Conv 16·5×5 pad 2 → ReLU →
// MaxPool 2 → Conv 32·5×5 pad 2 → ReLU → MaxPool 2 → Dense 128 → ReLU →
// Dense 10) at batch 64, float32.
func mnistCNN(t testing.TB) *Model {
	m, err := New(layers.Sequential(
		layers.Conv2D(16, 5, layers.WithPadding(2)), layers.ReLU(), layers.MaxPool2D(2),
		layers.Conv2D(32, 5, layers.WithPadding(2)), layers.ReLU(), layers.MaxPool2D(2),
		layers.Flatten(), layers.Dense(128), layers.ReLU(), layers.Dense(10),
	), WithInputShape(1, 28, 28), WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkMNISTCNNStep times one TrainStep of the MNIST CNN (batch 64,
// float32, Adam) on fastblas with one thread and with every core. Besides
// wall time it reports the process's CPU time per step, steadier than wall
// time while other processes share the cores (with several threads it
// includes the workers' spinning).
func BenchmarkMNISTCNNStep(b *testing.B) {
	defer G.Use(gonum.Implementation{})
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			fastblas.Install(fastblas.WithThreads(threads))
			benchmarkCNNStep(b)
		})
	}
}

func benchmarkCNNStep(b *testing.B) {
	m := mnistCNN(b)
	solver := newAdam(b)
	batch := mnistBatch()
	for i := 0; i < 5; i++ { // grow the BLAS workspaces
		if _, err := m.TrainStep(solver, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := m.TrainStep(solver, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCNNTrainStepAllocatesLittle: the convolution and pooling ops keep
// their results and scratch from step to step, so a CNN training step
// allocates only Gorgonia's bookkeeping, not the activations (a batch of
// 64 is about 3 MB of them).
func TestCNNTrainStepAllocatesLittle(t *testing.T) {
	fastblas.Install(fastblas.WithThreads(2))
	defer G.Use(gonum.Implementation{})
	m := mnistCNN(t)
	solver := newAdam(t)
	batch := mnistBatch()
	step := func() {
		if _, err := m.TrainStep(solver, batch); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		step()
	}
	least := bytesPerStep(t, step)
	t.Logf("a CNN training step allocates %d bytes", least)
	if least > 16<<10 {
		t.Fatalf("a CNN training step allocates %d bytes, want at most 16 KiB", least)
	}
}

// TestCNNSameWeightsForAnyThreadCount: a few CNN training steps on
// fastblas with 1, 2 and 3 threads end in bit-identical weights; how the
// work is split must not change the order of any sum.
func TestCNNSameWeightsForAnyThreadCount(t *testing.T) {
	defer G.Use(gonum.Implementation{})
	train := func(threads int) []float64 {
		fastblas.Install(fastblas.WithThreads(threads))
		m := mnistCNN(t)
		solver := newAdam(t)
		batch := mnistBatch()
		for i := 0; i < 3; i++ {
			if _, err := m.TrainStep(solver, batch); err != nil {
				t.Fatal(err)
			}
		}
		return weights32(m)
	}
	want := train(1)
	for _, threads := range []int{2, 3} {
		got := train(threads)
		if len(got) != len(want) {
			t.Fatalf("%d threads: %d weights, want %d", threads, len(got), len(want))
		}
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%d threads: weight %d = %v, with 1 thread %v", threads, i, got[i], want[i])
			}
		}
	}
}
