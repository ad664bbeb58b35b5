package fastblas

import (
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShapes are the five products of one MNIST MLP step (float32,
// 784-128-10, batch 64) as Gorgonia issues them, and a square 256³.
var benchShapes = []struct {
	name    string
	tA, tB  blas.Transpose
	m, n, k int
}{
	{"x.W1_64x128x784", blas.NoTrans, blas.NoTrans, 64, 128, 784},
	{"h.W2_64x10x128", blas.NoTrans, blas.NoTrans, 64, 10, 128},
	{"xT.dY1_784x128x64", blas.Trans, blas.NoTrans, 784, 128, 64},
	{"hT.dY2_128x10x64", blas.Trans, blas.NoTrans, 128, 10, 64},
	{"dY2.W2T_64x128x10", blas.NoTrans, blas.Trans, 64, 128, 10},
	{"square_256x256x256", blas.NoTrans, blas.NoTrans, 256, 256, 256},
}

func benchImpls() []struct {
	name string
	impl interface {
		blas.Float32
		blas.Float64
	}
} {
	// What machines without AVX-512 run.
	avx2 := New(WithThreads(1))
	avx2.useAVX512(false)
	return []struct {
		name string
		impl interface {
			blas.Float32
			blas.Float64
		}
	}{
		{"gonum", gonum.Implementation{}},
		{"fastblas-1thread", New(WithThreads(1))},
		{"fastblas-2threads", New(WithThreads(2))},
		{"fastblas-avx2-1thread", avx2},
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		p := newProblem(1, s.tA, s.tB, s.m, s.n, s.k, 0, float32(1), float32(0), false)
		for _, im := range benchImpls() {
			b.Run(s.name+"/"+im.name, func(b *testing.B) {
				c := p.cloneC()
				call := func() {
					im.impl.Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
				}
				call() // grow the packing buffers outside the measurement
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					call()
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkDgemm(b *testing.B) {
	for _, s := range benchShapes {
		p := newProblem(1, s.tA, s.tB, s.m, s.n, s.k, 0, 1.0, 0.0, false)
		for _, im := range benchImpls() {
			b.Run(s.name+"/"+im.name, func(b *testing.B) {
				c := p.cloneC()
				call := func() {
					im.impl.Dgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c, p.ldc)
				}
				call()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					call()
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
