// Package workpool is the process-wide pool of worker goroutines that
// fastblas (matrix products) and solvers (Adam's parameter blocks) share
// to use more than one core.
//
// # Why one pool, and why it spins
//
// Waking a parked goroutine whose thread sleeps took 40–300 µs on the
// 2-core virtual machines we measured: longer than the 64×784·784×128
// product of the MNIST MLP and longer than a whole Adam step. So an idle
// worker does not block at once: it polls for work for 1 ms, with the
// PAUSE spin-wait hint between polls and runtime.Gosched now and then, and
// only then parks. A training step issues its large products and its
// optimizer step well within 1 ms of each other, so during training a
// split call reaches another core in about 0.1 µs.
//
// A polling worker keeps a core busy. Two packages with a pool each would
// keep two cores busy besides the training goroutine, one more than a
// 2-core machine has; hence a single pool, shared by everything in the
// process that splits work. It grows to the largest number of helpers a
// call has asked for and never shrinks (a parked goroutine costs a few KiB
// and no CPU).
//
// # Using it
//
// A job is work cut into parts that may run in any order, on any
// goroutine. Its type embeds State and implements RunPart; Run runs all
// parts, on the calling goroutine and on up to the given number of pool
// workers, and returns when every part is done and no worker touches the
// job any more, so its fields may be reused at once. Parts the workers
// have not claimed by the time the caller is free are run by the caller,
// so a worker that is slow to start costs nothing but the part it took.
// RunPart learns which goroutine runs it (Caller or a worker index below
// MaxWorkers), so that callers can keep per-worker scratch memory that
// stays in that worker's cache: fastblas keeps its packing buffers so.
//
// Run allocates nothing once the pool's queue has grown to the number of
// jobs that run at the same time, and results cannot depend on which
// goroutine ran which part as long as parts write disjoint memory.
//
// # When not to split
//
// A second core is not always a gain: when other processes keep it busy,
// a worker that claimed a part can be descheduled for a whole time slice
// while the caller waits, and a polling worker takes CPU time from the
// caller. A Chooser times a stream of calls both ways and picks the faster
// one, trying the other now and then; fastblas and solvers keep one per
// BLAS and per optimizer.
package workpool
