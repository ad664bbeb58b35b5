package golden

import (
	"path/filepath"
	"testing"
)

// checkFiles runs every file of Dir matching pattern through its registered
// checker: each must produce every wanted variant, all within tolerance,
// and at least minFiles files must exist.
func checkFiles(t *testing.T, pattern string, minFiles int, variants ...string) {
	t.Helper()
	files, err := Files(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < minFiles {
		t.Fatalf("%d %s files in %s, want at least %d", len(files), pattern, Dir(), minFiles)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			results, err := Check(f)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, r := range results {
				seen[r.Variant] = true
				if !r.OK() {
					t.Errorf("%s: max rel err %.3g > %g", r.Variant, r.MaxRelErr, r.Tolerance)
				}
				t.Logf("%s: max rel err %.3g", r.Variant, r.MaxRelErr)
			}
			for _, v := range variants {
				if !seen[v] {
					t.Errorf("no %s variant in %v", v, seen)
				}
			}
		})
	}
}

// TestMLPFiles trains every mlp-*.json model end to end through graph/ with
// solvers.Adam: every loss and the final weights within 1e-8 (float64).
func TestMLPFiles(t *testing.T) { checkFiles(t, "mlp-*.json", 3, "float64") }

// TestCNNFiles trains every cnn-*.json network (convolutions of several
// kernels, strides and paddings, pooling, activations, Adam and AdamW
// options) end to end through graph/: every loss and the final weights
// within 1e-8 (float64).
func TestCNNFiles(t *testing.T) { checkFiles(t, "cnn-*.json", 5, "float64") }
