//go:build openblas && cgo

package fastblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// OpenBLAS is a BLAS for Gorgonia whose Sgemm and Dgemm call OpenBLAS's
// cblas_sgemm and cblas_dgemm through cgo; every other routine is gonum's.
// It exists for machines where OpenBLAS is installed and the last factor of
// speed matters more than a pure-Go build. It is compiled only with the
// openblas build tag and cgo enabled (Debian: apt-get install
// libopenblas-dev; go build -tags openblas).
//
// OpenBLAS itself runs single-threaded; a large product is cut into column
// ranges that the shared worker pool (internal/workpool) runs in parallel,
// one cblas call each. OpenBLAS's own threads spin between calls (in
// sched_yield) on the same cores as the pool's worker and the training
// goroutine: on our 2-core machines an MNIST epoch took 0.50 s that way
// and 0.38 s with the split (docs/performance.md). The column ranges
// depend only on the shape and the thread count, never on timing, so a
// run is as repeatable as with OpenBLAS's own threading.
type OpenBLAS struct {
	gonum.Implementation
	threads int
}

// InstallOpenBLAS makes an OpenBLAS Gorgonia's and tensor's BLAS
// (gorgonia.Use) and returns it. Like Install, call it once at program
// start, before any machine is created. WithThreads sets how many threads
// a large product is split over (default GOMAXPROCS); it also sets
// OpenBLAS's own thread count, which is global to the process, to 1.
// Other options are ignored.
func InstallOpenBLAS(opts ...Option) *OpenBLAS {
	cfg := &Implementation{threads: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		if opt != nil {
			opt(cfg)
		}
	}
	C.openblas_set_num_threads(1)
	impl := &OpenBLAS{threads: max(cfg.threads, 1)}
	gorgonia.Use(impl)
	return impl
}

func cblasTrans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// openblasColumnTile is the unit of the column ranges a split product is
// cut into: a multiple of every OpenBLAS kernel's register tile.
const openblasColumnTile = 32

// openblasJob is a product whose parts are column ranges of C.
type openblasJob[T float] struct {
	workpool.State
	tA, tB      blas.Transpose
	m, n, k     int
	alpha, beta T
	a, b, c     []T
	lda, ldb    int
	ldc, parts  int
}

// RunPart computes part p's columns of C with one cblas call: columns
// [j0, j1) of C need columns [j0, j1) of op(B), which start j0 elements
// (B not transposed) or j0 rows (transposed) into B.
func (j *openblasJob[T]) RunPart(p, _ int) {
	j0, j1 := partRange(j.n, openblasColumnTile, j.parts, p)
	if j0 == j1 {
		return
	}
	off := j0
	if j.tB != blas.NoTrans {
		off = j0 * j.ldb
	}
	cblasGemm(j.tA, j.tB, j.m, j1-j0, j.k, j.alpha, j.a, j.lda, j.b[off:], j.ldb, j.beta, j.c[j0:], j.ldc)
}

// cblasGemm is one single-threaded cblas_sgemm or cblas_dgemm call.
func cblasGemm[T float](tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		b, c := any(b).([]float32), any(c).([]float32)
		C.cblas_sgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
			C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
			C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
	case []float64:
		b, c := any(b).([]float64), any(c).([]float64)
		C.cblas_dgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
			C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
			C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
	}
}

// openblasGemm runs a checked call: on the caller alone when it is small
// or has a single column tile, else split into column ranges.
func openblasGemm[T float](threads int, jobs *sync.Pool, tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if alpha == 0 || k == 0 {
		scaleC(&gemmArgs[T]{m: m, n: n, beta: beta, c: c, ldc: ldc})
		return
	}
	tiles := (n + openblasColumnTile - 1) / openblasColumnTile
	if threads <= 1 || tiles < 2 || m*n*k < defaultSmallWork {
		cblasGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	j := jobs.Get().(*openblasJob[T])
	*j = openblasJob[T]{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c,
		lda: lda, ldb: ldb, ldc: ldc, parts: min(tiles, threads*partsPerThread)}
	workpool.Run(j, j.parts, threads-1)
	j.a, j.b, j.c = nil, nil, nil
	jobs.Put(j)
}

var (
	openblasJobs32 = sync.Pool{New: func() any { return new(openblasJob[float32]) }}
	openblasJobs64 = sync.Pool{New: func() any { return new(openblasJob[float64]) }}
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with OpenBLAS, after
// gonum's argument checks (and panics); see Implementation.Sgemm.
func (impl *OpenBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	openblasGemm(impl.threads, &openblasJobs32, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm for float64 matrices.
func (impl *OpenBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	openblasGemm(impl.threads, &openblasJobs64, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
