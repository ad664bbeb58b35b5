package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestSgemmGatheredMatchesStored: SgemmGathered gives, bit for bit, what
// Sgemm gives on the gathered matrix stored out, for shapes on and off the
// kernels' tiles and blocks (both kernel widths), both layouts of B, beta
// zero and not, and offset tables that overlap (as an unrolled image's
// windows do) or jump about.
func TestSgemmGatheredMatchesStored(t *testing.T) {
	impl := New(WithThreads(1))
	if !impl.Accelerated() {
		if impl.SgemmGathered(blas.NoTrans, 1, 1, 1, 1, []float32{1}, []int32{0}, []int32{0}, []float32{1}, 1, 0, []float32{0}, 1) {
			t.Fatal("SgemmGathered ran without the assembly kernels")
		}
		t.Skip("no assembly kernels here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range []int{1, 6, 7, 13, 250} {
		for _, n := range []int{1, 16, 17, 32, 70} {
			for _, k := range []int{1, 5, 25, 300} {
				for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					for _, beta := range []float32{0, 0.5} {
						name := fmt.Sprintf("m=%d n=%d k=%d tB=%c beta=%v", m, n, k, tB, beta)
						a := make([]float32, 4000)
						for i := range a {
							a[i] = float32(rng.NormFloat64())
						}
						rows, cols := make([]int32, m), make([]int32, k)
						for i := range rows {
							rows[i] = int32(rng.IntN(2000))
						}
						for p := range cols {
							cols[p] = int32(p%7 + 11*(p/7))
							if m%2 == 1 {
								cols[p] = int32(rng.IntN(1990))
							}
						}
						stored := make([]float32, m*k)
						for i := range rows {
							for p := range cols {
								stored[i*k+p] = a[int(rows[i])+int(cols[p])]
							}
						}
						ldb := n
						if tB == blas.Trans {
							ldb = k
						}
						b := make([]float32, k*n)
						c := make([]float32, m*n)
						for i := range b {
							b[i] = float32(rng.NormFloat64())
						}
						for i := range c {
							c[i] = float32(rng.NormFloat64())
						}
						want := append([]float32(nil), c...)
						impl.OneThread().Sgemm(blas.NoTrans, tB, m, n, k, 1.5, stored, k, b, ldb, beta, want, n)
						if !impl.OneThread().(interface {
							SgemmGathered(blas.Transpose, int, int, int, float32, []float32, []int32, []int32, []float32, int, float32, []float32, int) bool
						}).SgemmGathered(tB, m, n, k, 1.5, a, rows, cols, b, ldb, beta, c, n) {
							t.Fatalf("%s: not run", name)
						}
						for i := range want {
							if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s: c[%d] = %v, want %v", name, i, c[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmGatheredRejectsBadOffsets: offsets outside a, negative ones and
// short tables panic instead of reading out of bounds.
func TestSgemmGatheredRejectsBadOffsets(t *testing.T) {
	impl := New(WithThreads(1))
	if !impl.Accelerated() {
		t.Skip("no assembly kernels here")
	}
	a, b, c := make([]float32, 10), make([]float32, 4), make([]float32, 4)
	for name, call := range map[string]func(){
		"past the end": func() { impl.SgemmGathered(blas.NoTrans, 2, 2, 2, 1, a, []int32{0, 8}, []int32{0, 2}, b, 2, 0, c, 2) },
		"negative":     func() { impl.SgemmGathered(blas.NoTrans, 2, 2, 2, 1, a, []int32{0, -1}, []int32{0, 2}, b, 2, 0, c, 2) },
		"short table":  func() { impl.SgemmGathered(blas.NoTrans, 2, 2, 2, 1, a, []int32{0}, []int32{0, 2}, b, 2, 0, c, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
}
