package callbacks_test

import (
	"math"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

func TestLRFinderOptionErrors(t *testing.T) {
	cases := []struct {
		opt  callbacks.LRFinderOption
		want string
	}{
		{callbacks.WithLRFinderRange(0, 1), "range [0, 1]"},
		{callbacks.WithLRFinderRange(1e-3, 1e-3), "want 0 < lo < hi"},
		{callbacks.WithLRFinderRange(1e-3, math.Inf(1)), "range [0.001, +Inf]"},
		{callbacks.WithLRFinderRange(math.NaN(), 1), "range [NaN, 1]"},
		{callbacks.WithLRFinderSteps(1), "steps = 1, want ≥ 2"},
		{callbacks.WithLRFinderSmoothing(1), "smoothing β = 1, want a value in [0, 1)"},
		{callbacks.WithLRFinderSmoothing(-0.1), "smoothing β = -0.1"},
		{callbacks.WithLRFinderDivergence(1), "divergence factor = 1"},
		{callbacks.WithLRFinderDivergence(math.Inf(1)), "divergence factor = +Inf"},
		{nil, "nil LRFinderOption"},
	}
	for _, c := range cases {
		_, err := callbacks.NewLRFinder(c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
	if _, err := callbacks.NewLRFinder(callbacks.WithLRFinderDivergence(0), callbacks.WithLRFinderSmoothing(0)); err != nil {
		t.Errorf("divergence 0 and smoothing 0 are valid: %v", err)
	}
}

// runFinder drives f through a fake loop whose batch loss is lossAt(lr),
// with weights the "training" moves on every batch, over enough batches
// for f's plan and 10 to spare.
func runFinder(t *testing.T, f *callbacks.LRFinder, lossAt func(lr float64) float64) (*fakeTrainer, *loop) {
	t.Helper()
	tr := &fakeTrainer{lr: 0.5, weights: []float64{1, 2}}
	l := &loop{t: tr, cbs: []callbacks.Callback{f}, epochs: 1, batches: f.Steps() + 10}
	l.batchLoss = func(_, _ int) float64 {
		tr.weights[0] += 1
		return lossAt(tr.lr)
	}
	if err := l.run(0, 1); err != nil {
		t.Fatal(err)
	}
	return tr, l
}

func TestLRFinderRisesGeometricallyAndRestores(t *testing.T) {
	f, err := callbacks.NewLRFinder(callbacks.WithLRFinderRange(1e-6, 1), callbacks.WithLRFinderSteps(7),
		callbacks.WithLRFinderDivergence(0))
	if err != nil {
		t.Fatal(err)
	}
	tr, l := runFinder(t, f, func(float64) float64 { return 2.5 })
	r := f.Result()
	if r.Stop != callbacks.LRFinderCompleted || len(r.LRs) != 7 || len(l.lrs[0]) != 7 {
		t.Fatalf("stop %q after %d recorded, %d run batches; want completed after 7", r.Stop, len(r.LRs), len(l.lrs[0]))
	}
	for i, lr := range r.LRs {
		want := math.Pow(10, -6+float64(i))
		if math.Abs(lr-want) > 1e-12*want || l.lrs[0][i] != lr {
			t.Errorf("batch %d: recorded lr %v, run with %v, want %v", i, lr, l.lrs[0][i], want)
		}
	}
	if r.LRs[6] != 1 {
		t.Errorf("last lr %v, want exactly the upper bound 1", r.LRs[6])
	}
	// Bias correction makes the average of a constant that constant.
	for i, s := range r.Smoothed {
		if math.Abs(s-2.5) > 1e-12 {
			t.Errorf("smoothed[%d] = %v, want 2.5", i, s)
		}
	}
	if tr.weights[0] != 1 || tr.restore != 1 {
		t.Errorf("weights %v after %d restores, want [1 2] after 1", tr.weights, tr.restore)
	}
}

func TestLRFinderSmoothingMatchesFastai(t *testing.T) {
	losses := []float64{4, 2, 3, 1}
	f, err := callbacks.NewLRFinder(callbacks.WithLRFinderSteps(len(losses)), callbacks.WithLRFinderSmoothing(0.5),
		callbacks.WithLRFinderDivergence(0))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	runFinder(t, f, func(float64) float64 { i++; return losses[i-1] })
	// avg: 2, 2, 2.5, 1.75; corrections 1−0.5^k: 0.5, 0.75, 0.875, 0.9375.
	want := []float64{4, 2 / 0.75, 2.5 / 0.875, 1.75 / 0.9375}
	got := f.Result().Smoothed
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-12 {
			t.Errorf("smoothed[%d] = %v, want %v", k, got[k], want[k])
		}
	}
}

// valley is a loss curve that falls fastest at lr = 1e-3 and explodes
// beyond 1e-1.
func valley(lr float64) float64 {
	x := math.Log10(lr)
	return 2 - math.Tanh(2*(x+3)) + math.Pow(10, 2*(x+1))
}

func TestLRFinderSuggestsSteepestDescentAndStopsOnDivergence(t *testing.T) {
	cases := []struct {
		name       string
		opts       []callbacks.LRFinderOption
		wantStop   string
		lo, hi     float64 // the suggestion's range
		maxBatches int
	}{
		{"raw losses find the steepest point", []callbacks.LRFinderOption{callbacks.WithLRFinderSmoothing(0), callbacks.WithLRFinderSteps(100)},
			callbacks.LRFinderDiverged, 7e-4, 1.4e-3, 99},
		{"smoothing lags towards larger rates", []callbacks.LRFinderOption{callbacks.WithLRFinderSteps(100)},
			callbacks.LRFinderDiverged, 1.4e-3, 1e-2, 99},
		{"more batches, less lag", nil,
			callbacks.LRFinderDiverged, 1e-3, 3e-3, 199},
		{"no divergence stop runs every batch", []callbacks.LRFinderOption{callbacks.WithLRFinderSmoothing(0), callbacks.WithLRFinderDivergence(0), callbacks.WithLRFinderSteps(100)},
			callbacks.LRFinderCompleted, 7e-4, 1.4e-3, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := callbacks.NewLRFinder(c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, l := runFinder(t, f, valley)
			r := f.Result()
			if r.Stop != c.wantStop || len(l.lrs[0]) > c.maxBatches || len(l.lrs[0]) != len(r.LRs) {
				t.Fatalf("stop %q after %d batches (%d recorded), want %q within %d", r.Stop, len(l.lrs[0]), len(r.LRs), c.wantStop, c.maxBatches)
			}
			if !(r.Suggestion >= c.lo && r.Suggestion <= c.hi) || r.LRs[r.SuggestionIndex] != r.Suggestion {
				t.Errorf("suggestion %v (index %d), want it in [%v, %v]", r.Suggestion, r.SuggestionIndex, c.lo, c.hi)
			}
			if r.Stop != callbacks.LRFinderDiverged {
				return
			}
			best := math.Inf(1)
			for i, s := range r.Smoothed[:len(r.Smoothed)-1] {
				if i > 0 && s > 4*best {
					t.Errorf("batch %d: smoothed %v > 4 × best %v but the test went on", i, s, best)
				}
				best = math.Min(best, s)
			}
			if last := r.Smoothed[len(r.Smoothed)-1]; !(last > 4*best) {
				t.Errorf("stopped at smoothed %v, not above 4 × best %v", last, best)
			}
		})
	}
}

func TestLRFinderStopsOnNonFiniteLoss(t *testing.T) {
	f, err := callbacks.NewLRFinder(callbacks.WithLRFinderDivergence(0))
	if err != nil {
		t.Fatal(err)
	}
	_, l := runFinder(t, f, func(lr float64) float64 {
		if lr > 1e-2 {
			return math.NaN()
		}
		return 1
	})
	if r := f.Result(); r.Stop != callbacks.LRFinderDiverged || len(l.lrs[0]) != len(r.LRs) || !math.IsNaN(r.Losses[len(r.Losses)-1]) {
		t.Errorf("stop %q after %d batches, last loss %v; want diverged at the first NaN", r.Stop, len(r.LRs), r.Losses[len(r.Losses)-1])
	}
}

func TestSuggestLR(t *testing.T) {
	lrs := []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}
	cases := []struct {
		name       string
		losses     []float64
		begin, end int
		wantIndex  int
	}{
		{"steepest segment's left end", []float64{3, 2.9, 1, 0.9, 5}, 0, 0, 1},
		{"skipping the start moves past it", []float64{3, 1, 0.9, 0.5, 5}, 1, 0, 2},
		{"skipping the end drops the last segment", []float64{3, 2.9, 2.8, 1, 5}, 0, 2, 0},
		{"a NaN difference is ignored", []float64{3, math.NaN(), 2, 1, 0.99}, 0, 0, 2},
		{"too few points", []float64{3, 2, 1, 0, -1}, 2, 2, -1},
		{"a fall after the minimum does not count", []float64{3, 2.5, 2, 6, 3}, 0, 0, 0},
		{"a minimum inside the skipped start leaves nothing", []float64{1, 2, 3, 4, 5}, 1, 0, -1},
	}
	for _, c := range cases {
		got := callbacks.SuggestLR(lrs, c.losses, c.begin, c.end)
		if got != c.wantIndex {
			t.Errorf("%s: index %d, want %d", c.name, got, c.wantIndex)
		}
	}
}

// TestLRFinderBatchAllocatesNothing: recording a batch reuses the curve's
// buffers.
func TestLRFinderBatchAllocatesNothing(t *testing.T) {
	f, err := callbacks.NewLRFinder(callbacks.WithLRFinderSteps(1000), callbacks.WithLRFinderDivergence(0))
	if err != nil {
		t.Fatal(err)
	}
	tr := &fakeTrainer{lr: 0.1, weights: []float64{1}}
	s := &callbacks.State{Trainer: tr, Logs: callbacks.Logs{callbacks.KeyLoss: 1, callbacks.KeyLR: 0.1}}
	if err := f.OnTrainBegin(s); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(500, func() { _ = f.OnBatchEnd(s) }); allocs != 0 {
		t.Errorf("OnBatchEnd allocates %v times per batch", allocs)
	}
}
