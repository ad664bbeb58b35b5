package layers

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/fastblas"
)

// BenchmarkConvPasses times each pass of the MNIST CNN's two convolutions
// over a batch of 64 on fastblas with one thread, the passes one by one,
// so that a change to one of them can be measured apart from the step.
func BenchmarkConvPasses(b *testing.B) {
	fastblas.Install(fastblas.WithThreads(1))
	defer G.Use(gonum.Implementation{})
	for _, l := range []struct {
		name string
		g    convGeom
	}{
		{"conv1", convGeom{n: 64, c: 1, h: 28, w: 28, f: 16, oh: 28, ow: 28, k: 5, stride: 1, pad: 2}},
		{"conv2", convGeom{n: 64, c: 16, h: 14, w: 14, f: 32, oh: 14, ow: 14, k: 5, stride: 1, pad: 2}},
	} {
		g := l.g
		x := make([]float32, g.n*g.c*g.h*g.w)
		w := make([]float32, g.f*g.kk())
		bias := make([]float32, g.f)
		y := make([]float32, g.n*g.f*g.p())
		for i := range x {
			x[i] = float32(i%13) - 6
		}
		for i := range w {
			w[i] = float32(i%7) * 0.1
		}
		for i := range y {
			y[i] = float32(i%5) - 2
		}
		dx, shares, dw := make([]float32, len(x)), make([]float32, g.chunks()*g.kk()*g.f), make([]float32, len(w))
		js := &convJobs{}
		for _, pass := range []struct {
			name string
			run  func()
		}{
			{"forward", func() { runConv(js, passForward, g, x, w, bias, nil, y) }},
			{"data", func() { runConv(js, passData, g, nil, w, nil, y, dx) }},
			{"filter", func() { convBackwardFilter(js, g, x, y, dw, shares) }},
		} {
			b.Run(fmt.Sprintf("%s/%s", l.name, pass.name), func(b *testing.B) {
				pass.run()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					pass.run()
				}
			})
		}
	}
}

// TestPixelMajorForwardSameBits: on fastblas, the forward pass made as
// yᵀ = colᵀ·Wᵀ and transposed (pixelMajorForward) gives the bits of
// y = W·col with the bias scattered, for filter counts on and off the
// transpose kernel's tiles and output planes that are not whole tiles.
func TestPixelMajorForwardSameBits(t *testing.T) {
	fastblas.Install(fastblas.WithThreads(1))
	defer G.Use(gonum.Implementation{})
	for _, g := range []convGeom{
		{n: 5, c: 16, h: 14, w: 14, f: 32, oh: 14, ow: 14, k: 5, stride: 1, pad: 2},
		{n: 3, c: 1, h: 28, w: 28, f: 16, oh: 28, ow: 28, k: 5, stride: 1, pad: 2},
		{n: 4, c: 3, h: 9, w: 7, f: 20, oh: 5, ow: 4, k: 3, stride: 2, pad: 1},
	} {
		if !g.pixelMajorForward() {
			t.Fatalf("%+v: not pixel-major", g)
		}
		x := make([]float32, g.n*g.c*g.h*g.w)
		w := make([]float32, g.f*g.kk())
		bias := make([]float32, g.f)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		for i := range w {
			w[i] = float32(math.Cos(float64(i))) * 0.3
		}
		for i := range bias {
			bias[i] = float32(i)*0.01 - 0.1
		}
		got := make([]float32, g.n*g.f*g.p())
		runConv(&convJobs{}, passForward, g, x, w, bias, nil, got)

		want := make([]float32, len(got))
		unrolledChunks(g, x, func(lane *convLane[float32], n0, nc, ld int) {
			gemmOn(G.WhichBLAS(), false, false, g.f, ld, g.kk(), 1, w, g.kk(), lane.col, ld, 0, lane.mat, ld)
			scatterBias(g, lane.mat, bias, want, n0, nc)
		})
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: y[%d] = %v, want %v", g, i, got[i], want[i])
			}
		}
	}
}

// TestParallelPassesSameBitsAnyThreadCount: ReLU and the bias gradient,
// split over the threads when large, give the bits of one thread for 2
// and 3 threads (the sum of each channel is made in one order).
func TestParallelPassesSameBitsAnyThreadCount(t *testing.T) {
	defer G.Use(gonum.Implementation{})
	const n, channels, p = 5, 7, 3001 // n·channels·p > parallelElems
	x := make([]float32, n*channels*p)
	g := make([]float32, len(x))
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
		g[i] = float32(math.Cos(float64(i) * 0.11))
	}
	run := func(threads int) (relu, masked, sums []float32) {
		fastblas.Install(fastblas.WithThreads(threads))
		relu, masked, sums = make([]float32, len(x)), make([]float32, len(x)), make([]float32, channels)
		parallelReLUMask(x, x, relu)
		parallelReLUMask(x, g, masked)
		sumChannels(g, sums, n, channels, p)
		return relu, masked, sums
	}
	wantRelu, wantMasked, wantSums := run(1)
	for c := range wantSums {
		var exact float64
		for i := 0; i < n; i++ {
			for _, v := range g[(i*channels+c)*p : (i*channels+c+1)*p] {
				exact += float64(v)
			}
		}
		if d := math.Abs(float64(wantSums[c]) - exact); d > 1e-4*(1+math.Abs(exact)) {
			t.Fatalf("channel %d sums to %v, want %v", c, wantSums[c], exact)
		}
	}
	for _, threads := range []int{2, 3} {
		relu, masked, sums := run(threads)
		for name, pair := range map[string][2][]float32{"relu": {relu, wantRelu}, "masked": {masked, wantMasked}, "sums": {sums, wantSums}} {
			for i := range pair[1] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("%d threads: %s[%d] = %v, want %v", threads, name, i, pair[0][i], pair[1][i])
				}
			}
		}
	}
}

// TestGatheredFilterPassSameBits: on fastblas, the filter pass that
// gathers each chunk's unrolled images from the padded images gives the
// bits of unrolling them (im2col) and multiplying, on one thread and on
// two (the one-thread view), for strides 1 and 2 and filter counts on and
// off the kernels' panels.
func TestGatheredFilterPassSameBits(t *testing.T) {
	defer G.Use(gonum.Implementation{})
	for _, g := range []convGeom{
		{n: 20, c: 16, h: 14, w: 14, f: 32, oh: 14, ow: 14, k: 5, stride: 1, pad: 2},
		{n: 9, c: 1, h: 28, w: 28, f: 16, oh: 28, ow: 28, k: 5, stride: 1, pad: 2},
		{n: 11, c: 3, h: 9, w: 7, f: 5, oh: 5, ow: 4, k: 3, stride: 2, pad: 1},
	} {
		x := make([]float32, g.n*g.c*g.h*g.w)
		dy := make([]float32, g.n*g.f*g.p())
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		for i := range dy {
			dy[i] = float32(math.Cos(float64(i) * 0.3))
		}
		for _, threads := range []int{1, 2} {
			fastblas.Install(fastblas.WithThreads(threads))
			got := make([]float32, g.chunks()*g.kk()*g.f)
			runConv(&convJobs{}, passFilter, g, x, nil, nil, dy, got)

			want := make([]float32, len(got))
			unrolledChunks(g, x, func(lane *convLane[float32], n0, nc, ld int) {
				transposeChunk(g, dy, lane.mat, n0, nc)
				c := n0 / g.chunk()
				gemmOn(G.WhichBLAS(), false, false, g.kk(), g.f, ld, 1, lane.col, ld, lane.mat, g.f, 0, want[c*g.kk()*g.f:(c+1)*g.kk()*g.f], g.f)
			})
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v, %d threads: share value %d = %v, want %v", g, threads, i, got[i], want[i])
				}
			}
		}
	}
}

// TestVectorPathsSameBits: a CNN's passes (the convolutions' three, the
// fused ReLU and pooling forward and backward) give the same bits with
// the AVX-512 kernels, with AVX2 only (as on a CPU without AVX-512), and
// with the loops alone.
func TestVectorPathsSameBits(t *testing.T) {
	fastblas.Install(fastblas.WithThreads(2))
	defer G.Use(gonum.Implementation{})
	avx512, avx2 := useAVX512Runs, useAVX2
	defer func() { useAVX512Runs, useAVX2 = avx512, avx2 }()
	g := convGeom{n: 9, c: 16, h: 14, w: 14, f: 32, oh: 14, ow: 14, k: 5, stride: 1, pad: 2}
	pg := poolGeom{planes: g.n * g.f, h: g.oh, w: g.ow, oh: g.oh / 2, ow: g.ow / 2, kernel: 2, stride: 2, relu: true}
	x := make([]float32, g.n*g.c*g.h*g.w)
	w := make([]float32, g.f*g.kk())
	bias := make([]float32, g.f)
	grad := make([]float32, pg.planes*pg.oh*pg.ow)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	for i := range w {
		w[i] = float32(math.Cos(float64(i))) * 0.1
	}
	for i := range grad {
		grad[i] = float32(math.Sin(float64(i) * 0.3))
	}
	run := func() [][]float32 {
		y := make([]float32, g.n*g.f*g.p())
		runConv(&convJobs{}, passForward, g, x, w, bias, nil, y)
		pooled, win := make([]float32, len(grad)), make([]int32, len(grad))
		poolForward(pg, y, pooled, win)
		dy := make([]float32, len(y))
		poolBackward(pg, y, grad, dy, win)
		dx := make([]float32, len(x))
		runConv(&convJobs{}, passData, g, nil, w, nil, dy, dx)
		shares, dw := make([]float32, g.chunks()*g.kk()*g.f), make([]float32, len(w))
		convBackwardFilter(&convJobs{}, g, x, dy, dw, shares)
		return [][]float32{y, pooled, dy, dx, dw}
	}
	want := run()
	for _, k := range []struct {
		name         string
		avx512, avx2 bool
	}{{"AVX2", false, avx2}, {"loops", false, false}} {
		useAVX512Runs, useAVX2 = k.avx512, k.avx2
		for i, got := range run() {
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s: result %d element %d = %v, want %v", k.name, i, j, got[j], want[i][j])
				}
			}
		}
	}
}

// unrolledChunks unrolls each chunk of x with im2col (the path the
// gathered passes replace) and hands it to fn, for reference results.
func unrolledChunks(g convGeom, x []float32, fn func(lane *convLane[float32], n0, nc, ld int)) {
	lane := &convLane[float32]{padded: make([]float32, g.paddedLen())}
	for n0 := 0; n0 < g.n; n0 += g.chunk() {
		nc := min(g.chunk(), g.n-n0)
		ld := nc * g.p()
		lane.col, lane.mat = make([]float32, g.kk()*ld), make([]float32, g.f*ld)
		unrollChunk(g, x, lane, n0, nc)
		fn(lane, n0, nc, ld)
	}
}
