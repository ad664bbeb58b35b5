// Package fastblas is a faster BLAS for Gorgonia: gonum's pure-Go
// implementation with Sgemm and Dgemm replaced by cache-blocked AVX2+FMA
// (and AVX-512) assembly kernels that use several cores, without cgo.
//
// # Why
//
// Matrix products are most of the arithmetic of a dense network. gonum's
// Sgemm reaches 10–15 GFLOP/s on one core of our 2-core machines and uses a
// second core only when ceil(m/64)·ceil(n/64) ≥ 4, which the MNIST MLP's
// forward product (64×784 · 784×128) is not. fastblas runs that product at
// about 95 GFLOP/s on one core with AVX2 and 140 with AVX-512, and splits
// it over the free cores; see BenchmarkSgemm.
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
// arguments; like every blas.Float32, they panic rather than return errors,
// and Gorgonia checks shapes before it calls them. With beta = 0, C is only
// written, so NaNs in it do not propagate; with alpha = 0 or k = 0, A and B
// are not read (gonum reads them, so a NaN in A or B shows up in its C).
//
// Results are bit-identical for the same inputs on any machine that runs
// the kernels, whatever WithThreads says, however the call was split and
// however often it is repeated: a call is split over goroutines by columns
// (or rows) of C, never along k, and every element is computed by the same
// instructions, one fused multiply-add chain over k in blocks of 256, then
// alpha and beta. They are not bit-identical to gonum's, which rounds
// differently (no FMA, another summation order); the two differ by a few
// units in the last place of the larger terms, as any two BLAS
// implementations do. Golden files recorded with gonum must therefore be
// compared with a tolerance, or recorded with fastblas installed.
//
// # Threads
//
// A product with m·n·k below 131,072 (the MLP's 64×128×10-sized ones) runs
// on the caller's goroutine. A larger one is cut into column ranges (up to
// 4 per thread), which the caller and a pool of worker goroutines claim
// one at a time, so a worker that is slow to start costs nothing: the
// caller runs whatever is left. The pool is the process's only one, shared
// with the solvers package's Adam, so that the two never keep more threads
// busy than there are cores. Workers are started once; after a part
// they poll for the next call for 1 ms (training issues its large products
// well within that), with the PAUSE spin-wait hint between polls and
// yielding to other goroutines now and then, and then park. Waking a
// parked thread took 40–300 µs on our virtual machines, longer than the
// whole product, which is why they poll.
//
// A second thread is not always faster. When other processes keep the
// other core busy, the operating system runs a worker late and its polling
// takes CPU time from the caller; and when the caller's core has just
// written the operands, moving them to the worker's core can cost what the
// second core saves. So each Implementation times its large calls both
// ways, split and on the caller alone, and uses the faster; every 128
// calls it runs 8 the other way to follow the machine. On our 2-core
// machines, splitting made the MLP's two large products about 1.6 times as
// fast when the other core was idle, and was dropped within a few calls
// while another training job ran. WithThreads(1) turns all of this off.
// Results never depend on it: see above.
//
// Code that splits its own work over the pool takes OneThread, a view
// whose products run on the calling goroutine with the same kernels (and
// bits): the layers package's convolution runs a whole chunk of images per
// thread, product included, which took the MNIST CNN's step on two threads
// from 29 to 22 ms, against one split product per chunk.
//
// # CPU requirements
//
// The kernels need amd64 with AVX2 and FMA (Intel Haswell, AMD Excavator
// and later), detected at run time with golang.org/x/sys/cpu. Where the CPU
// and the operating system also support AVX-512F, products with more
// columns than 16 (float32) or 8 (float64) use AVX-512 kernels that do
// twice the work per instruction; they compute every element with the same
// sequence of operations as the AVX2 ones, so results are the same bit for
// bit with and without AVX-512. On CPUs without AVX2 and FMA, on other architectures and in builds with the purego tag,
// Sgemm and Dgemm call gonum's code: same results as without fastblas, same
// speed. Accelerated reports which path is in use. All other BLAS routines
// are always gonum's.
//
// # Cost
//
// Each goroutine that runs a product gets packing buffers of the largest
// block the kernels pack, allocated in full on its first product (1 MiB
// for B, 6 KiB of float32 or 12 KiB of float64 for A's last rows), so no
// call allocates after that, whatever its size and whichever goroutine
// runs it. Callers' buffers are kept by the Implementation, workers' by the
// workers, for as long as they live, rather than in a sync.Pool, which
// every garbage collection would empty.
//
// # Gathered operands
//
// SgemmGathered multiplies a matrix that is not stored: element (i, p) is
// a[rows[i]+cols[p]]. With a the zero-padded images of a convolution and
// the two tables the offsets of each output position's window and of each
// kernel cell within it, that matrix is the unrolled (im2col) one, read by
// the kernels from the images instead of being written out first. It runs
// on the calling goroutine (callers split their batches themselves) and
// gives the bits Sgemm gives on the stored matrix.
//
// # OpenBLAS
//
// Built with the openblas tag and cgo (Debian: apt-get install
// libopenblas-dev; go build -tags openblas), the package also provides
// InstallOpenBLAS, which installs an OpenBLAS type whose Sgemm and Dgemm
// call cblas_sgemm and cblas_dgemm. OpenBLAS is faster on tiny products and
// uses AVX-512 where present; fastblas is as fast or faster on the MLP's
// large ones and needs no C toolchain. OpenBLAS's results depend on its
// version, the CPU and its thread count; fastblas's determinism guarantees
// do not extend to it.
package fastblas
