package layers

import (
	"fmt"
	"math"
	"testing"
)

// TestTransposeMatchesDefinition: the tiled transpose writes
// dst[c·rows+r] = src[r·cols+c] (+ bias[c] for transposeAddBias, one
// rounding) for shapes on and off the 8×8 tiles of the vector kernel,
// from sources that do not start on a vector boundary.
func TestTransposeMatchesDefinition(t *testing.T) {
	// The kernel where the CPU has it, then the loop alone.
	vector := useAVX2
	defer func() { useAVX2 = vector }()
	for _, avx2 := range []bool{vector, false} {
		useAVX2 = avx2
		testTransposeShapes(t)
	}
}

func testTransposeShapes(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {8, 8}, {9, 15}, {16, 16}, {16, 784}, {32, 196}, {196, 32}, {400, 32}, {25, 16}, {17, 33}, {3, 5}} {
		rows, cols := shape[0], shape[1]
		src := make([]float32, rows*cols+3)[3:]
		for i := range src {
			src[i] = float32(i) * 1.37
		}
		bias := make([]float32, cols)
		for c := range bias {
			bias[c] = float32(c)*0.11 - 0.5
		}
		for _, withBias := range []bool{false, true} {
			dst := make([]float32, rows*cols)
			if withBias {
				transposeAddBias(dst, src, bias, rows, cols)
			} else {
				transposeInto(dst, src, rows, cols)
			}
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					want := src[r*cols+c]
					if withBias {
						want += bias[c]
					}
					if math.Float32bits(dst[c*rows+r]) != math.Float32bits(want) {
						t.Fatalf("%d×%d bias=%v AVX2=%v: dst[%d,%d] = %v, want %v", rows, cols, withBias, useAVX2, c, r, dst[c*rows+r], want)
					}
				}
			}
		}
	}
}

// BenchmarkTransposeInto times the MNIST CNN's transposes of a chunk of
// output gradients (F × OH·OW per image) and of dWᵀ, with the AVX2 kernel
// where the CPU has it and with the loop.
func BenchmarkTransposeInto(b *testing.B) {
	vector := useAVX2
	defer func() { useAVX2 = vector }()
	for _, shape := range [][2]int{{16, 784}, {32, 196}, {400, 32}} {
		rows, cols := shape[0], shape[1]
		src, dst := make([]float32, rows*cols), make([]float32, rows*cols)
		for _, avx2 := range []bool{false, true} {
			if avx2 && !vector {
				continue
			}
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, map[bool]string{false: "loop", true: "avx2"}[avx2]), func(b *testing.B) {
				useAVX2 = avx2
				b.SetBytes(int64(8 * rows * cols))
				for i := 0; i < b.N; i++ {
					transposeInto(dst, src, rows, cols)
				}
			})
		}
	}
}
