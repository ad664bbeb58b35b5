package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// requirePNG decodes path and checks it has the size savePNG draws.
func requirePNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	want := vgimg.New(16*vg.Centimeter, 10*vg.Centimeter).Image().Bounds()
	if img.Bounds() != want {
		t.Errorf("%s is %v, want %v", path, img.Bounds(), want)
	}
}

// TestLRFindDefaultModel runs the range test on the default MLP (100
// batches of a 6,400-image subset): the suggestion lands in [1e-4, 1e-2],
// the plot and the curve are written, and a second run with the same seed
// writes the same curve.
func TestLRFindDefaultModel(t *testing.T) {
	var curves [][]byte
	for run := 0; run < 2; run++ {
		out := t.TempDir()
		stdout, stderr, code := runBinary(t, "lr-find", "-out", out, "-train-limit", "6400", "-test-limit", "100")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		_, rest, ok := strings.Cut(stdout, "suggested_lr=")
		if !ok {
			t.Fatalf("no suggestion printed:\n%s", stdout)
		}
		lr, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil || lr < 1e-4 || lr > 1e-2 {
			t.Errorf("suggested lr %v (%v), want it in [1e-4, 1e-2]:\n%s", lr, err, stdout)
		}
		requirePNG(t, filepath.Join(out, lrFindPNG))
		csv, err := os.ReadFile(filepath.Join(out, lrFindCSV))
		if err != nil {
			t.Fatal(err)
		}
		curves = append(curves, csv)
	}
	if !bytes.Equal(curves[0], curves[1]) {
		t.Error("two runs with the same seed wrote different curves")
	}
}

func TestLRFindBadFlags(t *testing.T) {
	cases := [][]string{
		{"-start-lr", "0"},
		{"-start-lr", "1", "-end-lr", "0.5"},
		{"-lr-steps", "1"},
		{"-smoothing", "1"},
		{"-divergence", "0.5"},
	}
	for _, args := range cases {
		_, stderr, code := runBinary(t, append([]string{"lr-find"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "LRFinder:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the LRFinder's message", args, code, stderr)
		}
	}
}
