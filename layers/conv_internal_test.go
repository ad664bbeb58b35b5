package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConvOpMatchesGorgonia: the per-image convolution equals Gorgonia's
// Conv2d plus a broadcast bias, for padding and stride variants.
func TestConvOpMatchesGorgonia(t *testing.T) {
	tests := []struct {
		name                    string
		n, c, h, w, f, k, s, pd int
	}{
		{"3x3 pad 1", 2, 3, 7, 6, 4, 3, 1, 1},
		{"5x5 pad 2", 3, 1, 9, 9, 2, 5, 1, 2},
		{"2x2 stride 2", 2, 2, 6, 5, 3, 2, 2, 0},
		{"3x3 stride 2 pad 1", 1, 2, 8, 7, 2, 3, 2, 1},
		{"padding wider than the image", 2, 1, 1, 2, 2, 5, 1, 2},
		{"MNIST conv2 shape", 2, 16, 14, 14, 32, 5, 1, 2},
		{"batch in two chunks", 5, 16, 28, 28, 4, 5, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			rnd := func(shape ...int) *tensor.Dense { return randDense(rng, tensor.Float64, shape...) }
			xT, wT, bT := rnd(tt.n, tt.c, tt.h, tt.w), rnd(tt.f, tt.c, tt.k, tt.k), rnd(tt.f)

			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(xT.Shape()...), G.WithName("x"), G.WithValue(xT))
			w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(wT.Shape()...), G.WithName("w"), G.WithValue(wT))
			b := G.NewVector(g, tensor.Float64, G.WithShape(tt.f), G.WithName("b"), G.WithValue(bT))
			ours := G.Must(G.ApplyOp(convOp{kernel: tt.k, stride: tt.s, padding: tt.pd}, x, w, b))
			conv := G.Must(G.Conv2d(x, w, tensor.Shape{tt.k, tt.k}, []int{tt.pd, tt.pd}, []int{tt.s, tt.s}, []int{1, 1}))
			b4 := G.Must(G.Reshape(b, tensor.Shape{1, tt.f, 1, 1}))
			ref := G.Must(G.BroadcastAdd(conv, b4, nil, []byte{0, 2, 3}))
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			got, want := ours.Value().(*tensor.Dense), ref.Value().(*tensor.Dense)
			if !got.Shape().Eq(want.Shape()) {
				t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
			}
			for i, v := range want.Float64s() {
				if d := math.Abs(got.Float64s()[i] - v); d > 1e-12*(1+math.Abs(v)) {
					t.Fatalf("element %d: %v, want %v", i, got.Float64s()[i], v)
				}
			}
		})
	}
}

// TestConvBackwardChunksMatchImages: the backward products over a batch
// that is unrolled in several chunks equal the same products image by
// image: dx exactly (each image's gradient is its own), dW to rounding
// (the images are summed in another grouping).
func TestConvBackwardChunksMatchImages(t *testing.T) {
	tests := []struct {
		name                    string
		n, c, h, w, f, k, s, pd int
	}{
		{"stride 1 pad 2", 7, 16, 28, 28, 3, 5, 1, 2},
		{"stride 2", 9, 40, 40, 40, 2, 3, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := convOp{kernel: tt.k, stride: tt.s, padding: tt.pd}
			g, err := op.geom(tensor.Shape{tt.n, tt.c, tt.h, tt.w}, tensor.Shape{tt.f, tt.c, tt.k, tt.k})
			if err != nil {
				t.Fatal(err)
			}
			if g.chunk() >= g.n {
				t.Fatalf("chunk %d covers the batch of %d: the test needs several chunks", g.chunk(), g.n)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			x := randDense(rng, tensor.Float64, tt.n, tt.c, tt.h, tt.w).Float64s()
			w := randDense(rng, tensor.Float64, tt.f, tt.c, tt.k, tt.k).Float64s()
			dy := randDense(rng, tensor.Float64, tt.n, tt.f, g.oh, g.ow).Float64s()
			p, in := g.p(), g.c*g.h*g.w
			dx, dw := make([]float64, len(x)), make([]float64, len(w))
			runConv(nil, passData, g, nil, w, nil, dy, dx)
			convBackwardFilter(nil, g, x, dy, dw, make([]float64, g.chunks()*g.kk()*g.f))

			one := g
			one.n = 1
			wantDW := make([]float64, len(w))
			for n := 0; n < g.n; n++ {
				dxn, dwn := make([]float64, in), make([]float64, len(w))
				runConv(nil, passData, one, nil, w, nil, dy[n*g.f*p:(n+1)*g.f*p], dxn)
				convBackwardFilter(nil, one, x[n*in:(n+1)*in], dy[n*g.f*p:(n+1)*g.f*p], dwn, make([]float64, g.kk()*g.f))
				for i, v := range dxn {
					if dx[n*in+i] != v {
						t.Fatalf("image %d: dx[%d] = %v in chunks, %v alone", n, i, dx[n*in+i], v)
					}
				}
				for i, v := range dwn {
					wantDW[i] += v
				}
			}
			for i, v := range wantDW {
				if d := math.Abs(dw[i] - v); d > 1e-12*(1+math.Abs(v)) {
					t.Fatalf("dW[%d] = %v in chunks, %v summed image by image", i, dw[i], v)
				}
			}
		})
	}
}
