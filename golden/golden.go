package golden

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/pkg/errors"
)

// File is one golden file: the common header and every field as raw JSON
// for the kind's checker to decode.
type File struct {
	Path      string
	Kind      string `json:"kind"`
	Generator string `json:"generator"`
	Dtype     string `json:"dtype"`
	Raw       map[string]json.RawMessage
}

// Decode unmarshals the whole file into v (a kind-specific struct).
func (f *File) Decode(v any) error {
	b, err := json.Marshal(f.Raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.Wrapf(err, "golden: %s", f.Path)
	}
	return nil
}

// Load reads and parses a golden file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.Wrap(err, "golden")
	}
	f := &File{Path: path}
	if err := json.Unmarshal(b, &f.Raw); err != nil {
		return nil, errors.Wrapf(err, "golden: %s is not JSON", path)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, errors.Wrapf(err, "golden: %s", path)
	}
	if f.Kind == "" {
		return nil, errors.Errorf("golden: %s has no \"kind\" field", path)
	}
	return f, nil
}

// Result is the outcome of one check of a file. A file may be checked more
// than once (an optimizer case in float64 and in float32).
type Result struct {
	// Variant names the run, e.g. "float64" or "float32".
	Variant   string
	MaxRelErr float64
	Tolerance float64
}

// OK reports whether the error is within tolerance (NaN is not).
func (r Result) OK() bool { return r.MaxRelErr <= r.Tolerance }

// Checker runs one golden file and returns its results.
type Checker func(f *File) ([]Result, error)

var checkers = map[string]Checker{}

// Register makes c the checker for files of the given kind. It is called
// from init functions; a second registration of a kind is a programming
// error and panics.
func Register(kind string, c Checker) {
	if _, dup := checkers[kind]; dup {
		panic("golden: checker registered twice for kind " + kind)
	}
	checkers[kind] = c
}

// Kinds lists the registered kinds.
func Kinds() []string {
	var ks []string
	for k := range checkers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Check runs the checker registered for f's kind.
func Check(f *File) ([]Result, error) {
	c, ok := checkers[f.Kind]
	if !ok {
		return nil, errors.Errorf("golden: %s: no checker for kind %q (known: %v)", f.Path, f.Kind, Kinds())
	}
	return c(f)
}

// RelErr is the golden README's error measure: |got-want| / max(|want|, 1e-3).
// NaN in either makes it +Inf so that it always fails.
func RelErr(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.Inf(1)
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-3)
}

// MaxRelErr returns the worst RelErr over two equally long slices; a length
// mismatch is +Inf.
func MaxRelErr(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, RelErr(got[i], want[i]))
	}
	return worst
}

// Dir returns testdata/golden at the module root, found from this source
// file so that tests in any package can use it.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "golden")
}

// Files returns the golden files in Dir whose names match pattern
// (a filepath.Match pattern such as "adam*.json").
func Files(pattern string) ([]string, error) {
	return filepath.Glob(filepath.Join(Dir(), pattern))
}
