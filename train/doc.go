// Package train runs the training loop: Fit trains a graph.Model with a
// solver on a datasets.Dataset, epoch after epoch, running callbacks around
// every batch and epoch, and resumes from its own checkpoints bit for bit.
//
// Fit is the one place that calls callback hooks. The state it hands them
// as their callbacks.Trainer reads and sets the learning rate, stops
// training, snapshots and restores weights, and writes checkpoints: the
// model's weights, the solver's state, the loop's position with the running
// sums of the epoch in progress, and every stateful callback's state, in
// graph's checksummed container.
//
// Fit takes any gorgonia.Solver (Solver) and looks for the optional parts of
// the solver contract — LearningRater, StateMarshaler, GradNormer — by type
// assertion; solvers.Adam implements all three, and a solver of your own
// gets each feature by adding its methods (see the SGD-with-momentum
// example).
//
// Seeds: graph.WithSeed drives the weights and dropout, WithDataSeed the
// data (validation split, shuffle, augmentation) and defaults to the
// model's seed.
package train
