package main

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/adamant-ml/adamant/tuning"
)

// syntheticSearch runs strategy over a space of every kind of dimension
// with an objective that reports a falling curve, one point per epoch.
func syntheticSearch(t *testing.T, strategy tuning.Strategy) (*tuning.Leaderboard, *tuning.Space) {
	t.Helper()
	space, err := tuning.ParseSpace("lr=log:1e-4:1e-1,beta1=0.8|0.9|0.95,batch-size=int:16:256,fixed=1")
	if err != nil {
		t.Fatal(err)
	}
	board, err := tuning.Run(context.Background(), space, strategy,
		func(_ context.Context, tr tuning.Trial, r tuning.Reporter) (map[string]float64, error) {
			d := math.Log10(tr.Params.Float("lr")) + 2.5
			floor := d*d + 0.1*tr.Params.Float("batch-size")/256
			epochs := max(tr.Epochs, 1)
			var loss float64
			for e := range epochs {
				loss = floor + 1/float64(e+1)
				r.Report(e, map[string]float64{"val_loss": loss})
			}
			return map[string]float64{"val_loss": loss}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return board, space
}

func TestPlotSearchWritesEveryPicture(t *testing.T) {
	sliceFiles := []string{"slice_lr.png", "slice_beta1.png", "slice_batch-size.png"}
	cases := []struct {
		name     string
		strategy tuning.Strategy
		want     []string
	}{
		{"random: one epoch each, no learning curves", tuning.Random(12, 1),
			append([]string{historyPNG, parallelPNG, importancePNG}, sliceFiles...)},
		{"halving: curves with pruned trials", tuning.Halving(9, 1, 1, 3, 3),
			append([]string{historyPNG, parallelPNG, importancePNG, curvesPNG}, sliceFiles...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			board, space := syntheticSearch(t, c.strategy)
			dir := t.TempDir()
			var stdout, stderr strings.Builder
			reportSearch(board, space, dir, true, &stdout, &stderr)
			if stderr.Len() > 0 || !strings.Contains(stdout.String(), "parameter importance for val_loss") {
				t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(got, want) {
				t.Fatalf("wrote %v, want %v (no slice for the one-value choice)", got, want)
			}
			for _, f := range got {
				requirePNG(t, filepath.Join(dir, f))
			}
		})
	}
}

func TestReportSearchWithoutPlotsDrawsNothing(t *testing.T) {
	board, space := syntheticSearch(t, tuning.Random(4, 1))
	dir := t.TempDir()
	reportSearch(board, space, dir, false, io.Discard, io.Discard)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("-plots=false wrote %d files", len(entries))
	}
}

// TestTunePicturesEndToEnd: `mnist tune` draws the pictures next to its
// leaderboard, prints the importances, and draws nothing with -plots=false.
func TestTunePicturesEndToEnd(t *testing.T) {
	for _, plots := range []bool{true, false} {
		out := t.TempDir()
		args := []string{"tune", "-out", out, "-trials", "3", "-workers", "2", "-space", "lr=log:1e-4:1e-2,beta1=0.8|0.9",
			"-train-limit", "1000", "-test-limit", "200", "-epochs", "2", "-plots=" + strconv.FormatBool(plots)}
		stdout, stderr, code := runBinary(t, args...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "parameter importance for val_loss") {
			t.Errorf("no importances printed:\n%s", stdout)
		}
		pngs, _ := filepath.Glob(filepath.Join(out, "*.png"))
		want := 0
		if plots {
			want = 7 // tune.png, history, parallel, 2 slices, importance, curves
		}
		if len(pngs) != want {
			t.Errorf("-plots=%v: %d pictures %v, want %d", plots, len(pngs), pngs, want)
		}
	}
}

func TestTickers(t *testing.T) {
	labels := func(ticks []plot.Tick) []string {
		var out []string
		for _, tk := range ticks {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	cases := []struct {
		name   string
		ticker plot.Ticker
		lo, hi float64
		want   []string
	}{
		{"eight decades: powers only, printed exactly", decadeTicks{}, 1e-7, 10,
			[]string{"1e-07", "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10"}},
		{"one decade: 2× and 5× too", decadeTicks{}, 3e-4, 3e-3, []string{"0.0005", "0.001", "0.002"}},
		{"not a log range", decadeTicks{}, 0, 1, nil},
		{"counts from below zero: no -0", integerTicks{}, -0.5, 3, []string{"0", "1", "2", "3"}},
		{"long counts are thinned", integerTicks{}, 1, 40, []string{"5", "10", "15", "20", "25", "30", "35", "40"}},
	}
	for _, c := range cases {
		if got := labels(c.ticker.Ticks(c.lo, c.hi)); !slices.Equal(got, c.want) {
			t.Errorf("%s: labels %q, want %q", c.name, got, c.want)
		}
	}
}
