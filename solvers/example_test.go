package solvers_test

import (
	"fmt"
	"log"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/solvers"
)

// Adam in a plain Gorgonia program: fit y = 2x + 1 by least squares. The
// loop is Gorgonia's own: run the tape machine (forward and backward),
// step the solver, reset the machine.
func Example() {
	// Rows of the design matrix are [x, 1], so X·w = slope·x + intercept.
	const n = 8
	xs, ys := make([]float64, 0, 2*n), make([]float64, 0, n)
	for i := 0; i < n; i++ {
		x := float64(i) / n
		xs = append(xs, x, 1)
		ys = append(ys, 2*x+1)
	}
	g := G.NewGraph()
	X := G.NewMatrix(g, tensor.Float64, G.WithShape(n, 2), G.WithName("X"),
		G.WithValue(tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(xs))))
	y := G.NewVector(g, tensor.Float64, G.WithShape(n), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(ys))))
	w := G.NewVector(g, tensor.Float64, G.WithShape(2), G.WithName("line/weight"), G.WithInit(G.Zeroes()))
	loss := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(G.Must(G.Mul(X, w)), y))))))
	if _, err := G.Grad(loss, w); err != nil {
		log.Fatal(err)
	}
	machine := G.NewTapeMachine(g, G.BindDualValues(w))
	defer machine.Close()

	solver, err := solvers.NewAdam(solvers.WithLearnRate(0.1))
	if err != nil {
		log.Fatal(err)
	}
	params := G.NodesToValueGrads(G.Nodes{w})
	for step := 0; step < 500; step++ {
		if err := machine.RunAll(); err != nil {
			log.Fatal(err)
		}
		if err := solver.Step(params); err != nil {
			log.Fatal(err)
		}
		machine.Reset()
	}
	fmt.Printf("y = %.3fx + %.3f after %d steps\n", w.Value().Data().([]float64)[0], w.Value().Data().([]float64)[1], solver.Steps())
	// Output:
	// y = 2.000x + 1.000 after 500 steps
}

// The usual AdamW recipe: decoupled weight decay on the weights but not on
// the biases, and gradients clipped to a global norm of 1.
func ExampleNewAdam() {
	solver, err := solvers.NewAdam(
		solvers.WithLearnRate(3e-4),
		solvers.WithWeightDecay(0.01),
		solvers.WithDecoupledWeightDecay(),
		solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0)),
		solvers.WithClipNorm(1),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(solver)
	// Output:
	// Adam(lr=0.0003, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01 (decoupled), clip_norm=1, "*/bias":{weight_decay=0})
}

// Invalid settings are errors that name the setting and its range.
func ExampleNewAdam_invalid() {
	_, err := solvers.NewAdam(solvers.WithBetas(0.9, 1))
	fmt.Println(err)
	// Output:
	// solvers: beta2 = 1 is out of range [0, 1)
}

// A schedule changes the rate between steps with SetLearningRate; here a
// step decay halves it every 10 steps. The moments carry over.
func ExampleAdam_SetLearningRate() {
	solver, _ := solvers.NewAdam(solvers.WithLearnRate(0.1))
	p := newParam("w", tensor.Float32, 1)
	for step := 0; step < 30; step++ {
		if step > 0 && step%10 == 0 {
			if err := solver.SetLearningRate(solver.LearningRate() / 2); err != nil {
				log.Fatal(err)
			}
		}
		p.g.Float32s()[0] = 2 * p.w.Float32s()[0] // the gradient of w²
		if err := solver.Step(vgs(p)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("lr %.3f, w %.2f\n", solver.LearningRate(), p.w.Float32s()[0])
	// Output:
	// lr 0.025, w -0.13
}

// A checkpoint carries the solver: restore its state into a new solver and
// training continues bit for bit, at the saved learning rate.
func ExampleAdam_MarshalState() {
	solver, _ := solvers.NewAdam(solvers.WithLearnRate(0.1))
	p := newParam("w", tensor.Float64, 1)
	p.g.Float64s()[0] = 0.5
	_ = solver.Step(vgs(p))
	_ = solver.SetLearningRate(0.05)
	state, err := solver.MarshalState()
	if err != nil {
		log.Fatal(err)
	}
	resumed, _ := solvers.NewAdam()
	if err := resumed.UnmarshalState(state); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resumed.LearningRate(), resumed.Steps())
	// Output:
	// 0.05 1
}
