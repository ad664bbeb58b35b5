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
