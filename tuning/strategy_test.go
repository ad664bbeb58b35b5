package tuning

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func mustSpace(t testing.TB, spec string) *Space {
	t.Helper()
	s, err := ParseSpace(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func trialsOf(t testing.TB, s *Space, st Strategy, opts ...Option) []Trial {
	t.Helper()
	c := &config{workers: 1, metric: "val_loss", minimize: true, maxTrials: DefaultMaxTrials}
	for _, o := range opts {
		o(c)
	}
	sched, err := st.start(s, c)
	if err != nil {
		t.Fatal(err)
	}
	var batch []Trial
	for {
		tr, d, err := sched.next(nil)
		if err != nil {
			t.Fatal(err)
		}
		if d != propose {
			return batch
		}
		batch = append(batch, tr)
	}
}

func TestGridIsTheCrossProduct(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-4:1e-2,beta1=0.8|0.9|0.95,bs=int:1:3,wide=int:0:100,drop=uniform:0:0.5,act=relu|tanh")
	trials := trialsOf(t, s, Grid(3))
	axes := map[string][]string{
		"lr":    {"0.0001", "0.001", "0.01"},
		"beta1": {"0.8", "0.9", "0.95"},
		"bs":    {"1", "2", "3"},
		"wide":  {"0", "50", "100"},
		"drop":  {"0", "0.25", "0.5"},
		"act":   {"relu", "tanh"},
	}
	expect := []string{""}
	for _, name := range s.Names() {
		var next []string
		for _, prefix := range expect {
			for _, v := range axes[name] {
				next = append(next, prefix+name+"="+v+";")
			}
		}
		expect = next
	}
	if len(trials) != len(expect) || len(trials) != 3*3*3*3*3*2 {
		t.Fatalf("grid has %d trials, want %d", len(trials), len(expect))
	}
	got := make([]string, len(trials))
	for i, tr := range trials {
		if tr.ID != i {
			t.Errorf("trial %d has ID %d", i, tr.ID)
		}
		var b strings.Builder
		for _, name := range s.Names() {
			fmt.Fprintf(&b, "%s=%s;", name, tr.Params.String(name))
		}
		got[i] = b.String()
	}
	// The enumeration order is part of the contract (first dimension
	// slowest), so compare as lists, not only as sets.
	if !reflect.DeepEqual(got, expect) {
		t.Errorf("grid order differs:\n got %v\nwant %v", got[:4], expect[:4])
	}
	set := map[string]bool{}
	for _, g := range got {
		set[g] = true
	}
	if len(set) != len(expect) {
		t.Errorf("grid has %d distinct configurations, want %d", len(set), len(expect))
	}
	// Integer types survive: bs is an int, lr a float64.
	if _, ok := trials[0].Params["bs"].(int); !ok {
		t.Errorf("bs has type %T", trials[0].Params["bs"])
	}
}

func TestGridPoints(t *testing.T) {
	for _, tc := range []struct {
		dim    Dimension
		points int
		want   []any
	}{
		{LogUniform("lr", 1e-5, 1e-1), 5, []any{1e-5, 1e-4, 1e-3, 1e-2, 1e-1}},
		{LogUniform("lr", 1e-4, 1e-2), 1, []any{1e-3}},
		{Uniform("x", -1, 1), 5, []any{-1.0, -0.5, 0.0, 0.5, 1.0}},
		{Uniform("x", 0, 1), 1, []any{0.5}},
		{IntRange("n", 1, 4), 10, []any{1, 2, 3, 4}},
		{IntRange("n", 0, 10), 3, []any{0, 5, 10}},
		{IntRange("n", 32, 256), 4, []any{32, 107, 181, 256}},
		{IntRange("n", 0, 10), 1, []any{5}},
		{Choice("c", "a", 2, 0.5), 1, []any{"a", 2, 0.5}},
	} {
		got := tc.dim.grid(tc.points)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s with %d points: %v, want %v", tc.dim, tc.points, got, tc.want)
		}
	}
}

func TestGridSizeCheck(t *testing.T) {
	s := mustSpace(t, "a=uniform:0:1,b=uniform:0:1,c=uniform:0:1,d=0|1|2")
	c := &config{maxTrials: 100}
	_, err := Grid(5).start(s, c)
	if err == nil || !strings.Contains(err.Error(), "the grid has 5 × 5 × 5 × 3 trials, more than the maximum of 100") {
		t.Errorf("error %v", err)
	}
	c.maxTrials = 375
	if _, err := Grid(5).start(s, c); err != nil {
		t.Errorf("375 trials with max 375: %v", err)
	}
	// A product that overflows int is still reported, not wrapped around.
	huge := mustSpace(t, "a=uniform:0:1,b=uniform:0:1,c=uniform:0:1,d=uniform:0:1,e=uniform:0:1")
	if _, err := Grid(math.MaxInt32).start(huge, &config{maxTrials: DefaultMaxTrials}); err == nil {
		t.Error("a grid of 2^155 trials was accepted")
	}
	if _, err := Grid(0).start(s, c); err == nil || !strings.Contains(err.Error(), "points per range = 0") {
		t.Errorf("Grid(0): %v", err)
	}
	// Run checks before it calls the objective.
	calls := 0
	_, err = Run(context.Background(), s, Grid(5), func(context.Context, Trial, Reporter) (map[string]float64, error) {
		calls++
		return nil, nil
	}, WithMaxTrials(10))
	if err == nil || calls != 0 {
		t.Errorf("Run with an oversized grid: err %v, %d calls", err, calls)
	}
}

func TestRandomInBounds(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-6:1e-1,drop=uniform:-0.5:0.5,bs=int:30:34,act=relu|tanh|gelu")
	trials := trialsOf(t, s, Random(5000, 42), WithMaxTrials(5000))
	ints := map[int]int{}
	acts := map[string]int{}
	for _, tr := range trials {
		lr, drop := tr.Params["lr"].(float64), tr.Params["drop"].(float64)
		if lr < 1e-6 || lr > 1e-1 {
			t.Fatalf("lr %v out of [1e-6, 1e-1]", lr)
		}
		if drop < -0.5 || drop > 0.5 {
			t.Fatalf("drop %v out of [-0.5, 0.5]", drop)
		}
		bs := tr.Params["bs"].(int)
		if bs < 30 || bs > 34 {
			t.Fatalf("bs %d out of [30, 34]", bs)
		}
		ints[bs]++
		acts[tr.Params["act"].(string)]++
	}
	// Inclusive: both ends are drawn, each of the 5 values about 1000 times.
	for v := 30; v <= 34; v++ {
		if ints[v] < 850 || ints[v] > 1150 {
			t.Errorf("bs=%d drawn %d times of 5000, want about 1000", v, ints[v])
		}
	}
	if len(ints) != 5 {
		t.Errorf("bs values %v", ints)
	}
	for _, a := range []string{"relu", "tanh", "gelu"} {
		if acts[a] < 1500 || acts[a] > 1830 {
			t.Errorf("act=%s drawn %d times of 5000, want about 1667", a, acts[a])
		}
	}
}

func TestLogUniformIsUniformInLogSpace(t *testing.T) {
	const n = 20000
	lo, hi := 1e-5, 1e-1
	for _, tc := range []struct {
		dim  Dimension
		want float64 // fraction below the geometric midpoint 1e-3
	}{
		{LogUniform("lr", lo, hi), 0.5},
		// The linear scale puts almost nothing below 1e-3: what the log
		// scale exists to avoid.
		{Uniform("lr", lo, hi), (1e-3 - lo) / (hi - lo)},
	} {
		s, err := NewSpace(tc.dim)
		if err != nil {
			t.Fatal(err)
		}
		below := 0
		decades := make([]int, 4)
		for _, tr := range trialsOf(t, s, Random(n, 7), WithMaxTrials(n)) {
			v := tr.Params.Float("lr")
			if v < math.Sqrt(lo*hi) {
				below++
			}
			decades[min(3, int(math.Floor(math.Log10(v)+5)))]++
		}
		frac := float64(below) / n
		if math.Abs(frac-tc.want) > 0.015 {
			t.Errorf("%s: %.4f below the geometric midpoint, want %.4f", tc.dim, frac, tc.want)
		}
		if _, isLog := tc.dim.(*uniform); isLog && tc.dim.(*uniform).log {
			for d, c := range decades {
				if math.Abs(float64(c)/n-0.25) > 0.015 {
					t.Errorf("decade 1e%d holds %d of %d draws, want a quarter", d-5, c, n)
				}
			}
		}
	}
}

func TestRandomIsReproducible(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-4:1e-2,beta1=uniform:0.8:0.99,bs=int:16:512,act=relu|tanh")
	a := trialsOf(t, s, Random(20, 3))
	b := trialsOf(t, s, Random(20, 3))
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different trials")
	}
	longer := trialsOf(t, s, Random(30, 3))
	if !reflect.DeepEqual(a, longer[:20]) {
		t.Error("the first 20 trials of a 30-trial search differ from a 20-trial search")
	}
	other := trialsOf(t, s, Random(20, 4))
	if reflect.DeepEqual(a[0].Params, other[0].Params) || a[0].Seed == other[0].Seed {
		t.Error("different seeds gave the same first trial")
	}
	seeds := map[uint64]bool{}
	for _, tr := range longer {
		seeds[tr.Seed] = true
	}
	if len(seeds) != len(longer) {
		t.Errorf("%d distinct trial seeds for %d trials", len(seeds), len(longer))
	}
	if _, err := Random(0, 1).start(s, &config{maxTrials: 10}); err == nil {
		t.Error("Random(0) accepted")
	}
	if _, err := Random(11, 1).start(s, &config{maxTrials: 10}); err == nil || !strings.Contains(err.Error(), "random has 11 trials, more than the maximum of 10") {
		t.Errorf("Random(11) with max 10: %v", err)
	}
}

func TestHalvingBudgets(t *testing.T) {
	for _, tc := range []struct {
		min, max, eta int
		want          []int
	}{
		{1, 9, 3, []int{1, 3, 9}},
		{1, 10, 3, []int{1, 3, 10}},
		{1, 27, 3, []int{1, 3, 9, 27}},
		{1, 2, 3, []int{1, 2}},
		{2, 2, 3, []int{2}},
		{1, 8, 2, []int{1, 2, 4, 8}},
		{2, 10, 2, []int{2, 4, 10}},
		{3, 4, 2, []int{3, 4}},
		{1, math.MaxInt, 1 << 62, []int{1, math.MaxInt}}, // no overflow
	} {
		got := halving{minEpochs: tc.min, maxEpochs: tc.max, eta: tc.eta}.budgets()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("budgets(min %d, max %d, eta %d) = %v, want %v", tc.min, tc.max, tc.eta, got, tc.want)
		}
	}
	s := mustSpace(t, "x=uniform:0:1")
	for _, tc := range []struct {
		h    Strategy
		want string
	}{
		{Halving(0, 1, 1, 9, 3), "trials = 0"},
		{Halving(9, 1, 0, 9, 3), "minEpochs = 0"},
		{Halving(9, 1, 3, 2, 3), "maxEpochs = 2 is out of range [minEpochs = 3"},
		{Halving(9, 1, 1, 9, 1), "eta = 1 is out of range [2, ∞)"},
	} {
		if _, err := tc.h.start(s, &config{maxTrials: 100}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.h, err, tc.want)
		}
	}
}

// halvingLoss gives every trial a fixed quality, with ties and failures
// planted at known IDs; the loss also falls with the budget so that rungs
// differ.
type halvingLoss struct {
	quality map[int]float64 // by trial ID; NaN = diverges; missing = fails
}

func (h halvingLoss) objective(_ context.Context, t Trial, r Reporter) (map[string]float64, error) {
	q, ok := h.quality[t.ID]
	if !ok {
		return nil, fmt.Errorf("trial %d crashed", t.ID)
	}
	for e := 0; e < t.Epochs; e++ {
		r.Report(e, map[string]float64{"val_loss": q + 1/float64(e+1)})
	}
	return map[string]float64{"val_loss": q + 1/float64(t.Epochs)}, nil
}

func TestHalvingPromotesTheTopFraction(t *testing.T) {
	const n = 10
	// Trials 3 and 7 tie for best; 5 diverges and 8 crashes, both with what
	// would otherwise be the best values; the rest rank by ID descending.
	q := map[int]float64{0: 9, 1: 8, 2: 7, 3: 1, 4: 6, 5: math.NaN(), 6: 5, 7: 1, 9: 4}
	s := mustSpace(t, "x=uniform:0:1")
	dir := t.TempDir()
	var order []string
	board, err := Run(context.Background(), s, Halving(n, 11, 1, 9, 3), halvingLoss{q}.objective,
		WithResultsDir(dir), WithConcurrentTrials(3), WithOnTrialEnd(func(r Result) {
			order = append(order, fmt.Sprintf("%d/%d", r.Trial.Rung, r.Trial.ID))
		}))
	if err != nil {
		t.Fatal(err)
	}
	byRung := map[int][]Result{}
	for _, r := range board.Results {
		byRung[r.Trial.Rung] = append(byRung[r.Trial.Rung], r)
	}
	ids := func(rs []Result, status string) []int {
		var out []int
		for _, r := range rs {
			if status == "" || r.Status == status {
				out = append(out, r.Trial.ID)
			}
		}
		sort.Ints(out)
		return out
	}
	// Rung 0: 10 trials; ceil(10/3) = 4 promoted: 3 and 7 (tied), then 9 (4)
	// and 6 (5). 5 (NaN) and 8 (failed) are never promoted.
	if got := ids(byRung[0], ""); len(got) != n {
		t.Fatalf("rung 0 ran %v", got)
	}
	if got := ids(byRung[1], ""); !reflect.DeepEqual(got, []int{3, 6, 7, 9}) {
		t.Errorf("rung 1 ran %v, want [3 6 7 9]", got)
	}
	if got := ids(byRung[0], StatusPruned); !reflect.DeepEqual(got, []int{0, 1, 2, 4}) {
		t.Errorf("pruned at rung 0: %v, want [0 1 2 4]", got)
	}
	if got := ids(byRung[0], StatusNaN); !reflect.DeepEqual(got, []int{5}) {
		t.Errorf("NaN at rung 0: %v", got)
	}
	if got := ids(byRung[0], StatusFailed); !reflect.DeepEqual(got, []int{8}) {
		t.Errorf("failed at rung 0: %v", got)
	}
	// Rung 1: ceil(4/3) = 2 promoted: 3 and 7 tie; both fit. Rung 2 is the
	// last: nothing pruned there.
	if got := ids(byRung[2], ""); !reflect.DeepEqual(got, []int{3, 7}) {
		t.Errorf("rung 2 ran %v, want [3 7]", got)
	}
	if got := ids(byRung[1], StatusPruned); !reflect.DeepEqual(got, []int{6, 9}) {
		t.Errorf("pruned at rung 1: %v", got)
	}
	if got := ids(byRung[2], StatusOK); !reflect.DeepEqual(got, []int{3, 7}) {
		t.Errorf("ok at rung 2: %v", got)
	}
	if len(byRung) != 3 {
		t.Errorf("%d rungs, want 3", len(byRung))
	}
	budgets := map[int]int{0: 1, 1: 3, 2: 9}
	dirs := map[int]string{}
	seeds := map[int]uint64{}
	for _, r := range board.Results {
		if r.Trial.Epochs != budgets[r.Trial.Rung] {
			t.Errorf("trial %d rung %d: %d epochs, want %d", r.Trial.ID, r.Trial.Rung, r.Trial.Epochs, budgets[r.Trial.Rung])
		}
		if r.Status == StatusOK || r.Status == StatusPruned {
			if len(r.History) != r.Trial.Epochs {
				t.Errorf("trial %d rung %d: %d history entries", r.Trial.ID, r.Trial.Rung, len(r.History))
			}
		}
		if d, ok := dirs[r.Trial.ID]; ok && d != r.Trial.Dir {
			t.Errorf("trial %d changed Dir from %s to %s", r.Trial.ID, d, r.Trial.Dir)
		}
		if sd, ok := seeds[r.Trial.ID]; ok && sd != r.Trial.Seed {
			t.Errorf("trial %d changed Seed", r.Trial.ID)
		}
		dirs[r.Trial.ID], seeds[r.Trial.ID] = r.Trial.Dir, r.Trial.Seed
	}
	if !strings.HasPrefix(dirs[3], dir) {
		t.Errorf("trial dir %q is not under %q", dirs[3], dir)
	}
	best, ok := board.Best()
	if !ok || best.Trial.ID != 3 || best.Trial.Rung != 2 {
		t.Errorf("best = trial %d rung %d, want trial 3 (tie with 7, lower ID) at rung 2", best.Trial.ID, best.Trial.Rung)
	}
	if len(order) != n+4+2 {
		t.Errorf("progress saw %d results, want %d", len(order), n+6)
	}
}

func TestHalvingTieAtTheCut(t *testing.T) {
	// 6 trials, eta 2: 3 promoted. Trials 1, 2, 4 and 5 tie for second
	// place behind 0: the two with the lowest IDs go on.
	q := map[int]float64{0: 1, 1: 2, 2: 2, 3: 9, 4: 2, 5: 2}
	s := mustSpace(t, "x=uniform:0:1")
	board, err := Run(context.Background(), s, Halving(6, 1, 1, 2, 2), halvingLoss{q}.objective)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range board.Results {
		if r.Trial.Rung == 1 {
			got = append(got, r.Trial.ID)
		}
	}
	if !reflect.DeepEqual(got, []int{0, 1, 2}) {
		t.Errorf("rung 1 = %v (leaderboard order), want [0 1 2]", got)
	}
}

func TestHalvingStopsWhenNothingSurvives(t *testing.T) {
	q := map[int]float64{0: math.NaN(), 1: math.Inf(1)}
	s := mustSpace(t, "x=uniform:0:1")
	board, err := Run(context.Background(), s, Halving(3, 1, 1, 4, 2), halvingLoss{q}.objective)
	if err != nil {
		t.Fatal(err)
	}
	if len(board.Results) != 3 {
		t.Errorf("%d results, want the 3 of rung 0", len(board.Results))
	}
	if _, ok := board.Best(); ok {
		t.Error("Best found a result among NaN and failed trials")
	}
}
