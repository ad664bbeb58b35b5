package tuning

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// synthetic has a known optimum at lr=1e-3, x=1.3, width=16, act=c.
func synthetic(_ context.Context, t Trial, r Reporter) (map[string]float64, error) {
	d := math.Log10(t.Params.Float("lr")) + 3
	x := t.Params.Float("x") - 1.3
	w := math.Log2(float64(t.Params.Int("width"))) - 4
	loss := d*d + x*x/4 + 0.3*math.Abs(w)
	if t.Params.String("act") != "c" {
		loss += 0.5
	}
	time.Sleep(time.Duration(t.Seed%3) * 100 * time.Microsecond)
	return map[string]float64{"val_loss": loss}, nil
}

func bestValue(t *testing.T, b *Leaderboard) float64 {
	t.Helper()
	best, ok := b.Best()
	if !ok {
		t.Fatal("no ok trial")
	}
	return best.Metrics["val_loss"]
}

// TestTPEBeatsRandom: over several seeds TPE beats random search at the
// same budget, and with half the budget reaches a better mean than random's.
func TestTPEBeatsRandom(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,x=uniform:-5:5,width=int:1:64,act=a|b|c|d")
	const budget, seeds = 40, 8
	wins := 0
	var sumTPE, sumRandom, sumRandom2x float64
	for seed := uint64(1); seed <= seeds; seed++ {
		rb, err := Run(context.Background(), s, Random(budget, seed), synthetic)
		if err != nil {
			t.Fatal(err)
		}
		rb2, err := Run(context.Background(), s, Random(2*budget, seed), synthetic)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Run(context.Background(), s, TPE(budget, seed), synthetic, WithConcurrentTrials(2))
		if err != nil {
			t.Fatal(err)
		}
		r, p := bestValue(t, rb), bestValue(t, tb)
		sumRandom += r
		sumRandom2x += bestValue(t, rb2)
		sumTPE += p
		if p < r {
			wins++
		}
	}
	t.Logf("mean best over %d seeds: tpe(%d) %.4f, random(%d) %.4f, random(%d) %.4f; tpe better in %d",
		seeds, budget, sumTPE/seeds, budget, sumRandom/seeds, 2*budget, sumRandom2x/seeds, wins)
	if wins < seeds*3/4 || sumTPE >= sumRandom2x {
		t.Errorf("tpe beat random in %d of %d seeds, mean best %.4f vs %.4f (random with twice the budget %.4f); want ≥ %d wins and below random's doubled budget",
			wins, seeds, sumTPE/seeds, sumRandom/seeds, sumRandom2x/seeds, seeds*3/4)
	}
}

func TestTPEMovesTowardsTheOptimum(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,x=uniform:-5:5,width=int:1:64,act=a|b|c|d")
	b, err := Run(context.Background(), s, TPE(60, 3), synthetic)
	if err != nil {
		t.Fatal(err)
	}
	// The last 20 proposals concentrate near the optimum: their median
	// distance in log10(lr) is far below random's (≈ 1.2 decades).
	var dist []float64
	act := 0
	for _, r := range b.Results {
		if r.Trial.ID >= 40 {
			dist = append(dist, math.Abs(math.Log10(r.Trial.Params.Float("lr"))+3))
			if r.Trial.Params.String("act") == "c" {
				act++
			}
		}
	}
	if m := medianOf(dist); m > 0.5 {
		t.Errorf("median |log10 lr − (−3)| of the last 20 trials = %.2f, want ≤ 0.5", m)
	}
	if act < 12 {
		t.Errorf("%d of the last 20 trials chose act=c, want ≥ 12", act)
	}
}

// jittery sleeps an amount that varies between runs, so that completion
// order is not reproducible.
func jittery(obj Objective) Objective {
	return func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		time.Sleep(time.Duration(time.Now().UnixNano()%997) * time.Microsecond)
		return obj(ctx, t, r)
	}
}

func TestTPEIsReproducibleForAWorkerCount(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,x=uniform:-5:5,width=int:1:64,act=a|b|c|d")
	for _, w := range []int{1, 2, 3} {
		a, err := Run(context.Background(), s, TPE(25, 7, TPEStartupTrials(5)), jittery(synthetic), WithConcurrentTrials(w))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(context.Background(), s, TPE(25, 7, TPEStartupTrials(5)), jittery(synthetic), WithConcurrentTrials(w))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stripDurations(a), stripDurations(b)) {
			t.Errorf("%d workers: two runs differ:\n%s\n%s", w, a, b)
		}
	}
}

func TestDiscreteSpacesHaveNoDuplicates(t *testing.T) {
	s := mustSpace(t, "a=1|2|3,b=x|y")
	for _, st := range []Strategy{Random(20, 1), TPE(20, 1, TPEStartupTrials(2))} {
		b, err := Run(context.Background(), s, st, func(_ context.Context, t Trial, _ Reporter) (map[string]float64, error) {
			return map[string]float64{"val_loss": t.Params.Float("a")}, nil
		}, WithConcurrentTrials(2))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range b.Results {
			k := r.Trial.Params.key()
			if seen[k] {
				t.Errorf("%s ran %s twice", st, k)
			}
			seen[k] = true
		}
		if len(seen) != 6 {
			t.Errorf("%s ran %d configurations, want all 6 and then stop", st, len(seen))
		}
	}
}

func TestHyperbandBracketTable(t *testing.T) {
	r := func(pairs ...int) []Rung {
		var out []Rung
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, Rung{Trials: pairs[i], Epochs: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		min, max, eta int
		want          [][]Rung
	}{
		// Li et al. 2018, Table 1 (R = 81, η = 3).
		{1, 81, 3, [][]Rung{r(81, 1, 27, 3, 9, 9, 3, 27, 1, 81), r(34, 3, 11, 9, 3, 27, 1, 81), r(15, 9, 5, 27, 1, 81), r(8, 27, 2, 81), r(5, 81)}},
		{1, 9, 3, [][]Rung{r(9, 1, 3, 3, 1, 9), r(5, 3, 1, 9), r(3, 9)}},
		{1, 3, 3, [][]Rung{r(3, 1, 1, 3), r(2, 3)}},
		{1, 4, 2, [][]Rung{r(4, 1, 2, 2, 1, 4), r(3, 2, 1, 4), r(3, 4)}},
		{2, 10, 3, [][]Rung{r(3, 2, 1, 10), r(2, 10)}},
		{3, 3, 3, [][]Rung{r(1, 3)}},
	} {
		got, err := HyperbandBrackets(tc.min, tc.max, tc.eta)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("HyperbandBrackets(%d, %d, %d) = %v, want %v", tc.min, tc.max, tc.eta, got, tc.want)
		}
	}
	if _, err := HyperbandBrackets(1, 9, 1); err == nil || !strings.Contains(err.Error(), "eta = 1 is out of range [2, ∞)") {
		t.Errorf("eta 1: %v", err)
	}
}

func TestHyperbandRunsItsTable(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	table, _ := HyperbandBrackets(1, 9, 3)
	for _, w := range []int{1, 2} {
		b, err := Run(context.Background(), s, Hyperband(4, 1, 9, 3), bowl, WithConcurrentTrials(w))
		if err != nil {
			t.Fatal(err)
		}
		// Trials 0-8 are bracket 0, 9-13 bracket 1, 14-16 bracket 2.
		bracketOf := func(id int) int {
			switch {
			case id < 9:
				return 0
			case id < 14:
				return 1
			}
			return 2
		}
		count := map[[2]int]int{}
		for _, r := range b.Results {
			count[[2]int{bracketOf(r.Trial.ID), r.Trial.Epochs}]++
		}
		want := map[[2]int]int{}
		for i, br := range table {
			for _, rung := range br {
				want[[2]int{i, rung.Epochs}] = rung.Trials
			}
		}
		if !reflect.DeepEqual(count, want) {
			t.Errorf("%d workers: ran %v (bracket, epochs → trials), want %v", w, count, want)
		}
		best, _ := b.Best()
		if best.Trial.Epochs != 9 {
			t.Errorf("best trial trained %d epochs, want 9", best.Trial.Epochs)
		}
	}
	// Rounds repeat the table with new configurations: (3×1, 1×3) and 2×3.
	b, err := Run(context.Background(), s, Hyperband(4, 1, 3, 3, HyperbandRounds(2)), bowl)
	if err != nil {
		t.Fatal(err)
	}
	ids, epochs := map[int]bool{}, map[int]int{}
	for _, r := range b.Results {
		ids[r.Trial.ID] = true
		epochs[r.Trial.Epochs]++
	}
	if len(ids) != 10 || epochs[1] != 6 || epochs[3] != 6 {
		t.Errorf("2 rounds of (1, 3, 3): %d configurations, runs by epochs %v; want 10, map[1:6 3:6]", len(ids), epochs)
	}
}

// curves reports epochs of a decreasing loss set by the parameters, checking
// ctx between epochs as a fit does.
func curves(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
	epochs := t.Epochs
	if epochs == 0 {
		epochs = 4
	}
	d := math.Log10(t.Params.Float("lr")) + 3
	floor := d*d + math.Abs(t.Params.Float("beta1")-0.9)
	var m map[string]float64
	for e := range epochs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		time.Sleep(time.Duration((t.Seed+uint64(e))%3) * 200 * time.Microsecond)
		m = map[string]float64{"val_loss": floor + 1/float64(e+1)}
		r.Report(e, m)
	}
	return m, nil
}

func TestASHA(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	for _, w := range []int{1, 2} {
		a, err := Run(context.Background(), s, ASHA(12, 3, 1, 9, 3), jittery(curves), WithConcurrentTrials(w))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(context.Background(), s, ASHA(12, 3, 1, 9, 3), jittery(curves), WithConcurrentTrials(w))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stripDurations(a), stripDurations(b)) {
			t.Errorf("%d workers: two runs differ:\n%s\n%s", w, a, b)
		}
		byRung := map[int][]Result{}
		for _, r := range a.Results {
			byRung[r.Trial.Rung] = append(byRung[r.Trial.Rung], r)
		}
		if len(byRung[0]) != 12 {
			t.Errorf("%d workers: %d trials on rung 0, want 12", w, len(byRung[0]))
		}
		// Every promotion out of a rung was a top-1/3 trial of the rung as
		// it ended, and a promoted trial is one of the rung's.
		for k := 0; k < 2; k++ {
			ids := map[int]bool{}
			for _, r := range byRung[k] {
				ids[r.Trial.ID] = true
			}
			for _, r := range byRung[k+1] {
				if !ids[r.Trial.ID] {
					t.Errorf("trial %d on rung %d never ran rung %d", r.Trial.ID, k+1, k)
				}
			}
			if len(byRung[k+1]) > len(byRung[k])/3 {
				t.Errorf("rung %d: %d promoted of %d, more than ⌊n/3⌋", k, len(byRung[k+1]), len(byRung[k]))
			}
			for _, r := range byRung[k] {
				promoted := false
				for _, q := range byRung[k+1] {
					promoted = promoted || q.Trial.ID == r.Trial.ID
				}
				if promoted == (r.Status == StatusPruned) {
					t.Errorf("rung %d trial %d: promoted %v but status %s", k, r.Trial.ID, promoted, r.Status)
				}
			}
		}
		if best, _ := a.Best(); best.Trial.Epochs != 9 {
			t.Errorf("best trial trained %d epochs, want 9", best.Trial.Epochs)
		}
	}
}

// tabled reports the val_loss curve table[t.ID], stopping when ctx is
// cancelled.
func tabled(table [][]float64, stopped *sync.Map) Objective {
	return func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		var m map[string]float64
		for e, v := range table[t.ID] {
			if ctx.Err() != nil {
				stopped.Store(t.ID, e)
				return nil, ctx.Err()
			}
			m = map[string]float64{"val_loss": v}
			r.Report(e, m)
		}
		return m, nil
	}
}

func prunedAt(b *Leaderboard) map[int]int {
	out := map[int]int{}
	for _, r := range b.Results {
		if r.Status == StatusPruned {
			out[r.Trial.ID] = r.PrunedEpoch
		}
	}
	return out
}

func TestMedianStoppingPrunesWhatItsRuleNames(t *testing.T) {
	table := [][]float64{
		{1.0, 0.8, 0.6},
		{0.9, 0.7, 0.5},   // one peer only: never judged
		{2.0, 1.9, 1.8},   // epoch 1: 1.9 > median(0.8, 0.7) = 0.75
		{0.95, 0.72, 0.4}, // below the medians 0.75 and 0.55
		{0.5, 0.76, 0.9},  // best so far 0.5 never worse than the median
		{1.0, 0.73, 0.7},  // epoch 1: 0.73 < 0.74; epoch 2: 0.7 > median(0.6, 0.5, 0.4, 0.9) = 0.55
	}
	var stopped sync.Map
	b, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1"), Random(len(table), 1), tabled(table, &stopped),
		WithPruner(MedianStopping(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := prunedAt(b), map[int]int{2: 1, 5: 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("pruned (trial → epoch) %v, want %v\n%s", got, want, b)
	}
	for _, r := range b.Results {
		if r.Trial.ID == 2 {
			if len(r.History) != 2 || r.Metrics["val_loss"] != 1.9 || !strings.Contains(r.Err, "median 0.75 of 2 trials") {
				t.Errorf("trial 2: history %v, metrics %v, err %q", r.History, r.Metrics, r.Err)
			}
		}
	}
	if e, ok := stopped.Load(2); !ok || e != 2 {
		t.Errorf("trial 2's objective stopped at epoch %v (%v), want before epoch 2", e, ok)
	}
	// Warm-up covers every epoch: nothing is pruned.
	b, err = Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1"), Random(len(table), 1), tabled(table, &stopped),
		WithPruner(MedianStopping(3, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if got := prunedAt(b); len(got) != 0 {
		t.Errorf("warm-up 3: pruned %v", got)
	}
}

func TestSuccessiveHalvingPrunerPrunesWhatItsRuleNames(t *testing.T) {
	table := [][]float64{
		{1.0, 0.9, 0.85},
		{0.8, 0.95, 0.1}, // epoch 1 (rung 2): 0.95 not the best of {0.9, 0.95}
		{0.9, 0.1, 0.1},  // epoch 0 (rung 1): 0.9 not the best of {1.0, 0.8, 0.9}
		{0.7, 0.6, 0.5},  // in the best 2 of 4, then the best of 3
	}
	var stopped sync.Map
	b, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1"), Random(len(table), 1), tabled(table, &stopped),
		WithPruner(SuccessiveHalvingPruner(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := prunedAt(b), map[int]int{1: 1, 2: 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("pruned (trial → epoch) %v, want %v\n%s", got, want, b)
	}
}

func TestPrunerSettings(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1")
	for _, tc := range []struct {
		st   Strategy
		opt  Option
		want string
	}{
		{Random(3, 1), WithPruner(MedianStopping(-1, 3)), "warm-up = -1 epochs is out of range [0, ∞)"},
		{Random(3, 1), WithPruner(MedianStopping(0, 0)), "minimum trials = 0 is out of range [1, ∞)"},
		{Random(3, 1), WithPruner(SuccessiveHalvingPruner(1, 1)), "eta = 1 is out of range [2, ∞)"},
		{Random(3, 1), WithPruner(nil), "the pruner is nil"},
		{Hyperband(1, 1, 9, 3), WithPruner(MedianStopping(1, 3)), "stops trials early itself"},
		{ASHA(9, 1, 1, 9, 3), WithPruner(MedianStopping(1, 3)), "stops trials early itself"},
		{TPE(0, 1), nil, "tpe trials = 0 is out of range"},
		{Hyperband(1, 1, 9, 3, HyperbandRounds(0)), nil, "hyperband rounds = 0 is out of range [1, ∞)"},
		{TPE(5, 1, TPEStartupTrials(0)), nil, "startup trials = 0 is out of range [1, ∞)"},
		{ASHA(5, 1, 3, 2, 3), nil, "asha maxEpochs = 2 is out of range [minEpochs = 3, ∞)"},
		{Hyperband(1, 1, 81, 3), WithMaxTrials(100), "hyperband(seed=1, epochs=1..81, eta=3, rounds=1) has 143 trials, more than the maximum of 100; use fewer rounds, a larger minEpochs or eta or raise WithMaxTrials"},
	} {
		_, err := Run(context.Background(), s, tc.st, bowl, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.st, err, tc.want)
		}
	}
}

// TestResumeEveryStrategy kills each search (its results directory is
// frozen as it was after the k-th finished trial, as kill -9 leaves it),
// resumes it from that copy and requires the leaderboard of an
// uninterrupted search, without rerunning a finished trial.
func TestResumeEveryStrategy(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	type search struct {
		st  Strategy
		opt Option
	}
	for _, tc := range []search{
		{Random(12, 2), nil},
		{Grid(3), nil},
		{TPE(16, 2, TPEStartupTrials(4)), nil},
		{TPE(16, 2, TPEStartupTrials(4)), WithPruner(MedianStopping(1, 2))},
		{Random(12, 2), WithPruner(SuccessiveHalvingPruner(1, 2))},
		{Halving(9, 2, 1, 9, 3), nil},
		{Hyperband(2, 1, 9, 3), nil},
		{Hyperband(2, 1, 3, 3, HyperbandRounds(3)), nil},
		{BOHB(2, 1, 3, 3, BOHBRounds(3), BOHBModel(TPEStartupTrials(2))), nil},
		{TPE(16, 2, TPEStartupTrials(4), TPEMultivariate(true)), nil},
		{ASHA(12, 2, 1, 9, 3), nil},
	} {
		name := tc.st.String()
		if tc.opt != nil {
			name += "+pruner"
		}
		t.Run(name, func(t *testing.T) {
			fresh, err := Run(context.Background(), s, tc.st, jittery(curves), WithConcurrentTrials(2), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{3, 7} {
				dir, frozen := t.TempDir(), t.TempDir()
				n := 0
				freeze := func(Result) {
					if n++; n == k {
						copyFile(t, filepath.Join(dir, resultsJSON), filepath.Join(frozen, resultsJSON))
					}
				}
				if _, err := Run(context.Background(), s, tc.st, jittery(curves), WithConcurrentTrials(2), tc.opt,
					WithResultsDir(dir), WithOnTrialEnd(freeze)); err != nil {
					t.Fatal(err)
				}
				done := map[string]bool{}
				for _, rs := range mustPrior(t, frozen) {
					for _, r := range rs {
						done[fmt.Sprintf("%d@%d", r.Trial.ID, r.Trial.Epochs)] = true
					}
				}
				var mu sync.Mutex
				var rerun []string
				watch := func(ctx context.Context, tr Trial, r Reporter) (map[string]float64, error) {
					if k := fmt.Sprintf("%d@%d", tr.ID, tr.Epochs); done[k] {
						mu.Lock()
						rerun = append(rerun, k)
						mu.Unlock()
					}
					return jittery(curves)(ctx, tr, r)
				}
				resumed, err := Run(context.Background(), s, tc.st, watch, WithConcurrentTrials(2), tc.opt, WithResultsDir(frozen))
				if err != nil {
					t.Fatal(err)
				}
				if len(rerun) > 0 {
					t.Errorf("killed after %d: finished trials ran again: %v", k, rerun)
				}
				a, b := stripDurations(resumed), stripDurations(fresh)
				for i := range a {
					a[i].Trial.Dir = ""
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("killed after %d trials, the resumed leaderboard differs:\n%s\n%s", k, resumed, fresh)
				}
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustPrior(t *testing.T, dir string) map[string][]Result {
	t.Helper()
	p, err := loadPrior(filepath.Join(dir, resultsJSON), &config{metric: "val_loss", minimize: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestASHAKeepsWorkersBusy drives the schedulers as two workers would:
// each time one result comes back, the free worker asks for a trial. ASHA
// always has one until its configurations run out, and waits less in all
// than synchronous Halving, which waits at every rung boundary.
func TestASHAKeepsWorkersBusy(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	waits := func(st Strategy) (waitsBeforeLastStart, all int) {
		starts := 0
		c := &config{workers: 2, metric: "val_loss", minimize: true, maxTrials: DefaultMaxTrials}
		sched, err := st.start(s, c)
		if err != nil {
			t.Fatal(err)
		}
		var running []Trial
		ask := func() decision {
			tr, d, err := sched.next(running)
			if err != nil {
				t.Fatal(err)
			}
			if d == propose {
				running = append(running, tr)
				if tr.Rung == 0 {
					starts++
				}
			}
			if d == wait {
				all++
				if starts < 27 {
					waitsBeforeLastStart++
				}
			}
			return d
		}
		ask()
		ask()
		for len(running) > 0 {
			tr := running[0]
			running = running[1:]
			res, _ := bowl(context.Background(), tr, &recorder{})
			sched.tell(&Result{Trial: tr, Metrics: res, Status: StatusOK})
			for len(running) < 2 {
				if ask() != propose {
					break
				}
			}
		}
		return waitsBeforeLastStart, all
	}
	early, a := waits(ASHA(27, 1, 1, 9, 3))
	if early != 0 {
		t.Errorf("asha made a worker wait %d times before its last configuration started", early)
	}
	_, h := waits(Halving(27, 1, 1, 9, 3))
	if a >= h {
		t.Errorf("asha made a worker wait %d times, halving %d; want fewer", a, h)
	}
}
