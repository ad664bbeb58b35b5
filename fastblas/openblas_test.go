//go:build openblas && cgo

package fastblas

import (
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

var _ G.BLAS = (*OpenBLAS)(nil)

func TestOpenBLASAgainstReference(t *testing.T) {
	impl := &OpenBLAS{}
	seed := uint64(500)
	for _, s := range shapes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				for _, sc := range scalarCases {
					seed++
					p32 := newProblem(seed, tA, tB, s.m, s.n, s.k, 3, float32(sc.alpha), float32(sc.beta), sc.beta == 0)
					ref, scale := p32.reference()
					p32.check(t, p32.run(impl), ref, scale, 1e-5)
					p64 := newProblem(seed, tA, tB, s.m, s.n, s.k, 3, sc.alpha, sc.beta, sc.beta == 0)
					ref, scale = p64.reference()
					p64.check(t, p64.run(impl), ref, scale, 1e-12)
				}
			}
		}
	}
}

func TestOpenBLASPanicsLikeGonum(t *testing.T) {
	a, b, c := make([]float32, 4), make([]float32, 4), make([]float32, 3)
	got := panicMessage(func() { (&OpenBLAS{}).Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2) })
	want := panicMessage(func() { gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2) })
	if got != want || got == nil {
		t.Fatalf("panic %v, gonum's %v", got, want)
	}
}

func TestInstallOpenBLAS(t *testing.T) {
	before := G.WhichBLAS()
	defer G.Use(before)
	impl := InstallOpenBLAS(WithThreads(1))
	if G.WhichBLAS() != G.BLAS(impl) {
		t.Fatal("InstallOpenBLAS did not make OpenBLAS Gorgonia's BLAS")
	}
}

func BenchmarkSgemmOpenBLAS(b *testing.B) {
	for _, s := range benchShapes {
		p := newProblem(1, s.tA, s.tB, s.m, s.n, s.k, 0, float32(1), float32(0), false)
		b.Run(s.name, func(b *testing.B) {
			impl := &OpenBLAS{}
			c := p.cloneC()
			b.ReportAllocs()
			for b.Loop() {
				impl.Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
