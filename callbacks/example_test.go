package callbacks_test

import (
	"fmt"
	"math"
	"os"

	"github.com/adamant-ml/adamant/callbacks"
)

// fit stands in for train.Fit in these examples: it runs the hooks in the
// same order over epochs×batches steps of a model whose batch loss is
// loss(epoch, batch), with an optimizer at learning rate 0.1, and gives
// the epoch's mean batch loss as val_loss.
func fit(epochs, batches int, loss func(epoch, batch int) float64, cbs ...callbacks.Callback) (*fakeTrainer, error) {
	tr := &fakeTrainer{lr: 0.1, weights: []float64{0}}
	l := &loop{t: tr, cbs: cbs, epochs: epochs, batches: batches, batchLoss: loss}
	l.epochLogs = func(e int) callbacks.Logs {
		sum := 0.0
		for b := 0; b < batches; b++ {
			sum += loss(e, b)
		}
		return callbacks.Logs{callbacks.KeyLoss: sum / float64(batches), callbacks.KeyValLoss: sum / float64(batches), callbacks.KeyLR: tr.lr}
	}
	return tr, l.run(0, epochs)
}

// SmoothLoss is a custom callback: it keeps an exponential moving average
// of the batch loss, adds it to the epoch's logs as "smooth_loss" (so
// History, CSVLogger and EarlyStopping can use it) and prints it with the
// learning rate. Embedding Base provides the hooks it does not need.
type SmoothLoss struct {
	callbacks.Base
	Beta float64 // weight of the past, e.g. 0.9
	avg  float64
	n    int
}

// Name is used in errors and checkpoints.
func (c *SmoothLoss) Name() string { return "SmoothLoss" }

// OnTrainBegin resets the average.
func (c *SmoothLoss) OnTrainBegin(*callbacks.State) error {
	c.avg, c.n = 0, 0
	return nil
}

// OnBatchEnd folds in the batch loss; it allocates nothing, as a
// per-batch hook should.
func (c *SmoothLoss) OnBatchEnd(s *callbacks.State) error {
	loss, ok := s.Logs[callbacks.KeyLoss]
	if !ok {
		return fmt.Errorf("no %q in the batch logs", callbacks.KeyLoss)
	}
	c.avg = c.Beta*c.avg + (1-c.Beta)*loss
	c.n++
	return nil
}

// OnEpochEnd publishes the bias-corrected average.
func (c *SmoothLoss) OnEpochEnd(s *callbacks.State) error {
	smooth := c.avg / (1 - math.Pow(c.Beta, float64(c.n)))
	s.Logs["smooth_loss"] = smooth
	fmt.Printf("epoch %d: smooth_loss %.4f, lr %g\n", s.Epoch+1, smooth, s.Trainer.LearningRate())
	return nil
}

// A custom callback that logs a smoothed loss, next to a schedule that
// halves the learning rate every epoch and a History that records the new
// key.
func Example_customCallback() {
	sched, err := callbacks.NewLRScheduler(callbacks.StepLR(1, 0.5), callbacks.PerEpoch)
	if err != nil {
		fmt.Println(err)
		return
	}
	history := &callbacks.History{}
	loss := func(epoch, batch int) float64 { return 1 / float64(1+epoch*10+batch) }
	if _, err := fit(3, 10, loss, &SmoothLoss{Beta: 0.9}, sched, history); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("history: %.4f\n", history.History["smooth_loss"])
	// Output:
	// epoch 1: smooth_loss 0.2346, lr 0.1
	// epoch 2: smooth_loss 0.1075, lr 0.05
	// epoch 3: smooth_loss 0.0605, lr 0.025
	// history: [0.2346 0.1075 0.0605]
}

// The classic recipe: multiply the learning rate by 0.98 every 100
// batches.
func ExampleNewLRScheduler() {
	sched, err := callbacks.NewLRScheduler(callbacks.StepLR(100, 0.98), callbacks.PerBatch)
	if err != nil {
		fmt.Println(err)
		return
	}
	show := callbacks.Lambda{BatchBegin: func(s *callbacks.State) error {
		if s.Step%100 == 0 || s.Step == 99 {
			fmt.Printf("step %3d: lr %.6g\n", s.Step, s.Trainer.LearningRate())
		}
		return nil
	}}
	if _, err := fit(1, 301, func(int, int) float64 { return 1 }, sched, show); err != nil {
		fmt.Println(err)
	}
	// Output:
	// step   0: lr 0.1
	// step  99: lr 0.1
	// step 100: lr 0.098
	// step 200: lr 0.09604
	// step 300: lr 0.0941192
}

// Linear warm-up for 3 epochs, then cosine annealing over 5, as PyTorch's
// SequentialLR([LinearLR, CosineAnnealingLR], milestones=[3]) does it.
func ExampleSequentialLR() {
	warmupCosine := callbacks.SequentialLR([]callbacks.Schedule{
		callbacks.LinearLR(0.25, 1, 3),
		callbacks.CosineAnnealingLR(5, 0),
	}, []int{3})
	sched, err := callbacks.NewLRScheduler(warmupCosine, callbacks.PerEpoch)
	if err != nil {
		fmt.Println(err)
		return
	}
	show := callbacks.Lambda{EpochBegin: func(s *callbacks.State) error {
		fmt.Printf("epoch %d: lr %.4f\n", s.Epoch+1, s.Trainer.LearningRate())
		return nil
	}}
	if _, err := fit(8, 1, func(int, int) float64 { return 1 }, sched, show); err != nil {
		fmt.Println(err)
	}
	// Output:
	// epoch 1: lr 0.0250
	// epoch 2: lr 0.0500
	// epoch 3: lr 0.0750
	// epoch 4: lr 0.1000
	// epoch 5: lr 0.0905
	// epoch 6: lr 0.0655
	// epoch 7: lr 0.0345
	// epoch 8: lr 0.0095
}

// Stop when val_loss has not improved by 0.01 for two epochs, and put
// back the best epoch's weights.
func ExampleNewEarlyStopping() {
	es, err := callbacks.NewEarlyStopping(
		callbacks.WithPatience(2),
		callbacks.WithMinDelta(0.01),
		callbacks.WithRestoreBestWeights(true),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	valLoss := []float64{0.9, 0.7, 0.695, 0.71, 0.65, 0.6}
	if _, err := fit(len(valLoss), 1, func(e, _ int) float64 { return valLoss[e] }, es); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stopped after epoch %d, best epoch %d (val_loss %v)\n", es.StoppedEpoch()+1, es.BestEpoch()+1, es.Best())
	// Output:
	// stopped after epoch 4, best epoch 2 (val_loss 0.7)
}

// Halve the learning rate when val_loss has not improved for one epoch.
func ExampleNewReduceLROnPlateau() {
	plateau, err := callbacks.NewReduceLROnPlateau(callbacks.WithFactor(0.5), callbacks.WithPatience(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	valLoss := []float64{1, 0.8, 0.8, 0.8, 0.5, 0.5, 0.5}
	show := callbacks.Lambda{EpochEnd: func(s *callbacks.State) error {
		fmt.Printf("epoch %d: val_loss %.1f, lr %g\n", s.Epoch+1, s.Logs[callbacks.KeyValLoss], s.Trainer.LearningRate())
		return nil
	}}
	if _, err := fit(len(valLoss), 1, func(e, _ int) float64 { return valLoss[e] }, plateau, show); err != nil {
		fmt.Println(err)
	}
	// Output:
	// epoch 1: val_loss 1.0, lr 0.1
	// epoch 2: val_loss 0.8, lr 0.1
	// epoch 3: val_loss 0.8, lr 0.1
	// epoch 4: val_loss 0.8, lr 0.05
	// epoch 5: val_loss 0.5, lr 0.05
	// epoch 6: val_loss 0.5, lr 0.05
	// epoch 7: val_loss 0.5, lr 0.025
}

// Plain per-epoch lines, as printed when the output is not a terminal.
func ExampleNewProgressBar() {
	bar, err := callbacks.NewProgressBar(callbacks.WithWriter(os.Stdout), callbacks.WithTerminal(false))
	if err != nil {
		fmt.Println(err)
		return
	}
	seconds := callbacks.Lambda{EpochEnd: func(s *callbacks.State) error {
		s.Logs[callbacks.KeyEpochSeconds] = 2.5 // the loop measures this
		return nil
	}}
	if _, err := fit(2, 50, func(e, _ int) float64 { return 0.5 / float64(e+1) }, seconds, bar); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Epoch 1/2 - 50 batches - 2.5s - loss: 0.5000 - val_loss: 0.5000 - lr: 0.1000
	// Epoch 2/2 - 50 batches - 2.5s - loss: 0.2500 - val_loss: 0.2500 - lr: 0.1000
}
