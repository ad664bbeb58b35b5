package layers

import (
	"fmt"
	"math"
	"testing"
)

// TestTransposeMatchesDefinition: the tiled transpose writes
// dst[c·rows+r] = src[r·cols+c] (+ bias[c] for transposeAddBias, one
// rounding) for shapes on and off the 16×16 tiles of the vector kernel,
// from sources that do not start on a vector boundary.
func TestTransposeMatchesDefinition(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {16, 16}, {16, 784}, {32, 196}, {196, 32}, {400, 32}, {25, 16}, {17, 33}, {3, 5}} {
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
						t.Fatalf("%d×%d bias=%v: dst[%d,%d] = %v, want %v", rows, cols, withBias, c, r, dst[c*rows+r], want)
					}
				}
			}
		}
	}
}

// BenchmarkTransposeInto times the MNIST CNN's transposes of a chunk of
// output gradients (F × OH·OW per image) and of dWᵀ.
func BenchmarkTransposeInto(b *testing.B) {
	for _, shape := range [][2]int{{16, 784}, {32, 196}, {400, 32}} {
		rows, cols := shape[0], shape[1]
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			src, dst := make([]float32, rows*cols), make([]float32, rows*cols)
			b.SetBytes(int64(8 * rows * cols))
			for i := 0; i < b.N; i++ {
				transposeInto(dst, src, rows, cols)
			}
		})
	}
}
