package train_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
	"github.com/adamant-ml/adamant/train"
)

// Fit trains with callbacks and returns the History, as Keras' fit does.
func ExampleFit() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(32), graph.WithSeed(7),
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
	cosine, err := callbacks.NewLRScheduler(callbacks.CosineAnnealingLR(5, 0), callbacks.PerEpoch)
	if err != nil {
		fmt.Println(err)
		return
	}
	hist, err := train.Fit(context.Background(), model, adam, datasets.Blobs(600, 1),
		train.WithEpochs(5), train.WithValidationSplit(0.2), train.WithCallbacks(cosine))
	if err != nil {
		fmt.Println(err)
		return
	}
	valAcc := hist.History[callbacks.KeyValAccuracy]
	fmt.Println("epochs:", len(hist.Epoch))
	fmt.Println("val_accuracy above 0.9:", valAcc[len(valAcc)-1] > 0.9)
	fmt.Printf("lr after the last epoch: %.0f\n", adam.LearningRate())
	// Output:
	// epochs: 5
	// val_accuracy above 0.9: true
	// lr after the last epoch: 0
}

// GradNormMonitor is a custom callback: it keeps the largest and the mean
// gradient norm of each epoch (Fit puts "grad_norm" in every batch's logs
// when the solver reports it, as solvers.Adam does) and adds them to the
// epoch logs, where History, CSVLogger and EarlyStopping see them.
type GradNormMonitor struct {
	callbacks.Base
	sum, peak float64
	n         int
}

// Name is used in errors and checkpoints.
func (m *GradNormMonitor) Name() string { return "GradNormMonitor" }

// OnEpochBegin starts a new epoch's statistics.
func (m *GradNormMonitor) OnEpochBegin(*callbacks.State) error {
	m.sum, m.peak, m.n = 0, 0, 0
	return nil
}

// OnBatchEnd folds in one batch; it allocates nothing.
func (m *GradNormMonitor) OnBatchEnd(s *callbacks.State) error {
	g, ok := s.Logs[callbacks.KeyGradNorm]
	if !ok {
		return fmt.Errorf("the solver reports no %s", callbacks.KeyGradNorm)
	}
	m.sum, m.peak, m.n = m.sum+g, max(m.peak, g), m.n+1
	return nil
}

// OnEpochEnd publishes the epoch's mean and peak.
func (m *GradNormMonitor) OnEpochEnd(s *callbacks.State) error {
	s.Logs["grad_norm_mean"] = m.sum / float64(m.n)
	s.Logs["grad_norm_max"] = m.peak
	return nil
}

// A custom callback that watches gradient norms: as the model converges,
// its gradients shrink.
func ExampleFit_gradientNorms() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(32), graph.WithSeed(7),
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
	hist, err := train.Fit(context.Background(), model, adam, datasets.Blobs(600, 1),
		train.WithEpochs(6), train.WithCallbacks(&GradNormMonitor{}))
	if err != nil {
		fmt.Println(err)
		return
	}
	mean := hist.History["grad_norm_mean"]
	peak := hist.History["grad_norm_max"]
	fmt.Println("recorded epochs:", len(mean), len(peak))
	fmt.Println("mean norm fell from the first to the last epoch:", mean[len(mean)-1] < mean[0])
	peakAboveMean := true
	for i := range mean {
		peakAboveMean = peakAboveMean && peak[i] >= mean[i]
	}
	fmt.Println("peak ≥ mean in every epoch:", peakAboveMean)
	// Output:
	// recorded epochs: 6 6
	// mean norm fell from the first to the last epoch: true
	// peak ≥ mean in every epoch: true
}

// A checkpoint alone continues a run: graph.Load declares the model from
// it, WithResume restores the weights, Adam's state (its settings too), the
// loop's position and the callbacks' states; only the callbacks are given
// again, in the same order.
func ExampleWithResume() {
	dir, _ := os.MkdirTemp("", "resume")
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "last.ckpt")
	saveLast := callbacks.Lambda{EpochEnd: func(s *callbacks.State) error { return s.Trainer.SaveCheckpoint(ckpt) }}

	model, _ := graph.New(layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(32))
	adam, _ := solvers.NewAdam(solvers.WithLearnRate(1e-2))
	if _, err := train.Fit(context.Background(), model, adam, datasets.Blobs(300, 1),
		train.WithEpochs(2), train.WithCallbacks(saveLast)); err != nil {
		fmt.Println(err)
		return
	}
	model.Close()

	again, err := graph.Load(ckpt)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer again.Close()
	fresh, _ := solvers.NewAdam() // the checkpoint brings back lr 1e-2
	hist, err := train.Fit(context.Background(), again, fresh, datasets.Blobs(300, 1),
		train.WithEpochs(4), train.WithResume(ckpt), train.WithCallbacks(saveLast))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("epochs in the history:", hist.Epoch)
	fmt.Println("learning rate:", fresh.LearningRate())
	// Output:
	// epochs in the history: [0 1 2 3]
	// learning rate: 0.01
}
