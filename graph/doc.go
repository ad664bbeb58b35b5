// Package graph declares models as Gorgonia expression graphs and compiles
// them to tape machines: one training step, evaluation, prediction, weights
// and checkpoint files. The training loop (epochs, callbacks, resume) is
// package train's.
//
// A model is a layers.Layer (usually layers.Sequential) plus a loss. New
// builds it twice over one set of weight tensors: a training program
// (forward and backward; gradients only for the learnables, never for the
// input batch) and an inference program (forward only, dropout off). The
// solver updates the shared tensors in place, so both programs always see
// the same weights, with no copy.
//
// Data flows batch → input tensors → tape machine → gradients → solver →
// callbacks:
//
//   - a datasets.Loader yields a *datasets.Batch, which graph reads through
//     its Batch interface (Evaluate and Predict take a BatchSource), so
//     graph imports neither datasets nor callbacks;
//   - the program copies it into preallocated, bound input tensors (no
//     allocation), one-hot targets and row weights: a last partial batch is
//     padded with zero-weight rows, so it counts exactly its own rows;
//   - the tape machine runs forward and backward, on the calling goroutine
//     (not through RunAll, which hands every run to a new goroutine), and
//     leaves each weight's gradient as the value of its gradient node (no
//     dual values: they would only add a pass over every gradient). The ops
//     keep their result tensors from run to run instead of allocating them
//     again, so a node's value is valid until the next run of its machine:
//     clone it to keep it longer (Predict and Evaluate return copies);
//   - the solver (solvers.Adam) updates the weights in place;
//   - train.Fit runs the callbacks around each batch and epoch and hands
//     them a callbacks.Trainer to read and set the learning rate, stop,
//     snapshot or restore weights, and write checkpoints.
//
// train.FindLR runs the learning-rate range test (callbacks.LRFinder) on a
// Model from its current weights and gives back weights, solver state and
// step count unchanged, so training can start from where it was with the
// suggested rate.
//
// Weights and checkpoints use one versioned, checksummed binary format,
// written atomically. A file also describes the model when its layers
// describe themselves (every stock layer does; see layers.Specifier), and
// Load then rebuilds the model from the file alone. Errors from Gorgonia, including its panics while a
// graph is built or an op runs, come back as errors naming the layer, input
// or parameter.
package graph
