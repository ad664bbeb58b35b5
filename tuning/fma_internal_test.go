package tuning

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDrawsAreRoundedProductByProduct pins the bits of many draws and grid
// points of continuous ranges. A product fused into an FMA (as a GOAMD64=v3
// build does with an unconverted a*b+c) rounds once instead of twice and
// changes some last bits, so a search would draw other configurations on
// another build; .ci/run runs this package's tests under GOAMD64=v3 too.
func TestDrawsAreRoundedProductByProduct(t *testing.T) {
	for _, tc := range []struct {
		dim  Dimension
		want uint64
	}{
		{LogUniform("lr", 1e-5, 1e-1), 0xd89a830d7a7f755c},
		{Uniform("dropout", 0.05, 0.7), 0x2a7479c02daf2597},
		{LogUniform("wd", 3e-7, 2e-2), 0x9ee37ec929029153},
	} {
		t.Run(tc.dim.String(), func(t *testing.T) {
			u := tc.dim.(*uniform)
			h := fnv.New64a()
			put := func(v any) {
				b := math.Float64bits(v.(float64))
				h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(b >> 32), byte(b >> 40), byte(b >> 48), byte(b >> 56)})
			}
			r := rand.New(rand.NewPCG(7, 11))
			for range 4096 {
				put(u.sample(r))
			}
			for points := 1; points <= 40; points++ {
				for _, v := range u.grid(points) {
					put(v)
				}
			}
			if got := h.Sum64(); got != tc.want {
				t.Errorf("fingerprint of the draws and grids = %#x, want %#x", got, tc.want)
			}
		})
	}
}

// TestImportanceIsRoundedProductByProduct pins the bits of a parameter
// importance: the forest's split gains and variances sum products.
func TestImportanceIsRoundedProductByProduct(t *testing.T) {
	space := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99,layers=int:1:4")
	objective := func(_ context.Context, tr Trial, _ Reporter) (map[string]float64, error) {
		d := float64(math.Log10(tr.Params.Float("lr"))) + 3
		return map[string]float64{"val_loss": float64(d*d) + float64(7*tr.Params.Float("beta1")) + float64(tr.Params.Int("layers"))}, nil
	}
	board, err := Run(context.Background(), space, Random(60, 3), objective)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := board.Importance()
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	for _, p := range imp.Params {
		fmt.Fprintf(h, "%s %x %x\n", p.Name, math.Float64bits(p.Importance), math.Float64bits(p.VarianceFraction))
	}
	if got, want := h.Sum64(), uint64(0x1af597b54d6d7298); got != want {
		t.Errorf("fingerprint of the importances %+v = %#x, want %#x", imp.Params, got, want)
	}
}
