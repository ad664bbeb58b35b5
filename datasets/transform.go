package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pkg/errors"
)

// MNISTMean and MNISTStd are the mean and standard deviation of the MNIST
// training pixels scaled to [0, 1], the values of the PyTorch MNIST
// example (github.com/pytorch/examples, mnist/main.py); use them as
// Normalize(MNISTMean, MNISTStd).
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

// Example is one example handed to a Transform, rewritten in place.
// Exactly one of X32 and X64 is set, matching the dataset's dtype, so that
// float64 data is augmented in float64. The scratch slice of the same dtype
// has the same length and belongs to the transform for the duration of
// Apply: spatial transforms copy the input there and resample from it,
// which is why they allocate nothing.
type Example struct {
	// Shape is the shape of one example (the dataset's ExampleShape); do
	// not modify it.
	Shape []int
	// X32 or X64 holds the example's values, row-major.
	X32 []float32
	X64 []float64
	// Scratch32 or Scratch64 (the one matching X32/X64) is a buffer of the
	// same length whose content Apply may overwrite freely.
	Scratch32 []float32
	Scratch64 []float64
}

// Transform changes one example in place, with randomness drawn only from
// rng: the Loader seeds rng from (seed, epoch, dataset row), so a given
// example gets the same augmentation in a given epoch whatever the batch
// size, the prefetching or the order. Transforms are stateless and may be
// shared by several loaders and goroutines.
type Transform interface {
	// Validate reports parameters out of range. NewLoader calls it, and
	// then applies the transform once to a zero example of the dataset's
	// shape, so that shapes a transform cannot handle are reported there
	// too and not in the middle of an epoch.
	Validate() error
	// Apply transforms ex in place. It returns an error for an example it
	// cannot handle (a shape without height and width, say); it must draw
	// the same amount of randomness whatever the values, so that streams
	// stay aligned.
	Apply(rng *rand.Rand, ex *Example) error
}

// describe names a transform in error messages.
func describe(t Transform) string {
	if s, ok := t.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", t)
}

// planes splits a shape into (number of planes, height, width): spatial
// transforms treat the last two dimensions as an image and the leading
// ones as channels that move together.
func planes(name string, ex *Example) (n, h, w int, err error) {
	if len(ex.Shape) < 2 {
		return 0, 0, 0, errors.Errorf("datasets: %s needs examples of shape [..., height, width], got %v", name, ex.Shape)
	}
	h, w = ex.Shape[len(ex.Shape)-2], ex.Shape[len(ex.Shape)-1]
	n = 1
	for _, d := range ex.Shape[:len(ex.Shape)-2] {
		n *= d
	}
	size := n * h * w
	l, s := len(ex.X32), len(ex.Scratch32)
	if ex.X32 == nil {
		l, s = len(ex.X64), len(ex.Scratch64)
	}
	if l != size || s < size || h <= 0 || w <= 0 {
		return 0, 0, 0, errors.Errorf("datasets: %s: example of shape %v holds %d values with %d scratch, want %d of each", name, ex.Shape, l, s, size)
	}
	return n, h, w, nil
}

// normalize is Normalize's transform.
type normalize struct{ mean, std float64 }

// Normalize returns a transform computing (x − mean) / std for every value,
// as torchvision.transforms.Normalize does with one channel. It is
// deterministic; put it after the spatial transforms, whose fill value 0
// means "background" only before normalisation. std must be positive and
// both must be finite.
func Normalize(mean, std float64) Transform { return normalize{mean, std} }

func (n normalize) String() string { return fmt.Sprintf("Normalize(%v, %v)", n.mean, n.std) }

func (n normalize) Validate() error {
	if math.IsNaN(n.mean) || math.IsInf(n.mean, 0) {
		return errors.Errorf("datasets: Normalize: mean = %v, want a finite number", n.mean)
	}
	if !(n.std > 0) || math.IsInf(n.std, 0) {
		return errors.Errorf("datasets: Normalize: std = %v is out of range (0, +Inf)", n.std)
	}
	return nil
}

func (n normalize) Apply(_ *rand.Rand, ex *Example) error {
	if ex.X32 != nil {
		m, s := float32(n.mean), float32(n.std)
		for i, v := range ex.X32 {
			ex.X32[i] = (v - m) / s
		}
		return nil
	}
	for i, v := range ex.X64 {
		ex.X64[i] = (v - n.mean) / n.std
	}
	return nil
}

// rotation is RandomRotation's transform.
type rotation struct{ degrees float64 }

// RandomRotation returns a transform that rotates each image about its
// centre by an angle drawn uniformly from [−degrees, +degrees]
// (counter-clockwise as displayed for positive angles), resampling
// bilinearly and filling the corners that come from outside with 0, like
// torchvision.transforms.RandomRotation(degrees,
// interpolation=BILINEAR). All channels turn by the same angle. Apply it
// before Normalize. degrees must be in [0, 180].
func RandomRotation(degrees float64) Transform { return rotation{degrees} }

func (r rotation) String() string { return fmt.Sprintf("RandomRotation(%v)", r.degrees) }

func (r rotation) Validate() error {
	if !(r.degrees >= 0 && r.degrees <= 180) {
		return errors.Errorf("datasets: RandomRotation: degrees = %v is out of range [0, 180]", r.degrees)
	}
	return nil
}

func (r rotation) Apply(rng *rand.Rand, ex *Example) error {
	n, h, w, err := planes("RandomRotation", ex)
	if err != nil {
		return err
	}
	theta := (2*unit(rng) - 1) * r.degrees * (math.Pi / 180)
	sin, cos := math.Sincos(theta)
	size := h * w
	if ex.X32 != nil {
		copy(ex.Scratch32, ex.X32)
		for p := range n {
			rotatePlane(ex.X32[p*size:(p+1)*size], ex.Scratch32[p*size:(p+1)*size], h, w, cos, sin)
		}
		return nil
	}
	copy(ex.Scratch64, ex.X64)
	for p := range n {
		rotatePlane(ex.X64[p*size:(p+1)*size], ex.Scratch64[p*size:(p+1)*size], h, w, cos, sin)
	}
	return nil
}

// rotatePlane writes into dst the h×w image src rotated by the angle whose
// cosine and sine are given. The affine inverse map is fixed per image, so
// a pixel costs two multiply-adds for its source position and a bilinear
// tap, with no trigonometry and no allocation. Per row, the span of x
// whose four taps all lie inside the image is solved for once, so that
// span runs without border checks; only the few pixels near the edges take
// the general path. Pixel centres sit at integer coordinates and the image
// turns about ((w−1)/2, (h−1)/2), its geometric centre, as torchvision's
// tensor backend does.
func rotatePlane[T float32 | float64](dst, src []T, h, w int, cos, sin float64) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	for y := range h {
		dy := float64(y) - cy
		// Source of output pixel (x, y): centre + R(−θ)·(x − cx, y − cy)
		// in display coordinates (y down), i.e. the row starts at (bx, by)
		// and steps by (cos, sin) per x.
		bx := cx - cos*cx - sin*dy
		by := cy - sin*cx + cos*dy
		row := dst[y*w : (y+1)*w]
		lo, hi := 0, w-1
		lo, hi = interiorSpan(bx, cos, float64(w-1), lo, hi)
		lo, hi = interiorSpan(by, sin, float64(h-1), lo, hi)
		if lo > hi {
			lo, hi = w, w-1 // no interior: everything takes the general path
		}
		for x := 0; x < lo; x++ {
			row[x] = sampleBorder(src, h, w, bx+cos*float64(x), by+sin*float64(x))
		}
		for x := lo; x <= hi; x++ {
			sx := bx + cos*float64(x)
			sy := by + sin*float64(x)
			x0, y0 := int(sx), int(sy) // ≥ 0 here, so truncation is floor
			fx, fy := sx-float64(x0), sy-float64(y0)
			i := y0*w + x0
			p := src[i : i+w+2 : i+w+2]
			v00, v01 := float64(p[0]), float64(p[1])
			v10, v11 := float64(p[w]), float64(p[w+1])
			top := v00 + fx*(v01-v00)
			bottom := v10 + fx*(v11-v10)
			row[x] = T(top + fy*(bottom-top))
		}
		for x := max(hi+1, lo); x < w; x++ {
			row[x] = sampleBorder(src, h, w, bx+cos*float64(x), by+sin*float64(x))
		}
	}
}

// interiorSpan narrows [lo, hi] to the x for which 0 ≤ b + c·x < limit
// holds with a margin of one pixel on each side, so that rounding in the
// division can never admit a pixel whose taps leave the image.
func interiorSpan(b, c, limit float64, lo, hi int) (int, int) {
	switch {
	case c > 1e-12:
		lo = max(lo, int(math.Ceil((0-b)/c))+1)
		hi = min(hi, int(math.Floor((limit-b)/c))-1)
	case c < -1e-12:
		lo = max(lo, int(math.Ceil((limit-b)/c))+1)
		hi = min(hi, int(math.Floor((0-b)/c))-1)
	case !(b >= 1e-9 && b < limit-1e-9):
		return 1, 0
	}
	return lo, hi
}

// sampleBorder is the bilinear tap at (sx, sy) for any position: taps
// outside the image read the fill value 0.
func sampleBorder[T float32 | float64](src []T, h, w int, sx, sy float64) T {
	if sx <= -1 || sy <= -1 || sx >= float64(w) || sy >= float64(h) {
		return 0
	}
	// floor for values > −1 without math.Floor's call.
	x0, y0 := int(sx+1)-1, int(sy+1)-1
	fx, fy := sx-float64(x0), sy-float64(y0)
	var v00, v01, v10, v11 float64
	if y0 >= 0 {
		if x0 >= 0 {
			v00 = float64(src[y0*w+x0])
		}
		if x0+1 < w {
			v01 = float64(src[y0*w+x0+1])
		}
	}
	if y0+1 < h {
		if x0 >= 0 {
			v10 = float64(src[(y0+1)*w+x0])
		}
		if x0+1 < w {
			v11 = float64(src[(y0+1)*w+x0+1])
		}
	}
	top := v00 + fx*(v01-v00)
	bottom := v10 + fx*(v11-v10)
	return T(top + fy*(bottom-top))
}

// hflip is RandomHorizontalFlip's transform.
type hflip struct{ p float64 }

// RandomHorizontalFlip returns a transform that mirrors each image left to
// right with probability p, like torchvision's RandomHorizontalFlip(p).
// Handwritten digits are not mirror-symmetric, so it is rarely right for
// MNIST; it is here for data that is. p must be in [0, 1].
func RandomHorizontalFlip(p float64) Transform { return hflip{p} }

func (f hflip) String() string { return fmt.Sprintf("RandomHorizontalFlip(%v)", f.p) }

func (f hflip) Validate() error {
	if !(f.p >= 0 && f.p <= 1) {
		return errors.Errorf("datasets: RandomHorizontalFlip: p = %v is out of range [0, 1]", f.p)
	}
	return nil
}

func (f hflip) Apply(rng *rand.Rand, ex *Example) error {
	n, h, w, err := planes("RandomHorizontalFlip", ex)
	if err != nil {
		return err
	}
	if unit(rng) >= f.p {
		return nil
	}
	if ex.X32 != nil {
		flipRows(ex.X32, n*h, w)
	} else {
		flipRows(ex.X64, n*h, w)
	}
	return nil
}

func flipRows[T float32 | float64](x []T, rows, w int) {
	for r := range rows {
		row := x[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// shift is RandomShift's transform.
type shift struct{ pixels int }

// RandomShift returns a transform that translates each image by whole
// pixels, dx and dy drawn independently and uniformly from
// [−pixels, +pixels], filling what comes in from outside with 0 (the
// integer case of torchvision's RandomAffine(translate=…)). Apply it before
// Normalize. pixels must be ≥ 0.
func RandomShift(pixels int) Transform { return shift{pixels} }

func (s shift) String() string { return fmt.Sprintf("RandomShift(%d)", s.pixels) }

func (s shift) Validate() error {
	if s.pixels < 0 {
		return errors.Errorf("datasets: RandomShift: pixels = %d, want ≥ 0", s.pixels)
	}
	return nil
}

func (s shift) Apply(rng *rand.Rand, ex *Example) error {
	n, h, w, err := planes("RandomShift", ex)
	if err != nil {
		return err
	}
	span := uint64(2*s.pixels + 1)
	dx := int(uintn(rng, span)) - s.pixels
	dy := int(uintn(rng, span)) - s.pixels
	if dx == 0 && dy == 0 {
		return nil
	}
	if ex.X32 != nil {
		copy(ex.Scratch32, ex.X32)
		shiftPlanes(ex.X32, ex.Scratch32, n, h, w, dx, dy)
	} else {
		copy(ex.Scratch64, ex.X64)
		shiftPlanes(ex.X64, ex.Scratch64, n, h, w, dx, dy)
	}
	return nil
}

// shiftPlanes writes dst[y][x] = src[y−dy][x−dx], or 0 where that is
// outside, with one copy per row.
func shiftPlanes[T float32 | float64](dst, src []T, n, h, w, dx, dy int) {
	// Columns of dst that receive data, and where they come from.
	lo, hi := max(0, dx), min(w, w+dx)
	for p := range n {
		for y := range h {
			row := dst[(p*h+y)*w : (p*h+y+1)*w]
			sy := y - dy
			if sy < 0 || sy >= h || lo >= hi {
				clear(row)
				continue
			}
			srow := src[(p*h+sy)*w : (p*h+sy+1)*w]
			clear(row[:lo])
			copy(row[lo:hi], srow[lo-dx:hi-dx])
			clear(row[hi:])
		}
	}
}
