package graph

import (
	"math"
	"runtime"
	"testing"

	"github.com/adamant-ml/adamant/layers"
)

// TestReusedLayerValueKeepsSeparateBuffers: one ReLU value used twice in a
// model must give two nodes with their own result buffers. Sharing one
// would let the second ReLU overwrite the first's output before the
// backward pass reads it for the middle Dense's weight gradient, and
// training would silently diverge from the same model built with two
// ReLU values.
func TestReusedLayerValueKeepsSeparateBuffers(t *testing.T) {
	train := func(model layers.Layer) []float64 {
		m, err := New(model, WithInputShape(4), WithTrainBatchSize(8), WithSeed(3))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		trainEpochs(t, m, newAdam(t), blobs(64, 2, false), 2)
		return weights32(m)
	}
	relu := layers.ReLU()
	shared := train(layers.Sequential(layers.Dense(16), relu, layers.Dense(16), relu, layers.Dense(3)))
	distinct := train(layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(16), layers.ReLU(), layers.Dense(3)))
	for i := range distinct {
		if math.Float64bits(shared[i]) != math.Float64bits(distinct[i]) {
			t.Fatalf("weight %d: %v with one ReLU value used twice, %v with two", i, shared[i], distinct[i])
		}
	}
}

// TestTrainStepAllocatesLittle: our ops keep their results from step to
// step, so a training step of the MNIST-shaped MLP allocates only
// Gorgonia's bookkeeping (about 3 KB), not a copy of the activations and
// gradients (588 KB before the ops kept their buffers, 401 KB of it the
// first weight's gradient alone).
func TestTrainStepAllocatesLittle(t *testing.T) {
	// One thread: gonum's sgemm, the default BLAS, allocates per worker
	// when it runs in parallel, which would make the bound depend on the
	// machine's core count.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	m, err := New(layers.Sequential(layers.Dense(128), layers.ReLU(), layers.Dense(10)), WithInputShape(784))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	solver := newAdam(t)
	batch := mnistBatch()
	step := func() {
		if _, err := m.TrainStep(solver, batch); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if perStep := bytesPerStep(t, step); perStep > 16<<10 {
		t.Fatalf("a training step allocates %d bytes, want at most 16 KiB", perStep)
	}
}

// bytesPerStep is what step allocates in the steady state: the least mean
// over three windows of ten steps, so that a buffer a busy machine's
// scheduling lets grow late (the first time a worker joins a product of
// some shape) does not count, while anything allocated at every step does.
func bytesPerStep(t *testing.T, step func()) uint64 {
	if raceEnabled {
		t.Skip("the race detector allocates for itself")
	}
	const steps = 10
	least := uint64(math.MaxUint64)
	for window := 0; window < 3; window++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < steps; i++ {
			step()
		}
		runtime.ReadMemStats(&after)
		least = min(least, (after.TotalAlloc-before.TotalAlloc)/steps)
	}
	return least
}
