// Package solvers holds adamant's optimizers. Adam is the Adam optimizer
// with AdamW's decoupled weight decay, AMSGrad, PyTorch's or Keras'
// placement of epsilon, gradient clipping by global norm and by value,
// and per-parameter overrides (no weight decay on biases, layer-wise
// learning rates).
//
// Adam implements gorgonia.Solver, so it replaces G.NewAdamSolver in any
// Gorgonia program:
//
//	solver, err := solvers.NewAdam(solvers.WithLearnRate(1e-3), solvers.WithWeightDecay(1e-2), solvers.WithDecoupledWeightDecay())
//	...
//	// after every forward/backward run of the tape machine:
//	err = solver.Step(G.NodesToValueGrads(learnables))
//
// It reproduces torch.optim.Adam and AdamW (1.13) step by step, in the
// parameters' own precision (float32 math for float32 tensors), updates
// the weights in place and zeroes the consumed gradients (Gorgonia's dual
// values accumulate them). Training loops and schedules change the rate
// with SetLearningRate, and checkpoints carry the solver through
// MarshalState and UnmarshalState so a resumed run is bit-identical to an
// uninterrupted one. A step on the MNIST MLP's 101,770 float32 parameters
// does not allocate; large tensors are shared across cores in fixed
// blocks, so results do not depend on GOMAXPROCS.
//
// The formulas, every option with its default, and measurements are in
// docs/adam.md.
package solvers
