//go:build openblas && cgo

package fastblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/gorgonia"
)

// OpenBLAS is a BLAS for Gorgonia whose Sgemm and Dgemm call OpenBLAS's
// cblas_sgemm and cblas_dgemm through cgo; every other routine is gonum's.
// It exists for machines where OpenBLAS is installed and the last factor of
// speed matters more than a pure-Go build. It is compiled only with the
// openblas build tag and cgo enabled (Debian: apt-get install
// libopenblas-dev; go build -tags openblas).
type OpenBLAS struct {
	gonum.Implementation
}

// InstallOpenBLAS makes an OpenBLAS Gorgonia's and tensor's BLAS
// (gorgonia.Use) and returns it. Like Install, call it once at program
// start, before any machine is created. WithThreads sets OpenBLAS's own
// thread count, which is global to the process (openblas_set_num_threads);
// without it OpenBLAS's default (OPENBLAS_NUM_THREADS, else all cores)
// stays. Other options are ignored.
func InstallOpenBLAS(opts ...Option) *OpenBLAS {
	cfg := &Implementation{}
	for _, opt := range opts {
		if opt != nil {
			opt(cfg)
		}
	}
	if cfg.threads > 0 {
		C.openblas_set_num_threads(C.int(cfg.threads))
	}
	impl := &OpenBLAS{}
	gorgonia.Use(impl)
	return impl
}

func cblasTrans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with OpenBLAS, after
// gonum's argument checks (and panics); see Implementation.Sgemm.
func (OpenBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(&gemmArgs[float32]{m: m, n: n, beta: beta, c: c, ldc: ldc})
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

// Dgemm is Sgemm for float64 matrices.
func (OpenBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc) {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(&gemmArgs[float64]{m: m, n: n, beta: beta, c: c, ldc: ldc})
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, cblasTrans(tA), cblasTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
		C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
}
