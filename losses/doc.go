// Package losses turns a model's output into the scalar a solver
// minimises: SoftmaxCrossEntropy for classification from logits and
// MeanSquaredError for regression.
//
// A Loss returns Σᵢ wᵢ·lossᵢ over the rows of a batch, with the row weights
// wᵢ supplied as an input node. graph/ sets wᵢ = 1/rows for the real rows
// and 0 for the padding of a short last batch, which makes the loss the
// batch mean (PyTorch's reduction="mean") whatever the batch's size, with
// a single compiled program.
//
// Both losses are one fused Gorgonia op with a hand-written gradient op:
// one node forward, one backward, no allocation beyond the two outputs, and
// numerically stable cross-entropy (each row is shifted by its own maximum
// and summed in float64), which Gorgonia's SoftMax cannot give.
package losses
