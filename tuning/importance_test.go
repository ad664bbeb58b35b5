package tuning_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/tuning"
)

// search runs a random search of n trials over spec with a deterministic
// objective and returns its leaderboard.
func search(t *testing.T, spec string, strategy tuning.Strategy, loss func(tuning.Params) float64) *tuning.Leaderboard {
	t.Helper()
	space, err := tuning.ParseSpace(spec)
	if err != nil {
		t.Fatal(err)
	}
	board, err := tuning.Run(context.Background(), space, strategy,
		func(_ context.Context, tr tuning.Trial, _ tuning.Reporter) (map[string]float64, error) {
			return map[string]float64{"val_loss": loss(tr.Params) * (1 + 0.01*float64(tr.Epochs))}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return board
}

func importanceOf(imp *tuning.Importance, name string) float64 {
	for _, p := range imp.Params {
		if p.Name == name {
			return p.Importance
		}
	}
	return math.NaN()
}

func TestImportanceRanksTheDominantParameter(t *testing.T) {
	const spec = "lr=log:1e-5:1e-1,beta1=0.8|0.9|0.95,noise=uniform:0:1,batch-size=int:16:256,schedule=none|cosine|step,fixed=1"
	cases := []struct {
		name      string
		loss      func(p tuning.Params) float64
		dominant  string
		secondMax float64 // the runner-up's importance is at most this
	}{
		{"log-scaled learning rate", func(p tuning.Params) float64 {
			d := math.Log10(p.Float("lr")) + 3
			return d*d + 0.1*math.Abs(p.Float("beta1")-0.9)
		}, "lr", 0.1},
		{"a categorical choice", func(p tuning.Params) float64 {
			return map[string]float64{"none": 1, "cosine": 0.2, "step": 0.6}[p.String("schedule")] + 0.01*p.Float("batch-size")/256
		}, "schedule", 0.1},
		{"an integer range", func(p tuning.Params) float64 {
			b := p.Float("batch-size")
			return b*b/65536 + 0.05*math.Log10(p.Float("lr"))
		}, "batch-size", 0.15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			board := search(t, spec, tuning.Random(80, 7), c.loss)
			imp, err := board.Importance()
			if err != nil {
				t.Fatal(err)
			}
			if len(imp.Params) != 5 || imp.Trials != 80 || imp.Trees != 64 {
				t.Fatalf("%d parameters, %d trials, %d trees; want 5 (the one-value choice left out), 80, 64:\n%s", len(imp.Params), imp.Trials, imp.Trees, imp)
			}
			if imp.Params[0].Name != c.dominant || imp.Params[1].Importance > c.secondMax {
				t.Errorf("want %s first, the runner-up at most %v:\n%s", c.dominant, c.secondMax, imp)
			}
			if v := importanceOf(imp, "noise"); v > 0.03 {
				t.Errorf("the irrelevant parameter has importance %v, want ≈ 0:\n%s", v, imp)
			}
			sum := 0.0
			for _, p := range imp.Params {
				sum += p.Importance
				if p.VarianceFraction < 0 || p.VarianceFraction > 1 {
					t.Errorf("%s: variance fraction %v outside [0, 1]", p.Name, p.VarianceFraction)
				}
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("importances sum to %v, want 1", sum)
			}
			again, err := board.Importance()
			if err != nil || !reflect.DeepEqual(again, imp) {
				t.Errorf("a second call differs: %v\n%s", err, again)
			}
		})
	}
}

func TestImportanceIgnoresTheScaleAndDirectionOfTheMetric(t *testing.T) {
	loss := func(p tuning.Params) float64 { return math.Log10(p.Float("lr")) + 0.3*p.Float("beta1") }
	a := search(t, "lr=log:1e-5:1e-1,beta1=uniform:0:1", tuning.Random(40, 3), loss)
	b := search(t, "lr=log:1e-5:1e-1,beta1=uniform:0:1", tuning.Random(40, 3), func(p tuning.Params) float64 { return -1024 * loss(p) })
	ia, err := a.Importance()
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.Importance()
	if err != nil {
		t.Fatal(err)
	}
	for k := range ia.Params {
		if ia.Params[k].Name != ib.Params[k].Name || ia.Params[k].Importance != ib.Params[k].Importance {
			t.Errorf("a metric scaled by −1024 (exactly) changes the importances:\n%s\n%s", ia, ib)
			break
		}
	}
}

func TestImportanceOfHalvingUsesTheFirstRung(t *testing.T) {
	board := search(t, "lr=log:1e-5:1e-1,beta1=uniform:0:1", tuning.Halving(27, 1, 1, 9, 3), func(p tuning.Params) float64 {
		d := math.Log10(p.Float("lr")) + 3
		return d * d
	})
	imp, err := board.Importance()
	if err != nil {
		t.Fatal(err)
	}
	if imp.Trials != 27 || imp.Epochs != 1 || imp.Params[0].Name != "lr" {
		t.Errorf("fitted to %d trials at %d epochs, want 27 at 1, lr first:\n%s", imp.Trials, imp.Epochs, imp)
	}
	if !strings.Contains(imp.String(), "27 trials, after 1 epoch)") {
		t.Errorf("the table does not say what it was fitted to:\n%s", imp)
	}
}

func TestImportanceErrors(t *testing.T) {
	constant := search(t, "lr=log:1e-5:1e-1", tuning.Random(5, 1), func(tuning.Params) float64 { return 1 })
	single := search(t, "lr=log:1e-5:1e-1", tuning.Random(1, 1), func(p tuning.Params) float64 { return p.Float("lr") })
	fixed := search(t, "lr=0.001", tuning.Random(3, 1), func(p tuning.Params) float64 { return p.Float("lr") })
	cases := []struct {
		name  string
		board *tuning.Leaderboard
		opts  []tuning.ImportanceOption
		want  string
	}{
		{"constant metric", constant, nil, "val_loss is the same in every one of the 5 trials"},
		{"one trial", single, nil, "at least 2 finished trials with a finite val_loss, have 1"},
		{"nothing varies", fixed, nil, "no parameter of lr=0.001 varies"},
		{"hand-made leaderboard", &tuning.Leaderboard{Metric: "val_loss"}, nil, "needs the leaderboard of a search"},
		{"no trees", constant, []tuning.ImportanceOption{tuning.WithImportanceTrees(0)}, "trees = 0, want ≥ 1"},
		{"no depth", constant, []tuning.ImportanceOption{tuning.WithImportanceMaxDepth(0)}, "max depth = 0, want ≥ 1"},
	}
	for _, c := range cases {
		_, err := c.board.Importance(c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// BenchmarkImportance is the forest and the decomposition for a search of
// DefaultMaxTrials (1000) trials over four parameters.
func BenchmarkImportance(b *testing.B) {
	space, err := tuning.ParseSpace("lr=log:1e-5:1e-1,beta1=0.8|0.9|0.95,noise=uniform:0:1,batch-size=int:16:256")
	if err != nil {
		b.Fatal(err)
	}
	board, err := tuning.Run(context.Background(), space, tuning.Random(1000, 1),
		func(_ context.Context, tr tuning.Trial, _ tuning.Reporter) (map[string]float64, error) {
			d := math.Log10(tr.Params.Float("lr")) + 3
			return map[string]float64{"val_loss": d*d + tr.Params.Float("noise")}, nil
		}, tuning.WithMaxTrials(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := board.Importance(); err != nil {
			b.Fatal(err)
		}
	}
}
