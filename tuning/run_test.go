package tuning

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bowl is a deterministic objective whose loss depends on the parameters and
// the trial seed, with a little sleep so that workers overlap and finish
// out of order.
func bowl(_ context.Context, t Trial, r Reporter) (map[string]float64, error) {
	d := math.Log10(t.Params.Float("lr")) + 3
	loss := d*d + math.Abs(t.Params.Float("beta1")-0.9) + float64(t.Seed%1000)*1e-6
	time.Sleep(time.Duration(t.Seed%3) * time.Millisecond)
	r.Report(0, map[string]float64{"loss": loss * 2})
	return map[string]float64{"val_loss": loss, "val_accuracy": 1 / (1 + loss)}, nil
}

// stripDurations leaves what a deterministic search must reproduce.
func stripDurations(b *Leaderboard) []Result {
	out := append([]Result(nil), b.Results...)
	for i := range out {
		out[i].Duration = 0
		out[i].Finished = time.Time{}
	}
	return out
}

func TestParallelWorkersGiveTheSameLeaderboard(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	for _, st := range []Strategy{Random(40, 5), Grid(6), Halving(27, 9, 1, 9, 3)} {
		one, err := Run(context.Background(), s, st, bowl, WithConcurrentTrials(1))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{2, 8} {
			many, err := Run(context.Background(), s, st, bowl, WithConcurrentTrials(w))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stripDurations(one), stripDurations(many)) {
				t.Errorf("%s: %d workers gave a different leaderboard than 1", st, w)
			}
			if one.String() != many.String() {
				t.Errorf("%s: tables differ:\n%s\n%s", st, one, many)
			}
		}
	}
}

func TestWorkersRunConcurrently(t *testing.T) {
	s := mustSpace(t, "x=uniform:0:1")
	var running, peak atomic.Int32
	obj := func(context.Context, Trial, Reporter) (map[string]float64, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return map[string]float64{"val_loss": 1}, nil
	}
	if _, err := Run(context.Background(), s, Random(12, 1), obj, WithConcurrentTrials(3)); err != nil {
		t.Fatal(err)
	}
	// 3 in practice; 2 tolerates a machine too loaded to overlap all three.
	if p := peak.Load(); p < 2 || p > 3 {
		t.Errorf("peak concurrency %d, want 3 (bounded by WithConcurrentTrials)", p)
	}
}

func TestFailuresAreRecorded(t *testing.T) {
	s := mustSpace(t, "x=int:0:100")
	obj := func(_ context.Context, t Trial, _ Reporter) (map[string]float64, error) {
		switch t.ID {
		case 0:
			panic("boom")
		case 1:
			return nil, errors.New("out of memory")
		case 2:
			return map[string]float64{"val_loss": math.NaN()}, nil
		case 3:
			return map[string]float64{"loss": 1}, nil
		case 4:
			return map[string]float64{"val_loss": math.Inf(-1)}, nil
		case 5:
			var empty []float64
			_ = empty[t.ID] // a runtime panic: index out of range
		}
		return map[string]float64{"val_loss": float64(t.ID)}, nil
	}
	board, err := Run(context.Background(), s, Random(8, 1), obj, WithConcurrentTrials(2))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Result{}
	for _, r := range board.Results {
		got[r.Trial.ID] = r
	}
	for _, tc := range []struct {
		id          int
		status, err string
	}{
		{0, StatusFailed, "panic: boom"},
		{1, StatusFailed, "out of memory"},
		{2, StatusNaN, "val_loss = NaN"},
		{3, StatusFailed, `no "val_loss" metric (got loss)`},
		{4, StatusNaN, "val_loss = -Inf"},
		{5, StatusFailed, "panic: runtime error: index out of range [5] with length 0"},
		{6, StatusOK, ""},
		{7, StatusOK, ""},
	} {
		r := got[tc.id]
		if r.Status != tc.status || !strings.Contains(r.Err, tc.err) || (tc.err == "" && r.Err != "") {
			t.Errorf("trial %d: status %q err %q, want %q containing %q", tc.id, r.Status, r.Err, tc.status, tc.err)
		}
	}
	var order []int
	for _, r := range board.Results {
		order = append(order, r.Trial.ID)
	}
	// ok by metric, then NaN, then failed, each by ID.
	if want := []int{6, 7, 2, 4, 0, 1, 3, 5}; !reflect.DeepEqual(order, want) {
		t.Errorf("leaderboard order %v, want %v", order, want)
	}
	if best, ok := board.Best(); !ok || best.Trial.ID != 6 {
		t.Errorf("Best = %d, %v", best.Trial.ID, ok)
	}
}

func TestMaximize(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	board, err := Run(context.Background(), s, Random(10, 1), bowl, WithMetric("val_accuracy", false))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(board.Results); i++ {
		if board.Results[i-1].Metrics["val_accuracy"] < board.Results[i].Metrics["val_accuracy"] {
			t.Fatalf("results not sorted by decreasing val_accuracy at %d", i)
		}
	}
}

func TestInvalidSettings(t *testing.T) {
	s := mustSpace(t, "x=uniform:0:1")
	for _, tc := range []struct {
		name  string
		space *Space
		st    Strategy
		obj   Objective
		opts  []Option
		want  string
	}{
		{"workers", s, Random(1, 1), bowl, []Option{WithConcurrentTrials(0)}, "concurrent trials = 0 is out of range [1, ∞)"},
		{"metric", s, Random(1, 1), bowl, []Option{WithMetric("", true)}, "metric name is empty"},
		{"max trials", s, Random(1, 1), bowl, []Option{WithMaxTrials(-1)}, "max trials = -1"},
		{"nil space", nil, Random(1, 1), bowl, nil, "space is nil"},
		{"nil strategy", s, nil, bowl, nil, "strategy is nil"},
		{"nil objective", s, Random(1, 1), nil, nil, "objective is nil"},
		{"zero space", &Space{}, Random(1, 1), bowl, nil, "space is nil or empty"},
	} {
		b, err := Run(context.Background(), tc.space, tc.st, tc.obj, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || b != nil {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCancel(t *testing.T) {
	s := mustSpace(t, "x=uniform:0:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls, late atomic.Int32
	var cancelled atomic.Bool
	obj := func(ctx context.Context, t Trial, _ Reporter) (map[string]float64, error) {
		if cancelled.Load() {
			late.Add(1)
		}
		if calls.Add(1) == 5 {
			cancel()
			cancelled.Store(true)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]float64{"val_loss": float64(t.ID)}, nil
	}
	board, err := Run(ctx, s, Random(100, 1), obj, WithConcurrentTrials(2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if board == nil {
		t.Fatal("no leaderboard after cancellation")
	}
	// A worker that had already taken a trial when cancel ran may still
	// start it: at most one per worker.
	if n := late.Load(); n > 2 {
		t.Errorf("%d trials started after the cancellation (2 workers)", n)
	}
	n := int(calls.Load())
	if len(board.Results) != n || n >= 100 {
		t.Errorf("%d results for %d calls of 100 trials", len(board.Results), n)
	}
	var statuses []string
	for _, r := range board.Results {
		if r.Status == StatusCancelled {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) != 1 {
		t.Errorf("%d cancelled results, want 1 (the trial that saw the cancellation)", len(statuses))
	}
}

func TestCancelStopsHalvingBetweenRungs(t *testing.T) {
	s := mustSpace(t, "x=uniform:0:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obj := func(_ context.Context, t Trial, _ Reporter) (map[string]float64, error) {
		if t.Rung == 0 && t.ID == 8 {
			cancel() // the objective ignores it and finishes
		}
		return map[string]float64{"val_loss": float64(t.ID)}, nil
	}
	board, err := Run(ctx, s, Halving(9, 1, 1, 9, 3), obj)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	for _, r := range board.Results {
		if r.Trial.Rung != 0 || r.Status != StatusOK {
			t.Errorf("trial %d rung %d status %s after cancelling during rung 0", r.Trial.ID, r.Trial.Rung, r.Status)
		}
	}
}

func TestResume(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=0.8|0.9|0.95,bs=int:16:256")
	dir := t.TempDir()
	// First run: interrupted after 7 trials.
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	obj := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		if calls.Add(1) == 8 {
			cancel()
			return nil, ctx.Err()
		}
		if t.ID == 2 {
			return nil, errors.New("flaky")
		}
		return bowl(ctx, t, r)
	}
	if _, err := Run(ctx, s, Random(20, 8), obj, WithResultsDir(dir)); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	cancel()
	if _, err := os.Stat(filepath.Join(dir, "results.csv")); err != nil {
		t.Fatal(err)
	}
	// Second run: the 6 finished trials (7 minus the failed one) are
	// reused, the failed and the cancelled one run again.
	var ran []int
	var mu sync.Mutex
	obj2 := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		mu.Lock()
		ran = append(ran, t.ID)
		mu.Unlock()
		return bowl(ctx, t, r)
	}
	board, err := Run(context.Background(), s, Random(20, 8), obj2, WithResultsDir(dir), WithConcurrentTrials(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 14 {
		t.Errorf("second run called the objective %d times, want 14 (20 minus 6 finished)", len(ran))
	}
	for _, id := range ran {
		if id < 7 && id != 2 {
			t.Errorf("finished trial %d ran again", id)
		}
	}
	// The resumed leaderboard equals an uninterrupted one (durations apart).
	fresh, err := Run(context.Background(), s, Random(20, 8), bowl)
	if err != nil {
		t.Fatal(err)
	}
	a, b := stripDurations(board), stripDurations(fresh)
	for i := range a {
		a[i].Trial.Dir = ""
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("resumed leaderboard differs from an uninterrupted one:\n%s\n%s", board, fresh)
	}
	// Third run: nothing left to do.
	ran = nil
	if _, err := Run(context.Background(), s, Random(20, 8), obj2, WithResultsDir(dir)); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 {
		t.Errorf("a finished search ran %d trials again", len(ran))
	}
	// A longer search with the same seed runs only the new trials; a
	// different metric makes the stored results useless.
	ran = nil
	if _, err := Run(context.Background(), s, Random(25, 8), obj2, WithResultsDir(dir)); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 5 {
		t.Errorf("extending 20 trials to 25 ran %d, want 5", len(ran))
	}
	ran = nil
	if _, err := Run(context.Background(), s, Random(25, 8), obj2, WithResultsDir(dir), WithMetric("val_f1", true)); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 25 {
		t.Errorf("changing the metric reran %d trials, want 25", len(ran))
	}
}

func TestResumeHalving(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	obj := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		if t.Rung == 1 && calls.Add(1) == 2 {
			cancel()
			return nil, ctx.Err()
		}
		return bowl(ctx, t, r)
	}
	st := Halving(9, 2, 1, 9, 3)
	if _, err := Run(ctx, s, st, obj, WithResultsDir(dir)); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	var ran []string
	obj2 := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		ran = append(ran, strings.Repeat("r", t.Rung+1))
		return bowl(ctx, t, r)
	}
	board, err := Run(context.Background(), s, st, obj2, WithResultsDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	// Rung 0 (9) and the first trial of rung 1 are done; 2 of rung 1 and 1
	// of rung 2 remain.
	if got := strings.Join(ran, ","); got != "rr,rr,rrr" {
		t.Errorf("resumed halving ran %s, want rr,rr,rrr", got)
	}
	fresh, _ := Run(context.Background(), s, st, bowl)
	a := stripDurations(board)
	for i := range a {
		a[i].Trial.Dir = ""
	}
	if !reflect.DeepEqual(a, stripDurations(fresh)) {
		t.Errorf("resumed halving differs:\n%s\n%s", board, fresh)
	}
}

func TestResultsFiles(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,act=relu|tanh,bs=int:1:4")
	dir := t.TempDir()
	obj := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		if t.ID == 1 {
			return map[string]float64{"val_loss": math.NaN(), "loss": math.Inf(1)}, nil
		}
		if t.ID == 2 {
			return nil, errors.New("bad, \"quoted\"\nerror")
		}
		return bowl(ctx, t, r)
	}
	var seen []Result
	board, err := Run(context.Background(), s, Random(5, 1), obj, WithResultsDir(dir),
		WithOnTrialEnd(func(r Result) { seen = append(seen, r) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Errorf("progress saw %d results", len(seen))
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc jsonDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if doc.Metric != "val_loss" || !doc.Minimize || doc.Strategy != "random(trials=5, seed=1)" || doc.Space != s.String() || len(doc.Results) != 5 {
		t.Errorf("results.json header: %+v", doc)
	}
	var nan jsonResult
	for _, r := range doc.Results {
		if r.ID == 1 {
			nan = r
		}
	}
	if !math.IsNaN(nan.Metrics["val_loss"]) || !math.IsInf(nan.Metrics["loss"], 1) || nan.Status != StatusNaN {
		t.Errorf("non-finite metrics did not survive JSON: %+v", nan)
	}
	var buf bytes.Buffer
	if err := board.WriteJSON(&buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("WriteJSON differs from results.json (%v)", err)
	}

	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"trial", "rung", "epochs", "status", "lr", "act", "bs", "val_loss", "loss", "val_accuracy", "duration_seconds", "seed", "error"}
	if !reflect.DeepEqual(rows[0], want) {
		t.Errorf("CSV header %v, want %v", rows[0], want)
	}
	if len(rows) != 6 {
		t.Fatalf("%d CSV rows", len(rows))
	}
	for i, row := range rows[1:] {
		r := board.Results[i]
		if row[0] != formatValue(r.Trial.ID) || row[3] != r.Status || row[4] != r.Trial.Params.String("lr") || row[12] != r.Err {
			t.Errorf("CSV row %d = %v for %+v", i, row, r)
		}
		if r.Status == StatusOK && row[7] != formatFloat(r.Metrics["val_loss"]) {
			t.Errorf("CSV row %d val_loss %q", i, row[7])
		}
	}
	// No temporary files left behind by the atomic writes.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover %s", e.Name())
		}
	}
	// Every trial got its directory.
	for _, r := range board.Results {
		if st, err := os.Stat(r.Trial.Dir); err != nil || !st.IsDir() {
			t.Errorf("trial %d dir %q: %v", r.Trial.ID, r.Trial.Dir, err)
		}
	}
}

func TestCorruptResultsAreNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), mustSpace(t, "x=uniform:0:1"), Random(2, 1), bowl, WithResultsDir(dir))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want one naming %s", err, path)
	}
	if data, _ := os.ReadFile(path); string(data) != "{not json" {
		t.Error("corrupt results.json was overwritten")
	}
}

func TestUncreatableResultsDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), mustSpace(t, "x=uniform:0:1"), Random(2, 1), bowl, WithResultsDir(filepath.Join(file, "sub")))
	if err == nil || !strings.Contains(err.Error(), "results directory") {
		t.Errorf("error %v", err)
	}
}

func TestOnTrialEndPanicIsAnError(t *testing.T) {
	var calls atomic.Int32
	obj := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		calls.Add(1)
		return bowl(ctx, t, r)
	}
	board, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1,beta1=0.9|0.95"), Random(10, 1), obj,
		WithOnTrialEnd(func(Result) { panic("oops") }))
	if err == nil || !strings.Contains(err.Error(), "WithOnTrialEnd function panicked: oops") {
		t.Errorf("error %v", err)
	}
	if board == nil || calls.Load() > 2 {
		t.Errorf("search went on after the progress function panicked (%d calls)", calls.Load())
	}
}

func TestObjectiveGetsACopyOfParams(t *testing.T) {
	obj := func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error) {
		t.Params["lr"] = -1.0
		return bowl(ctx, t, r)
	}
	board, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1,beta1=0.9|0.95"), Random(3, 1), obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range board.Results {
		if r.Trial.Params.Float("lr") < 0 {
			t.Error("the objective's write reached the leaderboard")
		}
	}
}

func TestResultsAreSavedAfterEveryTrial(t *testing.T) {
	dir := t.TempDir()
	var onDisk []int
	progress := func(Result) {
		data, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil {
			t.Error(err)
			return
		}
		var doc jsonDoc
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Error(err)
		}
		onDisk = append(onDisk, len(doc.Results))
	}
	if _, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1,beta1=0.9|0.95"), Random(4, 1), bowl,
		WithResultsDir(dir), WithConcurrentTrials(2), WithOnTrialEnd(progress)); err != nil {
		t.Fatal(err)
	}
	// By the time a result is reported, it is on disk with all before it.
	if want := []int{1, 2, 3, 4}; !reflect.DeepEqual(onDisk, want) {
		t.Errorf("results on disk at each progress call: %v, want %v", onDisk, want)
	}
}

func TestWriteFailureStopsTheSearch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	var calls atomic.Int32
	obj := func(ctx context.Context, tr Trial, r Reporter) (map[string]float64, error) {
		calls.Add(1)
		return bowl(ctx, tr, r)
	}
	reported := 0
	progress := func(Result) {
		if reported++; reported == 2 {
			// The results directory turns into a file under the runner's
			// feet: the next save must fail.
			if err := os.RemoveAll(dir); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(dir, nil, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	board, err := Run(context.Background(), mustSpace(t, "lr=log:1e-5:1e-1,beta1=0.9|0.95"), Random(10, 1), obj,
		WithResultsDir(dir), WithOnTrialEnd(progress))
	if err == nil || !strings.Contains(err.Error(), "tuning: saving results") {
		t.Fatalf("error %v, want a save error", err)
	}
	// The save after the third result fails (that result may be a trial
	// whose directory could not be created, which never reaches the
	// objective); with one worker, at most one more trial has been handed
	// out by then.
	if n := calls.Load(); n < 2 || n > 4 {
		t.Errorf("%d trials ran, want the search to stop after the failed save", n)
	}
	if board == nil || len(board.Results) < 3 || len(board.Results) > 5 {
		t.Errorf("leaderboard %v, want the finished trials", board)
	}
}
