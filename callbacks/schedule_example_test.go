package callbacks_test

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/adamant-ml/adamant/callbacks"
)

// printRates drives s with an LRScheduler for n steps (epochs, or batches
// of one epoch) from the optimizer's rate 0.1, as fit does, and prints the
// rate in force during each step.
func printRates(s callbacks.Schedule, every callbacks.Interval, n int) {
	sched, err := callbacks.NewLRScheduler(s, every)
	if err != nil {
		fmt.Println(err)
		return
	}
	var lrs []float64
	record := func(st *callbacks.State) error {
		lrs = append(lrs, st.Trainer.LearningRate())
		return nil
	}
	epochs, batches, show := n, 1, callbacks.Lambda{EpochBegin: record}
	if every == callbacks.PerBatch {
		epochs, batches, show = 1, n, callbacks.Lambda{BatchBegin: record}
	}
	if _, err := fit(epochs, batches, func(int, int) float64 { return 1 }, sched, show); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4g\n", lrs)
}

// Halve the learning rate every 2 epochs.
func ExampleStepLR() {
	printRates(callbacks.StepLR(2, 0.5), callbacks.PerEpoch, 7)
	// Output: [0.1 0.1 0.05 0.05 0.025 0.025 0.0125]
}

// Divide the learning rate by 10 at epochs 2 and 5.
func ExampleMultiStepLR() {
	printRates(callbacks.MultiStepLR([]int{2, 5}, 0.1), callbacks.PerEpoch, 7)
	// Output: [0.1 0.1 0.01 0.01 0.01 0.001 0.001]
}

// Multiply the learning rate by 0.9 every epoch.
func ExampleExponentialLR() {
	printRates(callbacks.ExponentialLR(0.9), callbacks.PerEpoch, 5)
	// Output: [0.1 0.09 0.081 0.0729 0.06561]
}

// Half a cosine down to 0 over 4 epochs, and back up over the next 4.
func ExampleCosineAnnealingLR() {
	printRates(callbacks.CosineAnnealingLR(4, 0), callbacks.PerEpoch, 9)
	// Output: [0.1 0.08536 0.05 0.01464 0 0.01464 0.05 0.08536 0.1]
}

// Cosine cycles of 2, then 4 epochs, each restarting from the initial
// rate.
func ExampleCosineAnnealingWarmRestarts() {
	printRates(callbacks.CosineAnnealingWarmRestarts(2, 2, 0), callbacks.PerEpoch, 8)
	// Output: [0.1 0.05 0.1 0.08536 0.05 0.01464 0.1 0.09619]
}

// The 1cycle policy over 10 batches: from 1/25 of the peak up to the peak
// at step 2 (pct_start 0.3 of the steps, counted from 0), then down to
// 1/(25·10⁴) of it at the last step.
func ExampleOneCycleLR() {
	printRates(callbacks.OneCycleLR(1, 10), callbacks.PerBatch, 10)
	// Output: [0.04 0.52 1 0.9505 0.8117 0.6113 0.3887 0.1883 0.04952 4e-06]
}

// Quadratic decay to 0 over 4 epochs.
func ExamplePolynomialLR() {
	printRates(callbacks.PolynomialLR(4, 2), callbacks.PerEpoch, 6)
	// Output: [0.1 0.05625 0.025 0.00625 0 0]
}

// Half the learning rate for the first 3 epochs.
func ExampleConstantLR() {
	printRates(callbacks.ConstantLR(0.5, 3), callbacks.PerEpoch, 5)
	// Output: [0.05 0.05 0.05 0.1 0.1]
}

// A linear warm-up from a quarter of the rate to all of it over 3 epochs.
func ExampleLinearLR() {
	printRates(callbacks.LinearLR(0.25, 1, 3), callbacks.PerEpoch, 5)
	// Output: [0.025 0.05 0.075 0.1 0.1]
}

// The initial rate divided by the epoch number.
func ExampleLambdaLR() {
	printRates(callbacks.LambdaLR(func(step int) float64 { return 1 / float64(step+1) }), callbacks.PerEpoch, 5)
	// Output: [0.1 0.05 0.03333 0.025 0.02]
}

// Multiply the rate in force by 0.8 every epoch after the first.
func ExampleMultiplicativeLR() {
	printRates(callbacks.MultiplicativeLR(func(int) float64 { return 0.8 }), callbacks.PerEpoch, 5)
	// Output: [0.1 0.08 0.064 0.0512 0.04096]
}

// A constant warm-up factor for 2 epochs chained with exponential decay:
// both factors apply at once.
func ExampleChainedScheduler() {
	printRates(callbacks.ChainedScheduler(callbacks.ConstantLR(0.5, 2), callbacks.ExponentialLR(0.9)), callbacks.PerEpoch, 5)
	// Output: [0.05 0.045 0.081 0.0729 0.06561]
}

// InverseSqrtLR is a schedule of one's own: the Transformer's warm-up then
// inverse-square-root decay (Vaswani et al. 2017), scaled so that the rate
// peaks at the optimizer's rate after Warmup steps:
//
//	lr(step) = initial · min((step+1)/Warmup, √(Warmup/(step+1)))
type InverseSqrtLR struct {
	Warmup int

	initial float64
	step    int
}

// String names the schedule in errors and in the LRScheduler's name.
func (s *InverseSqrtLR) String() string { return fmt.Sprintf("InverseSqrtLR(warmup=%d)", s.Warmup) }

// Validate is called by NewLRScheduler, before training.
func (s *InverseSqrtLR) Validate() error {
	if s.Warmup < 1 {
		return fmt.Errorf("InverseSqrtLR: warmup %d, want ≥ 1", s.Warmup)
	}
	return nil
}

// Start records the optimizer's rate and returns the rate for step 0.
func (s *InverseSqrtLR) Start(initial, _ float64) (float64, error) {
	s.initial, s.step = initial, 0
	return s.rate(), nil
}

// Step returns the rate for the next step; being a closed form, it ignores
// the rate in force.
func (s *InverseSqrtLR) Step(float64) (float64, error) {
	s.step++
	return s.rate(), nil
}

func (s *InverseSqrtLR) rate() float64 {
	n, w := float64(s.step+1), float64(s.Warmup)
	return s.initial * math.Min(n/w, math.Sqrt(w/n))
}

type inverseSqrtState struct {
	Initial float64 `json:"initial_lr"`
	Step    int     `json:"step"`
}

// MarshalState saves the position in the checkpoint, as JSON.
func (s *InverseSqrtLR) MarshalState() ([]byte, error) {
	return json.Marshal(inverseSqrtState{s.initial, s.step})
}

// UnmarshalState restores it in a resumed run, instead of Start.
func (s *InverseSqrtLR) UnmarshalState(b []byte) error {
	var st inverseSqrtState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("InverseSqrtLR: state: %w", err)
	}
	s.initial, s.step = st.Initial, st.Step
	return nil
}

// A schedule of your own: implement Schedule (and Validator, to have
// NewLRScheduler check the settings). Here it runs per batch for 4 steps,
// its state goes into a checkpoint, and a resumed run continues it for 4
// more, exactly where it was.
func ExampleSchedule() {
	if _, err := callbacks.NewLRScheduler(&InverseSqrtLR{}, callbacks.PerBatch); err != nil {
		fmt.Println(err)
	}
	// steps runs batches [from, to) of one epoch in the loop's order.
	steps := func(sched *callbacks.LRScheduler, tr callbacks.Trainer, from, to int) {
		s := &callbacks.State{Trainer: tr, Logs: callbacks.Logs{}}
		if err := sched.OnTrainBegin(s); err != nil {
			fmt.Println(err)
			return
		}
		for s.Step = from; s.Step < to; s.Step++ {
			fmt.Printf("step %d: lr %.4f\n", s.Step, tr.LearningRate())
			if err := sched.OnBatchEnd(s); err != nil {
				fmt.Println(err)
				return
			}
		}
	}

	sched, err := callbacks.NewLRScheduler(&InverseSqrtLR{Warmup: 3}, callbacks.PerBatch)
	if err != nil {
		fmt.Println(err)
		return
	}
	tr := &fakeTrainer{lr: 0.1}
	steps(sched, tr, 0, 4)
	state, err := sched.MarshalState()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("checkpoint: %s\n", state)

	resumed, _ := callbacks.NewLRScheduler(&InverseSqrtLR{Warmup: 3}, callbacks.PerBatch)
	if err := resumed.UnmarshalState(state); err != nil {
		fmt.Println(err)
		return
	}
	// The checkpoint's solver state restores the rate in force.
	steps(resumed, &fakeTrainer{lr: tr.LearningRate()}, 4, 8)
	// Output:
	// InverseSqrtLR: warmup 0, want ≥ 1
	// step 0: lr 0.0333
	// step 1: lr 0.0667
	// step 2: lr 0.1000
	// step 3: lr 0.0866
	// checkpoint: {"kind":"LRScheduler","interval":"batch","schedule":{"initial_lr":0.1,"step":4}}
	// step 4: lr 0.0775
	// step 5: lr 0.0707
	// step 6: lr 0.0655
	// step 7: lr 0.0612
}
