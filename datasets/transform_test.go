package datasets

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func newExample32(shape []int, x []float32) *Example {
	return &Example{Shape: shape, X32: x, Scratch32: make([]float32, len(x))}
}

func TestNormalize(t *testing.T) {
	ex := newExample32([]int{3}, []float32{0, MNISTMean, 1})
	if err := Normalize(MNISTMean, MNISTStd).Apply(nil, ex); err != nil {
		t.Fatal(err)
	}
	want := []float32{float32(-MNISTMean / MNISTStd), 0, float32((1 - MNISTMean) / MNISTStd)}
	for i := range want {
		if math.Abs(float64(ex.X32[i]-want[i])) > 1e-6 {
			t.Errorf("Normalize: value %d = %v, want %v", i, ex.X32[i], want[i])
		}
	}
	ex64 := &Example{Shape: []int{2}, X64: []float64{1, 3}, Scratch64: make([]float64, 2)}
	Normalize(1, 2).Apply(nil, ex64)
	if !slices.Equal(ex64.X64, []float64{0, 1}) {
		t.Errorf("Normalize float64 = %v, want [0 1]", ex64.X64)
	}
}

// grid returns an h×w image with value y*w+x+1 at (x, y).
func grid(h, w int) []float32 {
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(i + 1)
	}
	return x
}

func TestRotatePlaneQuarterTurns(t *testing.T) {
	// Rotations by multiples of 90° move pixel centres onto pixel centres,
	// so bilinear resampling must reproduce them exactly.
	for _, size := range [][2]int{{5, 5}, {6, 6}, {28, 28}} {
		h, w := size[0], size[1]
		src := grid(h, w)
		dst := make([]float32, h*w)
		rotatePlane(dst, src, h, w, 0, 1) // +90°: counter-clockwise as displayed
		for y := range h {
			for x := range w {
				// Counter-clockwise: the right edge goes to the top, so
				// dst(x, y) = src(w-1-y, x).
				if want := src[x*w+(w-1-y)]; dst[y*w+x] != want {
					t.Fatalf("%dx%d +90°: (%d,%d) = %v, want %v", h, w, x, y, dst[y*w+x], want)
				}
			}
		}
		rotatePlane(dst, src, h, w, -1, 0) // 180°
		for i := range dst {
			if dst[i] != src[len(src)-1-i] {
				t.Fatalf("%dx%d 180°: pixel %d = %v, want %v", h, w, i, dst[i], src[len(src)-1-i])
			}
		}
		rotatePlane(dst, src, h, w, 1, 0)
		if !slices.Equal(dst, src) {
			t.Fatalf("%dx%d 0°: not the identity", h, w)
		}
	}
}

func TestRotatePlaneBilinear(t *testing.T) {
	// Every pixel against a plain evaluation of the inverse map and the
	// bilinear formula, with math.Floor and explicit zero fill: the fast
	// path's incremental coordinates and border branches must agree.
	for _, size := range [][2]int{{7, 9}, {28, 28}, {2, 1}} {
		rotateAgainstReference(t, size[0], size[1])
	}
}

func rotateAgainstReference(t *testing.T, h, w int) {
	t.Helper()
	src := make([]float64, h*w)
	for i := range src {
		src[i] = float64((i * 37) % 11)
	}
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return src[y*w+x]
	}
	for _, deg := range []float64{13, -30, 45, 170, 7.5, -2} {
		th := deg * math.Pi / 180
		sin, cos := math.Sincos(th)
		dst := make([]float64, h*w)
		rotatePlane(dst, src, h, w, cos, sin)
		cx, cy := float64(w-1)/2, float64(h-1)/2
		for y := range h {
			for x := range w {
				dx, dy := float64(x)-cx, float64(y)-cy
				sx, sy := cx+cos*dx-sin*dy, cy+sin*dx+cos*dy
				x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
				fx, fy := sx-float64(x0), sy-float64(y0)
				want := (1-fy)*((1-fx)*at(x0, y0)+fx*at(x0+1, y0)) + fy*((1-fx)*at(x0, y0+1)+fx*at(x0+1, y0+1))
				if math.Abs(dst[y*w+x]-want) > 1e-9 {
					t.Fatalf("%dx%d %v°: (%d,%d) = %v, want %v", h, w, deg, x, y, dst[y*w+x], want)
				}
			}
		}
	}
}

func TestRandomRotationRange(t *testing.T) {
	// With a one-hot pixel right of centre, the angle can be read back
	// from where it lands; all draws must stay within ±degrees.
	pcg := rand.NewPCG(1, 2)
	rng := rand.New(pcg)
	n := 41
	src := make([]float32, n*n)
	src[(n/2)*n+n/2+15] = 1
	ex := newExample32([]int{1, n, n}, make([]float32, n*n))
	var lo, hi float64
	for range 300 {
		copy(ex.X32, src)
		if err := RandomRotation(25).Apply(rng, ex); err != nil {
			t.Fatal(err)
		}
		var sx, sy, sw float64
		for i, v := range ex.X32 {
			sx += float64(i%n) * float64(v)
			sy += float64(i/n) * float64(v)
			sw += float64(v)
		}
		ang := math.Atan2(-(sy/sw-float64(n/2)), sx/sw-float64(n/2)) * 180 / math.Pi
		lo, hi = min(lo, ang), max(hi, ang)
	}
	if lo < -25.5 || hi > 25.5 || lo > -20 || hi < 20 {
		t.Fatalf("angles seen in [%.1f, %.1f], want spread over ±25", lo, hi)
	}
}

func TestRandomHorizontalFlip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := grid(2, 3)
	ex := newExample32([]int{2, 3}, slices.Clone(src))
	RandomHorizontalFlip(1).Apply(rng, ex)
	if want := []float32{3, 2, 1, 6, 5, 4}; !slices.Equal(ex.X32, want) {
		t.Fatalf("flip p=1: %v, want %v", ex.X32, want)
	}
	copy(ex.X32, src)
	RandomHorizontalFlip(0).Apply(rng, ex)
	if !slices.Equal(ex.X32, src) {
		t.Fatal("flip p=0 changed the image")
	}
	flips := 0
	for range 2000 {
		copy(ex.X32, src)
		RandomHorizontalFlip(0.3).Apply(rng, ex)
		if ex.X32[0] == 3 {
			flips++
		}
	}
	if flips < 520 || flips > 680 {
		t.Fatalf("p=0.3 flipped %d of 2000", flips)
	}
}

func TestShiftPlanes(t *testing.T) {
	src := grid(3, 4)
	for _, tt := range []struct {
		dx, dy int
		want   []float32
	}{
		{1, 0, []float32{0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11}},
		{-2, 1, []float32{0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0}},
		{0, -1, []float32{5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0}},
		{4, 0, make([]float32, 12)},
		{0, 3, make([]float32, 12)},
	} {
		dst := make([]float32, 12)
		shiftPlanes(dst, src, 1, 3, 4, tt.dx, tt.dy)
		if !slices.Equal(dst, tt.want) {
			t.Errorf("shift (%d,%d) = %v, want %v", tt.dx, tt.dy, dst, tt.want)
		}
	}
	// Two channels move together.
	two := append(grid(3, 4), grid(3, 4)...)
	dst := make([]float32, 24)
	shiftPlanes(dst, two, 2, 3, 4, 1, 0)
	if !slices.Equal(dst[:12], dst[12:]) {
		t.Error("channels shifted differently")
	}
}

func TestRandomShiftRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 11
	seen := map[[2]int]int{}
	ex := newExample32([]int{n, n}, make([]float32, n*n))
	for range 3000 {
		clear(ex.X32)
		ex.X32[5*n+5] = 1
		RandomShift(2).Apply(rng, ex)
		i := slices.Index(ex.X32, 1)
		seen[[2]int{i%n - 5, i/n - 5}]++
	}
	if len(seen) != 25 {
		t.Fatalf("saw %d distinct shifts, want all 25 of [-2,2]²: %v", len(seen), seen)
	}
}

func TestTransformsFloat32MatchFloat64(t *testing.T) {
	h, w := 12, 10
	src := grid(h, w)
	ts := []Transform{RandomRotation(30), RandomShift(2), RandomHorizontalFlip(0.5), Normalize(3, 4)}
	for seed := range uint64(20) {
		e32 := newExample32([]int{1, h, w}, slices.Clone(src))
		e64 := &Example{Shape: []int{1, h, w}, X64: make([]float64, h*w), Scratch64: make([]float64, h*w)}
		for i, v := range src {
			e64.X64[i] = float64(v)
		}
		r32, r64 := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
		for _, tr := range ts {
			tr.Apply(r32, e32)
			tr.Apply(r64, e64)
		}
		for i := range e32.X32 {
			if math.Abs(float64(e32.X32[i])-e64.X64[i]) > 1e-4*max(1, math.Abs(e64.X64[i])) {
				t.Fatalf("seed %d: value %d: float32 %v, float64 %v", seed, i, e32.X32[i], e64.X64[i])
			}
		}
	}
}

func TestTransformShapeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tr := range []Transform{RandomRotation(5), RandomShift(1), RandomHorizontalFlip(1)} {
		if err := tr.Apply(rng, newExample32([]int{4}, make([]float32, 4))); err == nil {
			t.Errorf("%v accepted a flat example", tr)
		}
		if err := tr.Apply(rng, &Example{Shape: []int{2, 2}, X32: make([]float32, 4)}); err == nil {
			t.Errorf("%v accepted an example without scratch", tr)
		}
	}
}
