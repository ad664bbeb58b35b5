//go:build openblas && cgo

package fastblas

import (
	"fmt"
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
	seed := uint64(900)
	same := true
	for _, s := range benchShapes {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				seed++
				name := fmt.Sprintf("%s tA=%v tB=%v", s.name, tA, tB)
				p32 := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, float32(1), float32(0), false)
				p64 := newProblem(seed, tA, tB, s.m, s.n, s.k, 1, 1.0, 0.5, false)
				same = checkSplit(t, name+" float32", p32, 1e-5) && same
				same = checkSplit(t, name+" float64", p64, 1e-12) && same
			}
		}
	}
	t.Logf("split products equal whole ones bit for bit: %v", same)
}

// checkSplit runs p split over two threads twice and whole once: the split
// result must be right and the same both times; it reports whether it also
// equals the whole call's.
func checkSplit[T float](t *testing.T, name string, p problem[T], tol float64) (equalsWhole bool) {
	t.Helper()
	split := &OpenBLAS{threads: 2}
	ref, scale := p.reference()
	a, b := p.run(split), p.run(split)
	p.check(t, a, ref, scale, tol)
	if !equalBits(a, b) {
		t.Fatalf("%s: two split calls differ", name)
	}
	return equalBits(a, p.run(&OpenBLAS{threads: 1}))
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
