package layers

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReLUMaskMatchesBranch: the branch-free kernel gives exactly what
// "x > 0 ? src : 0" gives, for signed zeros, subnormals, infinities and NaNs.
func TestReLUMaskMatchesBranch(t *testing.T) {
	special32 := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0xffc00000)}
	special64 := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, 1, -1, math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0xfff8000000000000)}
	src32, dst32 := make([]float32, len(special32)), make([]float32, len(special32))
	for i := range src32 {
		src32[i] = float32(i + 1)
	}
	reluMask(special32, src32, dst32)
	for i, v := range special32 {
		want := float32(0)
		if v > 0 {
			want = src32[i]
		}
		if math.Float32bits(dst32[i]) != math.Float32bits(want) {
			t.Errorf("float32 x=%v: got %v, want %v", v, dst32[i], want)
		}
	}
	src64, dst64 := make([]float64, len(special64)), make([]float64, len(special64))
	for i := range src64 {
		src64[i] = float64(i + 1)
	}
	reluMask(special64, src64, dst64)
	for i, v := range special64 {
		want := 0.0
		if v > 0 {
			want = src64[i]
		}
		if math.Float64bits(dst64[i]) != math.Float64bits(want) {
			t.Errorf("float64 x=%v: got %v, want %v", v, dst64[i], want)
		}
	}
}

// BenchmarkReLUKernels times ReLU's forward and backward kernels on a
// 64×128 float32 batch of random signs, where a branch per element would
// mispredict half the time.
func BenchmarkReLUKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, g, dx := make([]float32, 64*128), make([]float32, 64*128), make([]float32, 64*128), make([]float32, 64*128)
	for i := range x {
		x[i], g[i] = rng.Float32()-0.5, rng.Float32()
	}
	b.Run("forward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			actForward(actReLU, 0, x, y)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			actBackward(actReLU, 0, x, y, g, dx)
		}
	})
}
