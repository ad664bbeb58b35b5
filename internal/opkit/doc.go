// Package opkit holds what adamant's own Gorgonia ops (in layers and
// losses) share: the answers every one of them gives to gorgonia.Op, the
// hash that keeps Gorgonia from merging ops with different parameters, and
// Output, the result buffer an op keeps from one run of a machine to the
// next.
//
// Output exists because a tape machine's Reset drops every op's result, so
// an op that allocates its result allocates it again on every run: about
// one copy of a model's activations and gradients per training step
// (588 KB and 274 allocations for the MNIST MLP before ops kept their
// buffers). An op that keeps its result in an Output allocates it once.
// The price is the one Gorgonia's own preallocated ops already charge: the
// value a node holds after a run is valid until the next run of the same
// machine, which overwrites it; clone it to keep it longer.
package opkit
