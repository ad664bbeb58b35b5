//go:build openblas && cgo

package fastblas

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestOpenBLASSplit: a product split into column ranges over the pool is
// right (against the float64 reference) and repeatable (the same bits on
// every call), for the MLP's shapes and every transpose, float32 and
// float64. Whether it also equals one whole call bit for bit depends on
// OpenBLAS's kernels (it does with 0.3.21 on our AVX-512 machines); that
// is logged, not required: runs repeat because the split depends only on
// the shape and the thread count.
func TestOpenBLASSplit(t *testing.T) {
	whole, split := &OpenBLAS{threads: 1}, &OpenBLAS{threads: 2}
	seed := uint64(900)
	same := true
	for _, s := range benchShapes {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				seed++
				p := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, float32(1), float32(0), false)
				ref, scale := p.reference()
				a, b, c := p.run(split), p.run(split), p.run(whole)
				p.check(t, a, ref, scale, 1e-5)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s tA=%v tB=%v float32: element %d = %v, then %v", s.name, tA, tB, i, a[i], b[i])
					}
					same = same && math.Float32bits(a[i]) == math.Float32bits(c[i])
				}
				q := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, 1.0, 0.5, false)
				ref, scale = q.reference()
				d, e, f := q.run(split), q.run(split), q.run(whole)
				q.check(t, d, ref, scale, 1e-12)
				for i := range d {
					if math.Float64bits(d[i]) != math.Float64bits(e[i]) {
						t.Fatalf("%s tA=%v tB=%v float64: element %d = %v, then %v", s.name, tA, tB, i, d[i], e[i])
					}
					same = same && math.Float64bits(d[i]) == math.Float64bits(f[i])
				}
			}
		}
	}
	t.Logf("split products equal whole ones bit for bit: %v", same)
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
