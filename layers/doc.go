// Package layers declares neural-network models as Gorgonia expression
// graphs: fully connected and convolutional layers, pooling, dropout,
// activations and Sequential to chain them.
//
// A Layer adds nodes to a graph through a Scope. graph/ builds every model
// twice from the same Layer value, a training program (Scope.Training true,
// dropout on) and an inference program, over one ParamSet: the first build
// creates each parameter with its initializer, the second wraps the very
// same tensor, so a solver's in-place updates are seen by both programs.
// Names come from Scope.UniqueName ("dense/weight", "dense_1/weight", …) in
// build order, which keeps them stable from run to run: they key saved
// weights and the solver's state.
//
// Defaults follow PyTorch, so that a model ported from it starts from the
// same distribution: Dense and Conv2D draw weights from KaimingUniform(√5)
// and biases from LinearBiasUniform, Dropout scales survivors by 1/(1−p),
// MaxPool2D's stride defaults to its kernel. Initialisation and dropout
// masks are seeded from the scope's seed: a seed gives bit-identical
// weights and masks.
//
// The activations, the row-wise Softmax and LogSoftmax, and MaxPool2D are
// custom Gorgonia ops (one node forward, one backward, float32 and
// float64), because Gorgonia's own are either several nodes each or wrong:
// its SoftMax takes the running maximum over the whole tensor instead of
// each row, and its MaxPool2D panics on NaN. Gorgonia panics raised while a
// layer builds its nodes are returned as errors naming the layer.
//
// Sequential runs a ReLU that a MaxPool2D directly follows as one pooling
// node over the rectified input, with the two layers' values and gradients
// bit for bit; nest the ReLU in a Sequential of its own to keep its node.
package layers
