package layers

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRunsKernelsMatchLoops: the vector copyRuns and addRuns (AVX-512,
// and AVX2 with AVX-512 switched off) give the loops' bits, for runs
// shorter than, equal to and longer than a vector, with NaN, ±0, ±Inf and
// subnormals, and write nothing outside the runs.
func TestRunsKernelsMatchLoops(t *testing.T) {
	tests := []struct{ n, runs, dstStride, srcStride int }{
		{14, 14, 14, 18}, {28, 28, 28, 32}, {1, 3, 1, 2}, {16, 4, 16, 16}, {17, 2, 20, 17}, {33, 3, 40, 35}, {5, 1, 5, 5}, {8, 3, 9, 10}, {7, 2, 7, 8},
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.SmallestNonzeroFloat32, 1e-40}
	rng := rand.New(rand.NewPCG(11, 12))
	fill := func(v []float32) {
		for i := range v {
			if rng.IntN(4) == 0 {
				v[i] = specials[rng.IntN(len(specials))]
			} else {
				v[i] = float32(rng.NormFloat64())
			}
		}
	}
	avx512, avx2 := useAVX512Runs, useAVX2
	defer func() { useAVX512Runs, useAVX2 = avx512, avx2 }()
	for _, tt := range tests {
		for _, add := range []bool{false, true} {
			src := make([]float32, (tt.runs-1)*tt.srcStride+tt.n)
			dst := make([]float32, (tt.runs-1)*tt.dstStride+tt.n+7) // room past the last run
			fill(src)
			fill(dst)
			run := func(use512, use2 bool) []float32 {
				useAVX512Runs, useAVX2 = use512 && avx512, use2 && avx2
				d := append([]float32(nil), dst...)
				if add {
					addRuns(d, src, tt.n, tt.runs, tt.dstStride, tt.srcStride)
				} else {
					copyRuns(d, src, tt.n, tt.runs, tt.dstStride, tt.srcStride)
				}
				return d
			}
			loop := run(false, false)
			for _, kernel := range []struct {
				name      string
				use512, a bool
			}{{"AVX-512", true, true}, {"AVX2", false, true}} {
				got := run(kernel.use512, kernel.a)
				for i := range loop {
					if math.Float32bits(got[i]) != math.Float32bits(loop[i]) {
						t.Fatalf("%s %+v add=%v: element %d is %v, loop gives %v", kernel.name, tt, add, i, got[i], loop[i])
					}
				}
			}
		}
	}
}

// TestRunsBoundsChecked: runs that overflow either slice panic instead of
// writing past it.
func TestRunsBoundsChecked(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("copyRuns of 3 runs of 4 at stride 5 into 13 values did not panic")
		}
	}()
	copyRuns(make([]float32, 13), make([]float32, 100), 4, 3, 5, 5)
}
