//go:build openblas && cgo

package fastblas

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestOpenBLASSplitMatchesWhole: a product split into column ranges over
// the pool gives the bits of the same product in one call, for the MLP's
// shapes and every transpose, float32 and float64.
func TestOpenBLASSplitMatchesWhole(t *testing.T) {
	whole, split := &OpenBLAS{threads: 1}, &OpenBLAS{threads: 2}
	seed := uint64(900)
	for _, s := range benchShapes {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				seed++
				p := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, float32(1), float32(0), false)
				a, b := p.run(whole), p.run(split)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s tA=%v tB=%v float32: element %d = %v split, %v whole", s.name, tA, tB, i, b[i], a[i])
					}
				}
				q := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, 1.0, 0.5, false)
				c, d := q.run(whole), q.run(split)
				for i := range c {
					if math.Float64bits(c[i]) != math.Float64bits(d[i]) {
						t.Fatalf("%s tA=%v tB=%v float64: element %d = %v split, %v whole", s.name, tA, tB, i, d[i], c[i])
					}
				}
			}
		}
	}
}

// TestOpenBLASSplitAllocatesNothing: a split product reuses its job.
func TestOpenBLASSplitAllocatesNothing(t *testing.T) {
	impl := &OpenBLAS{threads: 2}
	p := newProblem(7, blas.NoTrans, blas.NoTrans, 64, 128, 784, 0, float32(1), float32(0), false)
	c := p.cloneC()
	call := func() {
		impl.Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
	}
	call()
	if n := testing.AllocsPerRun(50, call); n > 0 {
		t.Fatalf("a split Sgemm allocates %v times", n)
	}
}
