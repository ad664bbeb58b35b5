package layers

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinner2x2MatchesGeneral: the 2×2 fast path picks the same winner as
// the general rule, ties, NaNs and infinities included.
func TestWinner2x2MatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []float32{0, 1, -1, 1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	g := poolGeom{planes: 1, h: 6, w: 8, oh: 3, ow: 4, kernel: 2, stride: 2}
	p := make([]float32, g.h*g.w)
	for trial := 0; trial < 2000; trial++ {
		for i := range p {
			p[i] = values[rng.IntN(len(values))]
		}
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				if got, want := winner2x2(p, g.w, oy, ox), poolWinner(g, p, oy, ox); got != want {
					t.Fatalf("window (%d,%d) of %v: winner %d, want %d", oy, ox, p, got, want)
				}
			}
		}
	}
}

// TestPoolBackwardRecordedWinners: the backward pass that scatters to the
// winners the forward pass recorded equals the one that searches the
// windows again, ties, NaNs and overlapping windows included.
func TestPoolBackwardRecordedWinners(t *testing.T) {
	tests := []struct {
		name                        string
		planes, h, w, k, stride, pd int
	}{
		{"2x2", 3, 6, 8, 2, 2, 0},
		{"3x3 stride 2 pad 1", 2, 7, 6, 3, 2, 1},
		{"3x3 stride 1 overlapping", 2, 5, 5, 3, 1, 1},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	values := []float64{0, 1, -1, 2, math.Inf(-1), math.NaN()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := poolGeom{planes: tt.planes, h: tt.h, w: tt.w, kernel: tt.k, stride: tt.stride, pad: tt.pd}
			g.oh, g.ow = outSize(g.h, g.kernel, g.stride, g.pad), outSize(g.w, g.kernel, g.stride, g.pad)
			x := make([]float64, g.planes*g.h*g.w)
			grad := make([]float64, g.planes*g.oh*g.ow)
			for trial := 0; trial < 200; trial++ {
				for i := range x {
					x[i] = values[rng.IntN(len(values))]
				}
				for i := range grad {
					grad[i] = rng.Float64()
				}
				win := make([]int32, len(grad))
				poolForward(g, x, make([]float64, len(grad)), win)
				recorded, searched := make([]float64, len(x)), make([]float64, len(x))
				poolBackward(g, x, grad, recorded, win)
				poolBackward(g, x, grad, searched, nil)
				for i := range searched {
					if math.Float64bits(recorded[i]) != math.Float64bits(searched[i]) {
						t.Fatalf("dx[%d] = %v from the recorded winners, %v searched", i, recorded[i], searched[i])
					}
				}
			}
		})
	}
}

// TestPool2x2PlaneMatchesGeneral: the 2×2 plane loop (and its vector
// kernel, on planes without NaN, in groups of 16 outputs and a masked
// rest) gives the general rule's winners and values, on even and odd
// planes (whose last row and column no window covers), ties, signed zeros
// and NaNs included.
func TestPool2x2PlaneMatchesGeneral(t *testing.T) {
	// Each kernel the CPU has: AVX-512, and AVX2 with AVX-512 switched off.
	avx512 := useAVX512Runs
	defer func() { useAVX512Runs = avx512 }()
	for _, use512 := range []bool{avx512, false} {
		useAVX512Runs = use512
		testPool2x2Planes(t)
	}
}

func testPool2x2Planes(t *testing.T) {
	tests := []struct{ h, w int }{{6, 8}, {7, 5}, {28, 28}, {2, 2}, {3, 9}, {4, 40}, {5, 64}, {3, 33}, {2, 31}}
	rng := rand.New(rand.NewPCG(9, 10))
	negZero := float32(math.Copysign(0, -1))
	values := []float32{0, negZero, 1, -1, 1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, tt := range tests {
		g := poolGeom{planes: 1, h: tt.h, w: tt.w, oh: tt.h / 2, ow: tt.w / 2, kernel: 2, stride: 2}
		p := make([]float32, g.h*g.w)
		q := make([]float32, g.oh*g.ow)
		win := make([]int32, len(q))
		for trial := 0; trial < 500; trial++ {
			// Every other plane has no NaN, which the vector kernel pools.
			choices := len(values) - trial%2
			for i := range p {
				p[i] = values[rng.IntN(choices)]
			}
			w := win
			if trial%4 == 3 {
				w = nil
			}
			clear(win)
			pool2x2Plane(g, p, q, w)
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					want := poolWinner(g, p, oy, ox)
					o := oy*g.ow + ox
					if w == nil && win[o] != 0 {
						t.Fatalf("%dx%d: winner %d written without a winners slice", g.h, g.w, o)
					}
					if (w != nil && int(win[o]) != want) || math.Float32bits(q[o]) != math.Float32bits(p[want]) {
						t.Fatalf("%dx%d window (%d,%d) of %v: winner %d value %v, want %d %v", g.h, g.w, oy, ox, p, win[o], q[o], want, p[want])
					}
				}
			}
		}
	}
}

// TestFusedReLUPoolMatchesTwoPasses: pooling with the ReLU fused gives the
// values and input gradients, bit for bit, of reluMask followed by the
// plain pooling and their backward passes, with recorded winners and
// without, for the 2×2 path and the general one (overlapping windows
// included), on ties, signed zeros, infinities and NaNs.
func TestFusedReLUPoolMatchesTwoPasses(t *testing.T) {
	tests := []struct {
		name                        string
		planes, h, w, k, stride, pd int
	}{
		{"2x2", 3, 6, 8, 2, 2, 0},
		{"2x2 odd plane", 2, 7, 5, 2, 2, 0},
		{"3x3 stride 2 pad 1", 2, 7, 6, 3, 2, 1},
		{"3x3 stride 1 overlapping", 2, 5, 5, 3, 1, 1},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	negZero := float32(math.Copysign(0, -1))
	values := []float32{0, negZero, 1, -1, 2, -2, 1e-45, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := poolGeom{planes: tt.planes, h: tt.h, w: tt.w, kernel: tt.k, stride: tt.stride, pad: tt.pd}
			plain.oh, plain.ow = outSize(plain.h, plain.kernel, plain.stride, plain.pad), outSize(plain.w, plain.kernel, plain.stride, plain.pad)
			fused := plain
			fused.relu = true
			x := make([]float32, plain.planes*plain.h*plain.w)
			grad := make([]float32, plain.planes*plain.oh*plain.ow)
			for trial := 0; trial < 300; trial++ {
				fillPoolCase(rng, x, grad, values, 7)
				// Two passes: r = relu(x), y = pool(r); dr = pool'(dy), dx = relu'(dr).
				r := make([]float32, len(x))
				reluMask(x, x, r)
				wantY, win := make([]float32, len(grad)), make([]int32, len(grad))
				poolForward(plain, r, wantY, win)
				dr, wantDX := make([]float32, len(x)), make([]float32, len(x))
				poolBackward(plain, r, grad, dr, win)
				reluMask(x, dr, wantDX)

				gotY, fusedWin := make([]float32, len(grad)), make([]int32, len(grad))
				poolForward(fused, x, gotY, fusedWin)
				for i := range wantY {
					if math.Float32bits(gotY[i]) != math.Float32bits(wantY[i]) {
						t.Fatalf("y[%d] = %v, want %v (input %v)", i, gotY[i], wantY[i], x)
					}
				}
				for _, recorded := range []bool{true, false} {
					w := fusedWin
					if !recorded {
						w = nil
					}
					gotDX := make([]float32, len(x))
					poolBackward(fused, x, grad, gotDX, w)
					for i := range wantDX {
						if math.Float32bits(gotDX[i]) != math.Float32bits(wantDX[i]) {
							t.Fatalf("recorded=%v: dx[%d] = %v, want %v (input %v)", recorded, i, gotDX[i], wantDX[i], x)
						}
					}
				}
			}
		})
	}
}

// BenchmarkPool2x2Plane times pooling one of the MNIST CNN's 28×28 ReLU
// planes (about half zeros), with the vector kernel where there is one
// and with the scalar loop.
func BenchmarkPool2x2Plane(b *testing.B) {
	g := poolGeom{planes: 1, h: 28, w: 28, oh: 14, ow: 14, kernel: 2, stride: 2}
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]float32, g.h*g.w)
	for i := range p {
		p[i] = max(float32(rng.NormFloat64()), 0)
	}
	q, win := make([]float32, g.oh*g.ow), make([]int32, g.oh*g.ow)
	benchLoopAndVector(b, func() { pool2x2Plane(g, p, q, win) })
}

// benchLoopAndVector runs op as sub-benchmarks "loop", with the vector
// kernels switched off, "avx2" and "avx512", where the machine has them.
func benchLoopAndVector(b *testing.B, op func()) {
	avx512, avx2 := useAVX512Runs, useAVX2
	defer func() { useAVX512Runs, useAVX2 = avx512, avx2 }()
	for _, k := range []struct {
		name         string
		avx512, avx2 bool
	}{{"loop", false, false}, {"avx2", false, true}, {"avx512", true, true}} {
		if (k.avx2 && !avx2) || (k.avx512 && !avx512) {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			useAVX512Runs, useAVX2 = k.avx512, k.avx2
			for i := 0; i < b.N; i++ {
				op()
			}
		})
	}
}

// TestPoolBackwardVectorMatchesLoop: in float32, the vector kernel's
// backward pass from recorded winners equals the loop's search, on planes
// of whole groups of 16 windows and masked rests, signed zero gradients
// included.
func TestPoolBackwardVectorMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	negZero := float32(math.Copysign(0, -1))
	values := []float32{0, negZero, 1, -1, 2, float32(math.Inf(-1))}
	for _, shape := range [][2]int{{2, 2}, {6, 8}, {4, 40}, {6, 64}, {28, 28}, {2, 34}} {
		for _, relu := range []bool{false, true} {
			g := poolGeom{planes: 3, h: shape[0], w: shape[1], kernel: 2, stride: 2, relu: relu}
			g.oh, g.ow = g.h/2, g.w/2
			x := make([]float32, g.planes*g.h*g.w)
			grad := make([]float32, g.planes*g.oh*g.ow)
			for trial := 0; trial < 50; trial++ {
				fillPoolCase(rng, x, grad, values, 5)
				win := make([]int32, len(grad))
				poolForward(g, x, make([]float32, len(grad)), win)
				vector, loop := make([]float32, len(x)), make([]float32, len(x))
				for i := range vector {
					vector[i] = float32(math.NaN()) // every cell must be written
				}
				poolBackward(g, x, grad, vector, win)
				poolBackward(g, x, grad, loop, nil)
				for i := range loop {
					if math.Float32bits(vector[i]) != math.Float32bits(loop[i]) {
						t.Fatalf("%v relu=%v: dx[%d] = %v from the kernel, %v from the loop", shape, relu, i, vector[i], loop[i])
					}
				}
			}
		}
	}
}

// BenchmarkPoolBackward times the backward pass of the MNIST CNN's first
// pooling (64 images × 16 planes of 28×28) from recorded winners, with
// the vector kernel where there is one and with the loop.
func BenchmarkPoolBackward(b *testing.B) {
	g := poolGeom{planes: 64 * 16, h: 28, w: 28, oh: 14, ow: 14, kernel: 2, stride: 2, relu: true}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, g.planes*g.h*g.w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	grad, win := make([]float32, g.planes*g.oh*g.ow), make([]int32, g.planes*g.oh*g.ow)
	poolForward(g, x, grad, win)
	dx := make([]float32, len(x))
	benchLoopAndVector(b, func() { poolBackward(g, x, grad, dx, win) })
}

// fillPoolCase draws the inputs of a pooling test from values and its
// output gradient from a normal distribution, with −0 at every
// negZeroEvery-th element.
func fillPoolCase(rng *rand.Rand, x, grad, values []float32, negZeroEvery int) {
	for i := range x {
		x[i] = values[rng.IntN(len(values))]
	}
	for i := range grad {
		grad[i] = float32(rng.NormFloat64())
		if i%negZeroEvery == 0 {
			grad[i] = float32(math.Copysign(0, -1))
		}
	}
}
