package layers

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReLUMaskMatchesBranch: reluMask (the vector kernel where there is
// one, then the branch-free loop) gives exactly what "x > 0 ? src : 0"
// gives, for signed zeros, subnormals, infinities and NaNs, at lengths on
// and off the vector width, and in place (src = x, as the forward pass
// calls it).
func TestReLUMaskMatchesBranch(t *testing.T) {
	special32 := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0xffc00000)}
	special64 := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, 1, -1, math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0xfff8000000000000)}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 10, 15, 16, 17, 31, 32, 33, 64, 67, 8192} {
		x32, src32, dst32 := make([]float32, n), make([]float32, n), make([]float32, n)
		x64, src64, dst64 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range x32 {
			x32[i], x64[i] = float32(rng.NormFloat64()), rng.NormFloat64()
			if i%3 == 0 {
				x32[i], x64[i] = special32[i%len(special32)], special64[i%len(special64)]
			}
			src32[i], src64[i] = float32(i+1), float64(-i-1)
		}
		for _, inPlace := range []bool{false, true} {
			s32, s64 := src32, src64
			if inPlace {
				s32, s64 = x32, x64
			}
			reluMask(x32, s32, dst32)
			for i, v := range x32 {
				want := float32(0)
				if v > 0 {
					want = s32[i]
				}
				if math.Float32bits(dst32[i]) != math.Float32bits(want) {
					t.Fatalf("float32 n=%d in place=%v, x[%d]=%v: got %v, want %v", n, inPlace, i, v, dst32[i], want)
				}
			}
			reluMask(x64, s64, dst64)
			for i, v := range x64 {
				want := 0.0
				if v > 0 {
					want = s64[i]
				}
				if math.Float64bits(dst64[i]) != math.Float64bits(want) {
					t.Fatalf("float64 n=%d in place=%v, x[%d]=%v: got %v, want %v", n, inPlace, i, v, dst64[i], want)
				}
			}
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
