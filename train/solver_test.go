package train_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/train"
)

func smallModel(t *testing.T) *graph.Model {
	t.Helper()
	m, err := graph.New(layers.Sequential(layers.Dense(8), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(16), graph.WithSeed(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// saveAtEpoch writes a checkpoint at the end of epoch (0-based).
func saveAtEpoch(epoch int, path string) callbacks.Callback {
	return callbacks.Lambda{EpochEnd: func(s *callbacks.State) error {
		if s.Epoch == epoch {
			return s.Trainer.SaveCheckpoint(path)
		}
		return nil
	}}
}

// TestCustomSolverResumesExactly: a solver of one's own that implements
// train.StateMarshaler is checkpointed and restored by Fit, so a resumed
// run ends with the weights of an uninterrupted one.
func TestCustomSolverResumesExactly(t *testing.T) {
	data := datasets.Blobs(96, 3)
	sched := func() callbacks.Callback {
		s, err := callbacks.NewLRScheduler(callbacks.StepLR(1, 0.7), callbacks.PerEpoch)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	full := smallModel(t)
	if _, err := train.Fit(context.Background(), full, &MomentumSGD{LR: 0.05, Momentum: 0.9}, data,
		train.WithEpochs(4), train.WithCallbacks(sched(), saveAtEpoch(-1, ""))); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "sgd.ckpt")
	if _, err := train.Fit(context.Background(), smallModel(t), &MomentumSGD{LR: 0.05, Momentum: 0.9}, data,
		train.WithEpochs(2), train.WithCallbacks(sched(), saveAtEpoch(1, ckpt))); err != nil {
		t.Fatal(err)
	}
	resumed := smallModel(t)
	fresh := &MomentumSGD{LR: 123, Momentum: 0.9} // the checkpoint restores the rate and the velocities
	if _, err := train.Fit(context.Background(), resumed, fresh, data,
		train.WithEpochs(4), train.WithResume(ckpt), train.WithCallbacks(sched(), saveAtEpoch(-1, ""))); err != nil {
		t.Fatal(err)
	}
	for i, p := range full.Params() {
		a, b := p.Value.Float32s(), resumed.Params()[i].Value.Float32s()
		for j := range a {
			if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
				t.Fatalf("%s[%d]: %v uninterrupted, %v resumed", p.Name, j, a[j], b[j])
			}
		}
	}
}

// stepOnly is a solver with the required part of the contract only.
type stepOnly struct{}

func (stepOnly) Step([]G.ValueGrad) error { return nil }

// TestSolverWithoutOptionalParts: Fit trains a bare Solver; lr is NaN in
// the logs, a callback that drives the learning rate is refused before
// training with an error naming train.LearningRater, and setting a rate
// from a callback of one's own names it too.
func TestSolverWithoutOptionalParts(t *testing.T) {
	hist, err := train.Fit(context.Background(), smallModel(t), stepOnly{}, datasets.Blobs(32, 1))
	if err != nil {
		t.Fatal(err)
	}
	if lr := hist.History[callbacks.KeyLR]; len(lr) != 1 || !math.IsNaN(lr[0]) {
		t.Errorf("lr of a solver without LearningRate: %v, want [NaN]", lr)
	}
	sched, err := callbacks.NewLRScheduler(callbacks.StepLR(1, 0.5), callbacks.PerEpoch)
	if err != nil {
		t.Fatal(err)
	}
	plateau, err := callbacks.NewReduceLROnPlateau(callbacks.WithMonitor(callbacks.KeyLoss), callbacks.WithPatience(0))
	if err != nil {
		t.Fatal(err)
	}
	finder, err := callbacks.NewLRFinder()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cb   callbacks.Callback
		want []string
	}{
		{"LRScheduler", sched, []string{"callback #0", "LRScheduler(StepLR", "stepOnly", "train.LearningRater"}},
		// Without the check, ReduceLROnPlateau read NaN and never reduced.
		{"ReduceLROnPlateau", plateau, []string{"callback #0", "ReduceLROnPlateau", "train.LearningRater"}},
		{"LRFinder", finder, []string{"callback #0", "LRFinder", "train.LearningRater"}},
		{"SetLearningRate", callbacks.Lambda{TrainBegin: func(s *callbacks.State) error { return s.Trainer.SetLearningRate(0.1) }},
			[]string{"stepOnly", "train.LearningRater"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			epochs := 0
			count := callbacks.Lambda{EpochEnd: func(*callbacks.State) error { epochs++; return nil }}
			_, err := train.Fit(context.Background(), smallModel(t), stepOnly{}, datasets.Blobs(32, 1),
				train.WithEpochs(3), train.WithCallbacks(tc.cb, count))
			if err == nil {
				t.Fatalf("%s on a solver without a learning rate: no error after %d epochs", tc.name, epochs)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q named", err, w)
				}
			}
			if epochs != 0 {
				t.Errorf("refused after %d epochs, want before training", epochs)
			}
		})
	}
}
