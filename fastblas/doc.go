// Package fastblas is a faster BLAS for Gorgonia on amd64: gonum's pure-Go
// implementation with Sgemm and Dgemm replaced by packed, cache-blocked
// AVX2+FMA assembly kernels that use several cores.
//
// # Why
//
// Matrix products are most of the arithmetic of a dense network, and
// gonum's Sgemm reaches about 15 GFLOP/s on one core here and uses a second
// core only when ceil(m/64)·ceil(n/64) ≥ 4, which the MNIST MLP's forward
// product (64×784 · 784×128) is not. fastblas's float32 kernel reaches about
// four times that on one core and splits such products over all cores,
// without cgo.
//
// # Installing it
//
// Call Install once at program start, before any Gorgonia machine is
// created:
//
//	func main() {
//		fastblas.Install() // or fastblas.Install(fastblas.WithThreads(1))
//		// ... build graphs, create TapeMachines, train ...
//	}
//
// Install calls gorgonia.Use, which sets the BLAS of both gorgonia and
// gorgonia.org/tensor. Gorgonia reads it without locking while machines
// run, so switching BLAS while one runs is a data race. New builds an
// Implementation without installing it, for use through gonum's
// blas.Float32 and blas.Float64 interfaces directly.
//
// # Semantics and determinism
//
// Sgemm and Dgemm follow the BLAS (and gonum): C = alpha·op(A)·op(B) +
// beta·C in row-major order with leading dimensions, all four transpose
// combinations, and gonum's panics (with gonum's messages) on invalid
// arguments. With beta = 0, C is only written, so NaNs in it do not
// propagate; with alpha = 0 or k = 0, A and B are not read.
//
// Results are bit-identical for the same inputs on the same machine,
// whatever WithThreads says and however often a call is repeated: a call is
// split over goroutines by rows or columns of C, never along k, and every
// element is computed by the same instructions (one fused multiply-add
// chain over k in blocks of 256, then alpha and beta). They are not
// bit-identical to gonum's, which rounds differently (no FMA, another
// summation order); the difference is within a few units in the last place
// per product term, as for any two BLAS implementations.
//
// # CPU requirements
//
// The kernels need AVX2 and FMA (Intel Haswell, AMD Excavator and later),
// detected at run time with golang.org/x/sys/cpu. On CPUs without them, on
// other architectures and in builds with the purego tag, Sgemm and Dgemm
// call gonum's code: same results as without fastblas, same speed.
// Accelerated reports which path is in use. All other BLAS routines are
// always gonum's.
//
// # Cost
//
// A call allocates nothing once its goroutines' packing buffers have
// grown to the largest problem seen (at most about 1.2 MiB per goroutine
// for float32). Products with m·n·k below 131,072 run on the caller's
// goroutine; larger ones are shared with a fixed pool of worker goroutines
// that is started once and parked when idle.
package fastblas
