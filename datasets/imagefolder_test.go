package datasets

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImage writes img as PNG, or JPEG when path ends in .jpg.
func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 100})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// grey returns an h×w grey image whose pixel (x, y) is v(x, y).
func grey(h, w int, v func(x, y int) uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: v(x, y)})
		}
	}
	return img
}

func solid(h, w int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestReadImageFolder(t *testing.T) {
	root := t.TempDir()
	// Two classes, written out of order; a nested folder, a non-image and
	// a hidden folder that must be ignored.
	writeImage(t, filepath.Join(root, "zebra", "b.png"), grey(2, 2, func(x, y int) uint8 { return uint8(10 * (y*2 + x)) }))
	writeImage(t, filepath.Join(root, "zebra", "a.png"), grey(2, 2, func(int, int) uint8 { return 255 }))
	writeImage(t, filepath.Join(root, "ant", "sub", "c.PNG"), grey(2, 2, func(int, int) uint8 { return 0 }))
	writeImage(t, filepath.Join(root, ".hidden", "x.png"), grey(2, 2, func(int, int) uint8 { return 1 }))
	for _, junk := range []string{filepath.Join("ant", "notes.txt"), filepath.Join("ant", "._c.png"), filepath.Join("zebra", ".DS_Store")} {
		if err := os.WriteFile(filepath.Join(root, junk), []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := ReadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ClassNames, []string{"ant", "zebra"}) || !slices.Equal(ds.Labels, []int{0, 1, 1}) || !slices.Equal(ds.ExampleShape, []int{1, 2, 2}) {
		t.Fatalf("classes %q labels %v shape %v", ds.ClassNames, ds.Labels, ds.ExampleShape)
	}
	want := []float32{0, 0, 0, 0, 1, 1, 1, 1, 0, 10.0 / 255, 20.0 / 255, 30.0 / 255}
	if !slices.Equal(ds.X32, want) {
		t.Fatalf("pixels %v, want %v", ds.X32, want)
	}

	// The test split: the training classes fixed, a folder missing.
	test := t.TempDir()
	writeImage(t, filepath.Join(test, "zebra", "q.png"), grey(2, 2, func(int, int) uint8 { return 255 }))
	ts, err := ReadImageFolder(test, WithFolderClasses(ds.ClassNames...))
	if err != nil {
		t.Fatal(err)
	}
	if ts.Classes != 2 || !slices.Equal(ts.Labels, []int{1}) {
		t.Fatalf("test split: %d classes, labels %v", ts.Classes, ts.Labels)
	}
}

func TestReadImageFolderColourAndResize(t *testing.T) {
	root := t.TempDir()
	writeImage(t, filepath.Join(root, "a", "red.png"), solid(3, 5, color.NRGBA{R: 255, A: 255}))
	writeImage(t, filepath.Join(root, "a", "half.png"), solid(4, 4, color.NRGBA{R: 255, G: 255, B: 255, A: 128}))
	// A 4×4 checkerboard of 2×2 blocks: halving averages each block.
	writeImage(t, filepath.Join(root, "b", "check.png"), grey(4, 4, func(x, y int) uint8 {
		if (x/2+y/2)%2 == 0 {
			return 255
		}
		return 0
	}))
	rgb, err := ReadImageFolder(root, WithRGB(true), WithImageSize(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rgb.ExampleShape, []int{3, 2, 2}) {
		t.Fatalf("shape %v", rgb.ExampleShape)
	}
	// Files in lexical order: a/half.png, a/red.png, b/check.png.
	at := func(i, c, y, x int) float32 { return rgb.X32[i*12+c*4+y*2+x] }
	for y := range 2 {
		for x := range 2 {
			if at(0, 0, y, x) != 1 || at(0, 1, y, x) != 1 { // alpha dropped, not composited
				t.Errorf("half-transparent white at (%d,%d) = %v, want 1", y, x, at(0, 0, y, x))
			}
			if at(1, 0, y, x) != 1 || at(1, 1, y, x) != 0 || at(1, 2, y, x) != 0 {
				t.Errorf("red resized from 3×5 at (%d,%d) = %v %v %v", y, x, at(1, 0, y, x), at(1, 1, y, x), at(1, 2, y, x))
			}
		}
	}
	// Halving widens the triangle to ±2 source pixels, so each output
	// pixel sees its 2×2 block with weight 3/7 per row and column and the
	// next block's first row and column with 1/7: 37/49 and 12/49, what
	// PIL's resize((2, 2), BILINEAR) gives.
	got := []float32{at(2, 0, 0, 0), at(2, 0, 0, 1), at(2, 0, 1, 0), at(2, 0, 1, 1)}
	for i, want := range []float64{37.0 / 49, 12.0 / 49, 12.0 / 49, 37.0 / 49} {
		if math.Abs(float64(got[i])-want) > 1e-6 {
			t.Errorf("checkerboard halved: %v, want 37/49 on the diagonal, 12/49 off it", got)
			break
		}
	}
	g, err := ReadImageFolder(root, WithImageSize(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if want := float32(0.299); g.X32[4] != want { // red in grey: BT.601 luma
		t.Errorf("red as grey = %v, want %v", g.X32[4], want)
	}
	// Upscaling 2×2 → 4×4 is the bilinear interpolation of the centres.
	up := t.TempDir()
	writeImage(t, filepath.Join(up, "a", "ramp.png"), grey(1, 2, func(x, _ int) uint8 { return uint8(255 * x) }))
	u, err := ReadImageFolder(up, WithImageSize(1, 4))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 0.25, 0.75, 1}; !slices.Equal(u.X32, want) {
		t.Errorf("ramp upscaled: %v, want %v", u.X32, want)
	}
}

func TestReadImageFolderDeterministic(t *testing.T) {
	root := t.TempDir()
	for c, class := range []string{"x", "y", "z"} {
		for i := range 7 {
			writeImage(t, filepath.Join(root, class, string(rune('a'+i))+".jpg"), grey(9, 7, func(x, y int) uint8 { return uint8(x*30 + y*5 + c*40 + i) }))
		}
	}
	one, err := ReadImageFolder(root, WithDecodeWorkers(1), WithImageSize(4, 5))
	if err != nil {
		t.Fatal(err)
	}
	many, err := ReadImageFolder(root, WithDecodeWorkers(5), WithImageSize(4, 5))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.X32, many.X32) || !slices.Equal(one.Labels, many.Labels) || one.Len() != 21 {
		t.Fatalf("1 worker and 5 workers differ, or %d images, want 21", one.Len())
	}
}

func TestReadImageFolderErrors(t *testing.T) {
	img := grey(2, 2, func(int, int) uint8 { return 0 })
	tests := []struct {
		name  string
		setup func(root string)
		opts  []ImageFolderOption
		want  []string
	}{
		{"missing root", func(root string) { os.RemoveAll(root) }, nil, []string{"reading the image folder", "no such file"}},
		{"no class folders", func(root string) { os.WriteFile(filepath.Join(root, "a.png"), nil, 0o644) }, nil, []string{"no class folders"}},
		{"empty class folder", func(root string) {
			writeImage(t, filepath.Join(root, "a", "1.png"), img)
			os.MkdirAll(filepath.Join(root, "b"), 0o755)
			os.WriteFile(filepath.Join(root, "b", "readme.txt"), nil, 0o644)
		}, nil, []string{filepath.Join("b"), "holds no image"}},
		{"undecodable image", func(root string) {
			writeImage(t, filepath.Join(root, "a", "1.png"), img)
			os.WriteFile(filepath.Join(root, "a", "2.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644)
		}, nil, []string{filepath.Join("a", "2.png"), "does not decode"}},
		{"truncated jpeg first", func(root string) {
			os.MkdirAll(filepath.Join(root, "a"), 0o755)
			os.WriteFile(filepath.Join(root, "a", "0.jpg"), []byte{0xff, 0xd8, 0xff}, 0o644)
		}, nil, []string{filepath.Join("a", "0.jpg"), "does not decode"}},
		{"unsupported image format", func(root string) {
			writeImage(t, filepath.Join(root, "a", "1.png"), img)
			os.WriteFile(filepath.Join(root, "a", "2.BMP"), []byte("BM"), 0o644)
		}, nil, []string{filepath.Join("a", "2.BMP"), ".bmp images are not supported"}},
		{"header announcing a huge image", func(root string) {
			// A valid PNG header of 100000×100000 pixels, with no pixel data.
			var b bytes.Buffer
			png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
			data := b.Bytes()
			binary.BigEndian.PutUint32(data[16:], 100000)
			binary.BigEndian.PutUint32(data[20:], 100000)
			binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
			os.MkdirAll(filepath.Join(root, "a"), 0o755)
			os.WriteFile(filepath.Join(root, "a", "bomb.png"), data, 0o644)
		}, nil, []string{filepath.Join("a", "bomb.png"), "100000×100000 pixels", "at most 67108864 pixels"}},
		{"folder outside the fixed classes", func(root string) { writeImage(t, filepath.Join(root, "c", "1.png"), img) },
			[]ImageFolderOption{WithFolderClasses("a", "b")}, []string{`class folder "c" is not one of the 2 classes`}},
		{"bad size", func(root string) { writeImage(t, filepath.Join(root, "a", "1.png"), img) },
			[]ImageFolderOption{WithImageSize(0, 3)}, []string{"WithImageSize(0, 3)"}},
		{"bad workers", func(root string) { writeImage(t, filepath.Join(root, "a", "1.png"), img) },
			[]ImageFolderOption{WithDecodeWorkers(0)}, []string{"WithDecodeWorkers(0)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(root)
			ds, err := ReadImageFolder(root, tc.opts...)
			requireErrorWith(t, ds, err, tc.want...)
		})
	}
}

// TestPixelReaderFastPaths: the typed readers give what the generic
// conversion gives, for every pixel type they handle.
func TestPixelReaderFastPaths(t *testing.T) {
	r := image.Rect(0, 0, 5, 3)
	gray, nrgba, ycc := image.NewGray(r), image.NewNRGBA(r), image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 17)
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i*29 + 3)
		if i%4 == 3 {
			nrgba.Pix[i] = 255 // opaque: the generic path is exact there
		}
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 13)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*71), uint8(255-i*53)
	}
	for _, img := range []image.Image{gray, nrgba, ycc} {
		fast := pixelReader(img)
		for y := range 3 {
			for x := range 5 {
				c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				if r, g, b := fast(x, y); r != uint32(c.R) || g != uint32(c.G) || b != uint32(c.B) {
					t.Fatalf("%T at (%d,%d): fast %d %d %d, generic %v", img, x, y, r, g, b, c)
				}
			}
		}
	}
	// A translucent pixel keeps its stored colour exactly (the generic
	// path's premultiplied round trip would round it).
	nrgba.SetNRGBA(0, 0, color.NRGBA{R: 3, G: 32, B: 61, A: 90})
	if r, g, b := pixelReader(nrgba)(0, 0); r != 3*0x101 || g != 32*0x101 || b != 61*0x101 {
		t.Fatalf("translucent NRGBA read as %d %d %d", r, g, b)
	}
}

func TestReadImageFolderGIF(t *testing.T) {
	root := t.TempDir()
	img := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.Gray{Y: 0}, color.Gray{Y: 255}})
	img.SetColorIndex(1, 0, 1)
	if err := os.MkdirAll(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(root, "a", "x.gif"))
	if err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ds, err := ReadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.X32, []float32{0, 1}) {
		t.Fatalf("GIF pixels %v, want [0 1]", ds.X32)
	}
}
