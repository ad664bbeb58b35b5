package layers

import (
	"fmt"
	"testing"
)

// TestTransposeIntoMatchesDefinition: the blocked transpose writes
// dst[c·rows+r] = src[r·cols+c] for shapes on and off the block size.
func TestTransposeIntoMatchesDefinition(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {16, 784}, {32, 196}, {400, 32}, {25, 16}, {17, 33}, {3, 5}} {
		rows, cols := shape[0], shape[1]
		src := make([]float32, rows*cols)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, rows*cols)
		transposeInto(dst, src, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if dst[c*rows+r] != src[r*cols+c] {
					t.Fatalf("%d×%d: dst[%d,%d] = %v, want %v", rows, cols, c, r, dst[c*rows+r], src[r*cols+c])
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
