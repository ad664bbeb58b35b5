package datasets

import (
	"image"
	"image/color"
	_ "image/gif"  // registers GIF with image.Decode
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/pkg/errors"
)

// ImageFolderOption configures ReadImageFolder.
type ImageFolderOption func(*imageFolderConfig)

type imageFolderConfig struct {
	height, width int
	rgb           bool
	classes       []string
	workers       int
}

// WithImageSize resizes every image to height × width pixels. Without it
// the size is that of the first image in file order (the first class
// folder's first file).
func WithImageSize(height, width int) ImageFolderOption {
	return func(c *imageFolderConfig) { c.height, c.width = height, width }
}

// WithRGB keeps three colour channels (true) instead of converting to one
// grey channel (false, the default).
func WithRGB(rgb bool) ImageFolderOption { return func(c *imageFolderConfig) { c.rgb = rgb } }

// WithFolderClasses fixes the classes and their order instead of taking
// the folder names found: pass the training set's ClassNames when reading
// its test folder, so that both index the classes alike. Every class folder
// found must then be one of names; names without a folder are allowed.
func WithFolderClasses(names ...string) ImageFolderOption {
	return func(c *imageFolderConfig) { c.classes = slices.Clone(names) }
}

// WithDecodeWorkers sets how many goroutines decode images at once
// (default GOMAXPROCS). The result does not depend on it.
func WithDecodeWorkers(n int) ImageFolderOption { return func(c *imageFolderConfig) { c.workers = n } }

// maxImagePixels bounds the size of one decoded image (64 megapixels,
// 256 MB as RGBA): far above any training image, and below what a forged
// header could make a decoder allocate.
const maxImagePixels = 1 << 26

// imageExts are the file extensions ReadImageFolder decodes, compared
// without regard to case.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

// unsupportedImageExts are image files ReadImageFolder cannot decode: an
// error, not a silently shorter class.
var unsupportedImageExts = []string{".bmp", ".webp", ".tif", ".tiff", ".heic", ".avif"}

// ReadImageFolder reads a directory laid out as torchvision's ImageFolder
// and Keras' image_dataset_from_directory expect: root/CLASS/… image
// files, one folder per class. Classes are the folder names in sorted
// (byte-wise) order; images are the .png, .jpg, .jpeg and .gif files (any
// case; a GIF's first frame)
// under each class folder, subfolders included, in lexical path order, so
// the dataset's order is the same on every run. Images in formats it
// cannot decode (.bmp, .webp, .tif, .tiff, .heic, .avif) are an
// error; other files, files directly in root, and files and folders whose
// name starts with a dot (.DS_Store, ._x.png) are ignored.
//
// Pixels become float32 in [0, 1] (8-bit values / 255, 16-bit / 65535),
// ExampleShape [channels, height, width]: grey (ITU-R BT.601 luma,
// 0.299 R + 0.587 G + 0.114 B, the weights of PIL's convert("L")) unless
// WithRGB(true); transparency is dropped without compositing, like PIL's
// convert("RGB"). Images of another size are resized with a separable
// triangle (bilinear) filter whose support widens by the reduction factor
// when shrinking, so that every source pixel contributes — PIL's
// Image.resize(BILINEAR) and torchvision's Resize(antialias=True) — with
// pixel centres aligned (align_corners=False). Images are decoded in
// parallel, each into its own place in the result.
//
// Every problem is an error naming the folder or the file: a missing or
// empty root, a class folder with no image, a file that does not decode
// (with the decoder's reason), an image in an unsupported format, a folder
// not among WithFolderClasses. The
// first error in file order is reported, whatever the decoding order.
func ReadImageFolder(root string, opts ...ImageFolderOption) (*Dataset, error) {
	cfg := imageFolderConfig{workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datasets: nil ImageFolderOption")
		}
		o(&cfg)
	}
	if (cfg.height != 0 || cfg.width != 0) && (cfg.height < 1 || cfg.width < 1 || cfg.height > 1<<14 || cfg.width > 1<<14) {
		return nil, errors.Errorf("datasets: WithImageSize(%d, %d): want both in [1, 16384]", cfg.height, cfg.width)
	}
	if cfg.workers < 1 {
		return nil, errors.Errorf("datasets: WithDecodeWorkers(%d): want ≥ 1", cfg.workers)
	}
	if cfg.classes != nil {
		if err := checkClassNames(cfg.classes); err != nil {
			return nil, errors.Wrap(err, "datasets: WithFolderClasses")
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: reading the image folder")
	}
	var folders []string
	for _, e := range entries {
		if isClassFolder(root, e) {
			folders = append(folders, e.Name())
		}
	}
	if len(folders) == 0 {
		return nil, errors.Errorf("datasets: image folder %s has no class folders, want root/CLASS/image.png", root)
	}
	classes := cfg.classes
	if classes == nil {
		classes = folders // os.ReadDir sorts by name
	}
	var files []string
	var labels []int
	for _, name := range folders {
		k := slices.Index(classes, name)
		if k < 0 {
			return nil, errors.Errorf("datasets: image folder %s: class folder %q is not one of the %d classes %q", root, name, len(classes), classes)
		}
		dir := filepath.Join(root, name)
		n := len(files)
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			hidden := strings.HasPrefix(e.Name(), ".")
			switch ext := strings.ToLower(filepath.Ext(path)); {
			case e.IsDir() && path != dir && hidden:
				return filepath.SkipDir
			case e.IsDir() || hidden:
			case slices.Contains(imageExts, ext):
				files = append(files, path)
				labels = append(labels, k)
			case slices.Contains(unsupportedImageExts, ext):
				return errors.Errorf("image %s: %s images are not supported (want %s)", path, ext, strings.Join(imageExts, ", "))
			}
			return nil
		})
		if err != nil {
			return nil, errors.Wrapf(err, "datasets: listing class folder %s", dir)
		}
		if len(files) == n {
			return nil, errors.Errorf("datasets: class folder %s holds no image (%s), want at least one", dir, strings.Join(imageExts, ", "))
		}
	}

	channels := 1
	if cfg.rgb {
		channels = 3
	}
	first, err := decodeImage(files[0])
	if err != nil {
		return nil, err
	}
	h, w := cfg.height, cfg.width
	if h == 0 {
		b := first.Bounds()
		h, w = b.Dy(), b.Dx()
	}
	fl := channels * h * w
	ds := &Dataset{
		Name:         root,
		ExampleShape: []int{channels, h, w},
		X32:          make([]float32, len(files)*fl),
		Labels:       labels,
		Classes:      len(classes),
		ClassNames:   slices.Clone(classes),
	}
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rs resizer
			for i := range next {
				img := first
				if i > 0 {
					if img, errs[i] = decodeImage(files[i]); errs[i] != nil {
						continue
					}
				}
				rs.resize(img, channels, h, w, ds.X32[i*fl:(i+1)*fl])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// isClassFolder reports whether e, in root, is a class folder: a directory
// (or a link to one) whose name does not start with a dot.
func isClassFolder(root string, e fs.DirEntry) bool {
	if strings.HasPrefix(e.Name(), ".") {
		return false
	}
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		fi, err := os.Stat(filepath.Join(root, e.Name()))
		return err == nil && fi.IsDir()
	}
	return false
}

// decodeImage decodes one PNG or JPEG file; a decoder's panic on a hostile
// file is an error too.
func decodeImage(path string) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, errors.Errorf("datasets: image %s: decoder failed: %v", path, p)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: opening image")
	}
	defer f.Close()
	// The header first: a small file may announce a huge image, and
	// decoding it would allocate what it announces.
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return nil, errors.Errorf("datasets: image %s does not decode: %v", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, errors.Errorf("datasets: image %s (%s) is %d×%d pixels, want at least 1×1 and at most %d pixels", path, format, cfg.Width, cfg.Height, maxImagePixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, errors.Wrap(err, "datasets: rereading image")
	}
	img, format, err = image.Decode(f)
	if err != nil {
		return nil, errors.Errorf("datasets: image %s does not decode: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return nil, errors.Errorf("datasets: image %s (%s) is %d×%d pixels, want at least 1×1", path, format, b.Dx(), b.Dy())
	}
	return img, nil
}

// resizer converts and resamples images into a float32 buffer, keeping
// its scratch planes across the images one goroutine handles.
type resizer struct {
	src, tmp []float64
	wx, wy   []tap
}

// tap is one output pixel's filter along an axis: weights for the source
// pixels first, first+1, ….
type tap struct {
	first   int
	weights []float64
}

// resize writes img as channels planes of h × w values in [0, 1] to dst.
func (r *resizer) resize(img image.Image, channels, h, w int, dst []float32) {
	b := img.Bounds()
	sh, sw := b.Dy(), b.Dx()
	r.src = slices.Grow(r.src[:0], channels*sh*sw)[:channels*sh*sw]
	plane := sh * sw
	at := pixelReader(img)
	for y := range sh {
		for x := range sw {
			r16, g16, b16 := at(b.Min.X+x, b.Min.Y+y)
			R, G, B := float64(r16)/0xffff, float64(g16)/0xffff, float64(b16)/0xffff
			i := y*sw + x
			if channels == 1 {
				r.src[i] = 0.299*R + 0.587*G + 0.114*B
			} else {
				r.src[i], r.src[plane+i], r.src[2*plane+i] = R, G, B
			}
		}
	}
	if sh == h && sw == w {
		for i, v := range r.src {
			dst[i] = float32(v)
		}
		return
	}
	r.wx = filterTaps(r.wx, sw, w)
	r.wy = filterTaps(r.wy, sh, h)
	r.tmp = slices.Grow(r.tmp[:0], sh*w)[:sh*w]
	for c := range channels {
		src := r.src[c*plane : (c+1)*plane]
		for y := range sh { // horizontal pass: sh × w
			row := src[y*sw : (y+1)*sw]
			for x, t := range r.wx {
				s := 0.0
				for k, wt := range t.weights {
					s += wt * row[t.first+k]
				}
				r.tmp[y*w+x] = s
			}
		}
		out := dst[c*h*w : (c+1)*h*w]
		for y, t := range r.wy { // vertical pass: h × w
			for x := range w {
				s := 0.0
				for k, wt := range t.weights {
					s += wt * r.tmp[(t.first+k)*w+x]
				}
				out[y*w+x] = float32(min(max(s, 0), 1))
			}
		}
	}
}

// pixelReader returns a function giving the non-premultiplied 16-bit
// colour of a pixel, what color.NRGBA64Model gives, read straight from
// the pixel arrays of the types PNG and JPEG decode to, so that reading
// does not box every pixel in an interface.
func pixelReader(img image.Image) func(x, y int) (r, g, b uint32) {
	switch m := img.(type) {
	case *image.Gray:
		return func(x, y int) (uint32, uint32, uint32) {
			v := uint32(m.GrayAt(x, y).Y) * 0x101
			return v, v, v
		}
	case *image.NRGBA:
		return func(x, y int) (uint32, uint32, uint32) {
			c := m.NRGBAAt(x, y)
			return uint32(c.R) * 0x101, uint32(c.G) * 0x101, uint32(c.B) * 0x101
		}
	case *image.YCbCr:
		return func(x, y int) (uint32, uint32, uint32) {
			r, g, b, _ := m.YCbCrAt(x, y).RGBA() // opaque: NRGBA64 is the same
			return r, g, b
		}
	}
	return func(x, y int) (uint32, uint32, uint32) {
		c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
		return uint32(c.R), uint32(c.G), uint32(c.B)
	}
}

// filterTaps computes the triangle filter from n source pixels to m output
// pixels along one axis, reusing taps' storage: output pixel i is centred
// at source coordinate (i + 0.5)·n/m, and the filter's half-width is
// max(1, n/m) source pixels, normalised to sum to 1.
func filterTaps(taps []tap, n, m int) []tap {
	taps = slices.Grow(taps[:0], m)[:m]
	scale := float64(n) / float64(m)
	support := max(scale, 1)
	for i := range taps {
		centre := (float64(i) + 0.5) * scale
		lo := max(int(math.Floor(centre-support)), 0)
		hi := min(int(math.Ceil(centre+support)), n)
		ws := taps[i].weights[:0]
		sum := 0.0
		for j := lo; j < hi; j++ {
			wt := max(1-math.Abs((float64(j)+0.5-centre)/support), 0)
			ws = append(ws, wt)
			sum += wt
		}
		for k := range ws {
			ws[k] /= sum
		}
		taps[i] = tap{first: lo, weights: ws}
	}
	return taps
}
