package datasets

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/internal/atomicfile"
)

// augmentVariants is the number of augmented copies WriteAugmentationPNG
// draws next to each original: enough to see the spread of a transform.
const augmentVariants = 8

// WriteAugmentationPNG draws a grid so a person can check what transforms
// do: one row per example (the first n of ds), column 0 the original and
// the next columns augmented variants, each drawn with its own RNG derived
// from seed (the same seed gives the same picture). Cells are enlarged to
// about 84 pixels; each is scaled to its own range when its values leave
// [0, 1] (after Normalize). Three leading channels are drawn as RGB, any
// other number shows the first channel in grey. The file is written
// atomically.
func WriteAugmentationPNG(path string, ds *Dataset, n int, seed uint64, ts ...Transform) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	if n < 1 {
		return errors.Errorf("datasets: WriteAugmentationPNG: n = %d examples, want ≥ 1", n)
	}
	n = min(n, ds.Len())
	shape := ds.ExampleShape
	if len(shape) < 2 {
		return errors.Errorf("datasets: WriteAugmentationPNG: %s's examples have shape %v, want [..., height, width]", ds.name(), shape)
	}
	// Validate and trial-run the transforms exactly as a Loader would.
	l, err := NewLoader(ds, WithTransforms(ts...), WithPrefetch(0), WithBatchSize(1))
	if err != nil {
		return errors.Wrap(err, "datasets: WriteAugmentationPNG")
	}
	h, wd := shape[len(shape)-2], shape[len(shape)-1]
	channels := ds.FeatureLen() / (h * wd)
	scale := max(1, 84/max(h, wd))
	const gap = 2
	cellW, cellH := wd*scale+gap, h*scale+gap
	img := image.NewRGBA(image.Rect(0, 0, (1+augmentVariants)*cellW+gap, n*cellH+gap))
	bg := color.RGBA{64, 64, 64, 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, bg.A
	}

	fl := ds.FeatureLen()
	ex := Example{Shape: shape}
	if ds.X32 != nil {
		ex.X32, ex.Scratch32 = make([]float32, fl), make([]float32, fl)
	} else {
		ex.X64, ex.Scratch64 = make([]float64, fl), make([]float64, fl)
	}
	pcg := newPCG(0, 0)
	rng := rand.New(pcg)
	vals := make([]float64, fl)
	for r := range n {
		for v := 0; v <= augmentVariants; v++ {
			if ds.X32 != nil {
				copy(ex.X32, ds.X32[r*fl:(r+1)*fl])
			} else {
				copy(ex.X64, ds.X64[r*fl:(r+1)*fl])
			}
			if v > 0 {
				pcg.Seed(mix(seed^domainPreview), mix(mix(uint64(r))+uint64(v)))
				for i, t := range l.cfg.transforms {
					if err := t.Apply(rng, &ex); err != nil {
						return errors.Wrapf(err, "datasets: WriteAugmentationPNG: transform %d (%s)", i, describe(t))
					}
				}
			}
			for i := range vals {
				if ds.X32 != nil {
					vals[i] = float64(ex.X32[i])
				} else {
					vals[i] = ex.X64[i]
				}
			}
			drawCell(img, vals, channels, h, wd, scale, gap+v*cellW, gap+r*cellH)
		}
	}
	return atomicfile.Write(path, func(out io.Writer) error { return png.Encode(out, img) })
}

// drawCell paints one example at (x0, y0), enlarged scale times.
func drawCell(img *image.RGBA, vals []float64, channels, h, w, scale, x0, y0 int) {
	lo, hi := 0.0, 1.0
	cmin, cmax := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		cmin, cmax = min(cmin, v), max(cmax, v)
	}
	if cmin < 0 || cmax > 1 {
		lo, hi = cmin, cmax
	}
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	level := func(v float64) uint8 {
		return uint8(math.Round(255 * min(max((v-lo)/span, 0), 1)))
	}
	plane := h * w
	for y := range h {
		for x := range w {
			g := level(vals[y*w+x])
			c := color.RGBA{g, g, g, 255}
			if channels == 3 {
				c = color.RGBA{g, level(vals[plane+y*w+x]), level(vals[2*plane+y*w+x]), 255}
			}
			for dy := range scale {
				for dx := range scale {
					img.SetRGBA(x0+x*scale+dx, y0+y*scale+dy, c)
				}
			}
		}
	}
}
