package graph_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
)

// A model is a layer (usually a Sequential) compiled for a batch size;
// its parameters are named after their layers.
func ExampleNew() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(128), layers.ReLU(), layers.Dense(10)),
		graph.WithInputShape(784), // one MNIST image, flattened
		graph.WithTrainBatchSize(64),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	for _, p := range model.Params() {
		fmt.Println(p)
	}
	fmt.Println(model.NumParams(), "parameters")
	// Output:
	// dense/weight(784, 128)
	// dense/bias(128)
	// dense_1/weight(128, 10)
	// dense_1/bias(10)
	// 101770 parameters
}

// Weights go to a versioned, checksummed file, written atomically; loading
// checks every parameter's name, dtype and shape first.
func ExampleModel_SaveWeights() {
	build := func(seed uint64) *graph.Model {
		m, err := graph.New(layers.Sequential(layers.Dense(8), layers.Tanh(), layers.Dense(3)),
			graph.WithInputShape(4), graph.WithSeed(seed))
		if err != nil {
			panic(err)
		}
		return m
	}
	dir, _ := os.MkdirTemp("", "weights")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.weights")

	a, b := build(1), build(2)
	defer a.Close()
	defer b.Close()
	if err := a.SaveWeights(path); err != nil {
		fmt.Println(err)
		return
	}
	if err := b.LoadWeights(path); err != nil {
		fmt.Println(err)
		return
	}
	mA, _ := a.Evaluate(context.Background(), datasets.Blobs(90, 1))
	mB, _ := b.Evaluate(context.Background(), datasets.Blobs(90, 1))
	fmt.Println("same predictions:", mA == mB)
	// Output:
	// same predictions: true
}

// TrainStep is one step of a training loop of your own: the batch goes
// through the training program and the solver updates the weights in place.
// train.Fit is the loop with epochs, callbacks and checkpoints.
func ExampleModel_TrainStep() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(30), graph.WithSeed(7),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	adam, err := solvers.NewAdam(solvers.WithLearnRate(1e-2))
	if err != nil {
		fmt.Println(err)
		return
	}
	data := datasets.Blobs(30, 1)
	batch := &datasets.Batch{X32: data.X32, Labels: data.Labels, Size: data.Len()}
	first, _ := model.TrainStep(adam, batch)
	var last graph.StepResult
	for range 100 {
		if last, err = model.TrainStep(adam, batch); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("loss fell below a tenth:", last.Loss < first.Loss/10)
	fmt.Printf("correct: %d of %d\n", last.Correct, last.Rows)
	// Output:
	// loss fell below a tenth: true
	// correct: 30 of 30
}

// A model of stock layers is rebuilt from its file alone: the file
// describes the layers, input shape, dtype, batch sizes, seed and loss.
func ExampleLoad() {
	m, err := graph.New(layers.Sequential(layers.Dense(8), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithSeed(5))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	dir, _ := os.MkdirTemp("", "load")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.weights")
	if err := m.SaveWeights(path); err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := graph.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer loaded.Close()
	a, _ := m.Evaluate(context.Background(), datasets.Blobs(90, 1))
	b, _ := loaded.Evaluate(context.Background(), datasets.Blobs(90, 1))
	fmt.Println(loaded.InputShape(), loaded.NumParams(), "parameters; same metrics:", a == b)
	// Output:
	// [4] 67 parameters; same metrics: true
}
