package train_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/train"
)

// MomentumSGD is a solver of one's own: stochastic gradient descent with
// (PyTorch's, un-dampened) momentum, v ← μ·v + g, w ← w − lr·v, for float32
// models. Step makes it a train.Solver; LearningRate and SetLearningRate
// make it a train.LearningRater, so schedules drive it; MarshalState and
// UnmarshalState make it a train.StateMarshaler, so checkpoints resume it.
type MomentumSGD struct {
	LR, Momentum float64
	Velocity     [][]float32 // one buffer per parameter, in the order Step sees them
}

// Step updates every weight in place from its gradient.
func (s *MomentumSGD) Step(params []G.ValueGrad) error {
	if s.Velocity == nil {
		s.Velocity = make([][]float32, len(params))
	}
	if len(params) != len(s.Velocity) {
		return errors.Errorf("momentum SGD: %d parameters, the state has %d", len(params), len(s.Velocity))
	}
	for i, p := range params {
		g, err := p.Grad()
		if err != nil {
			return err
		}
		w, grad := p.Value().Data().([]float32), g.Data().([]float32)
		if s.Velocity[i] == nil {
			s.Velocity[i] = make([]float32, len(w))
		}
		v := s.Velocity[i]
		for j := range w {
			v[j] = float32(s.Momentum)*v[j] + grad[j]
			w[j] -= float32(s.LR) * v[j]
		}
	}
	return nil
}

// LearningRate returns the current learning rate.
func (s *MomentumSGD) LearningRate() float64 { return s.LR }

// SetLearningRate changes it from the next Step.
func (s *MomentumSGD) SetLearningRate(lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return errors.Errorf("momentum SGD: learning rate %v, want a finite value ≥ 0", lr)
	}
	s.LR = lr
	return nil
}

// MarshalState returns the learning rate and velocities.
func (s *MomentumSGD) MarshalState() ([]byte, error) { return json.Marshal(s) }

// UnmarshalState restores what MarshalState returned.
func (s *MomentumSGD) UnmarshalState(b []byte) error {
	var restored MomentumSGD
	if err := json.Unmarshal(b, &restored); err != nil {
		return errors.Wrap(err, "momentum SGD state")
	}
	*s = restored
	return nil
}

// A custom solver trained by train.Fit: a StepLR schedule halves its
// learning rate every two epochs through the LearningRater methods, and
// "lr" in the History follows.
func ExampleSolver_momentumSGD() {
	model, err := graph.New(
		layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(3)),
		graph.WithInputShape(4), graph.WithTrainBatchSize(32), graph.WithSeed(7),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	sgd := &MomentumSGD{LR: 0.05, Momentum: 0.9}
	halve, err := callbacks.NewLRScheduler(callbacks.StepLR(2, 0.5), callbacks.PerEpoch)
	if err != nil {
		fmt.Println(err)
		return
	}
	hist, err := train.Fit(context.Background(), model, sgd, datasets.Blobs(600, 1),
		train.WithEpochs(6), train.WithValidationSplit(0.2), train.WithCallbacks(halve))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lr per epoch:", hist.History[callbacks.KeyLR])
	valAcc := hist.History[callbacks.KeyValAccuracy]
	fmt.Println("val_accuracy above 0.9:", valAcc[len(valAcc)-1] > 0.9)
	// Output:
	// lr per epoch: [0.05 0.05 0.025 0.025 0.0125 0.0125]
	// val_accuracy above 0.9: true
}
