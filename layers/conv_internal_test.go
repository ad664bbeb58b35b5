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
