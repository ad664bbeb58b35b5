package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestTuneSearchFlagErrors: the strategy and pruner flags are validated
// with exit 2 and a message naming the flag.
func TestTuneSearchFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-strategy", "asha", "-pruner", "median"}, "-pruner"},
		{[]string{"-strategy", "hyperband", "-eta", "1"}, "-eta"},
		{[]string{"-strategy", "tpe", "-tpe-startup", "0"}, "-tpe-startup"},
		{[]string{"-pruner", "sometimes"}, "-pruner"},
		{[]string{"-pruner", "median", "-pruner-min-trials", "0"}, "-pruner-min-trials"},
		{[]string{"-pruner", "halving", "-min-epochs", "9"}, "-min-epochs"},
		{[]string{"-strategy", "grid", "-grid-points", "50", "-space", "lr=log:1e-4:1e-2,beta1=uniform:0.8:0.99",
			"-train-limit", "100", "-test-limit", "100", "-epochs", "1"},
			"the grid has 50 × 50 trials, more than -max-trials 1000; use fewer points per range or raise -max-trials"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runBinary(t, append([]string{"tune", "-out", t.TempDir()}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2 with %q; stderr:\n%s", code, tc.want, stderr)
			}
		})
	}
}

// TestTuneTPEWithMedianPruner runs a tiny model-based search with median
// stopping end to end.
func TestTuneTPEWithMedianPruner(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runBinary(t, "tune", "-out", out, "-strategy", "tpe", "-trials", "5", "-tpe-startup", "3",
		"-pruner", "median", "-pruner-warmup", "0", "-pruner-min-trials", "1", "-workers", "2",
		"-space", "lr=log:1e-5:1e-1", "-train-limit", "1000", "-test-limit", "200", "-epochs", "2", "-plots=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Strategy string
		Results  []struct{ Status string }
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Strategy, "tpe(trials=5") || len(doc.Results) != 5 {
		t.Errorf("results.json: strategy %q, %d results, want tpe with 5", doc.Strategy, len(doc.Results))
	}
}

// TestTuneHyperbandContinuesPromotedTrials: a promoted trial resumes from
// its own checkpoint, so it reports only the epochs it adds.
func TestTuneHyperbandContinuesPromotedTrials(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runBinary(t, "tune", "-out", out, "-strategy", "hyperband", "-min-epochs", "1", "-eta", "3",
		"-workers", "2", "-space", "lr=log:1e-4:1e-2", "-train-limit", "1000", "-test-limit", "200", "-epochs", "3", "-plots=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			ID, Rung, Epochs int
			History          []struct{ Epoch int }
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// Brackets (1, 3, 3): 3×1 → 1×3, then 2×3.
	runs := map[[2]int]int{}
	for _, r := range doc.Results {
		runs[[2]int{r.Rung, r.Epochs}]++
		if r.ID < 3 && r.Rung == 1 {
			if len(r.History) != 2 || r.History[0].Epoch != 1 {
				t.Errorf("promoted trial %d reported epochs %v, want 1 and 2 only (continued from its checkpoint)", r.ID, r.History)
			}
		}
	}
	if want := map[[2]int]int{{0, 1}: 3, {1, 3}: 3}; !reflect.DeepEqual(runs, want) {
		t.Errorf("runs by (rung, epochs) %v, want %v", runs, want)
	}
}
