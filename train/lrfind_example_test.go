package train_test

import (
	"context"
	"fmt"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
	"github.com/adamant-ml/adamant/train"
)

// The learning-rate range test before training: the suggestion, then the
// model and the solver exactly as they were.
func ExampleFindLR() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(16), graph.WithSeed(7),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	adam, err := solvers.NewAdam()
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := train.FindLR(context.Background(), model, adam, datasets.Blobs(600, 1),
		callbacks.WithLRFinderRange(1e-4, 1), callbacks.WithLRFinderSteps(100))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stopped:", res.Stop)
	fmt.Printf("suggestion %.2g after %d batches\n", res.Suggestion, len(res.LRs))
	fmt.Println("steps the model kept:", model.Steps(), "learning rate:", adam.LearningRate())
	// Output:
	// stopped: completed
	// suggestion 0.051 after 100 batches
	// steps the model kept: 0 learning rate: 0.001
}
