package train

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
)

// blobs is datasets.Blobs, in float64 when f64 is set.
func blobs(n int, seed uint64, f64 bool) *datasets.Dataset {
	ds := datasets.Blobs(n, seed)
	if f64 {
		x32 := ds.X32
		ds.X64, ds.X32 = make([]float64, len(x32)), nil
		for i, v := range x32 {
			ds.X64[i] = float64(v)
		}
	}
	return ds
}

func mlp(dropout float64) layers.Layer {
	ls := []layers.Layer{layers.Dense(16), layers.ReLU()}
	if dropout > 0 {
		ls = append(ls, layers.Dropout(dropout))
	}
	return layers.Sequential(append(ls, layers.Dense(3))...)
}

func newModel(t testing.TB, dropout float64, opts ...graph.Option) *graph.Model {
	t.Helper()
	m, err := graph.New(mlp(dropout), append([]graph.Option{graph.WithInputShape(4), graph.WithTrainBatchSize(8), graph.WithSeed(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// weights returns all of a model's weights, in parameter order, as
// float64s (exactly), for bit-for-bit comparisons.
func weights(m *graph.Model) []float64 {
	var w []float64
	for _, p := range m.Params() {
		switch d := p.Value.Data().(type) {
		case []float32:
			for _, v := range d {
				w = append(w, float64(v))
			}
		case []float64:
			w = append(w, d...)
		}
	}
	return w
}

// requireSameWeights fails unless a and b hold bit-identical weights.
func requireSameWeights(t *testing.T, a, b *graph.Model, what string) {
	t.Helper()
	wa, wb := weights(a), weights(b)
	if len(wa) != len(wb) {
		t.Fatalf("%s: %d weights against %d", what, len(wa), len(wb))
	}
	for i := range wa {
		if math.Float64bits(wa[i]) != math.Float64bits(wb[i]) {
			t.Fatalf("%s: weight %d is %v against %v", what, i, wa[i], wb[i])
		}
	}
}

func newAdam(t testing.TB, opts ...solvers.Option) *solvers.Adam {
	t.Helper()
	s, err := solvers.NewAdam(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFitLearnsAndSharesWeights(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		dt := tensor.Float32
		if f64 {
			dt = tensor.Float64
		}
		t.Run(dt.String(), func(t *testing.T) {
			m := newModel(t, 0.1, graph.WithDtype(dt))
			train, val := blobs(300, 5, f64), blobs(90, 6, f64)
			before, err := m.Evaluate(context.Background(), val)
			if err != nil {
				t.Fatal(err)
			}
			hist, err := Fit(context.Background(), m, newAdam(t, solvers.WithLearnRate(0.01)), train,
				WithEpochs(5), WithValidationData(val))
			if err != nil {
				t.Fatal(err)
			}
			if len(hist.Epoch) != 5 {
				t.Fatalf("%d epochs in history, want 5", len(hist.Epoch))
			}
			for _, k := range []string{"loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_seconds"} {
				if len(hist.History[k]) != 5 {
					t.Errorf("history of %q has %d entries, want 5", k, len(hist.History[k]))
				}
			}
			valAcc, valLoss := hist.History["val_accuracy"][4], hist.History["val_loss"][4]
			if valAcc < 0.95 || valLoss >= before.Loss {
				t.Fatalf("after 5 epochs val_accuracy %.3f val_loss %.3f (before %.3f)", valAcc, valLoss, before.Loss)
			}
		})
	}
}

func TestFitIsDeterministic(t *testing.T) {
	run := func() *graph.Model {
		m := newModel(t, 0.3)
		if _, err := Fit(context.Background(), m, newAdam(t), blobs(100, 8, false), WithEpochs(3), WithValidationSplit(0.2)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	requireSameWeights(t, run(), run(), "two identical runs")
}

// recorder logs the hooks it sees.
type recorder struct {
	callbacks.Base
	events []string
	failAt string
}

func (r *recorder) note(s string) error {
	r.events = append(r.events, s)
	if s == r.failAt {
		return errTest
	}
	return nil
}

var errTest = errorString("boom")

type errorString string

func (e errorString) Error() string { return string(e) }

func (r *recorder) OnTrainBegin(*callbacks.State) error   { return r.note("train_begin") }
func (r *recorder) OnTrainEnd(*callbacks.State) error     { return r.note("train_end") }
func (r *recorder) OnEpochBegin(s *callbacks.State) error { return r.note("epoch_begin") }
func (r *recorder) OnEpochEnd(s *callbacks.State) error   { return r.note("epoch_end") }
func (r *recorder) OnBatchBegin(s *callbacks.State) error { return r.note("batch_begin") }
func (r *recorder) OnBatchEnd(s *callbacks.State) error   { return r.note("batch_end") }
func (r *recorder) count(event string) (n int) {
	for _, e := range r.events {
		if e == event {
			n++
		}
	}
	return n
}

func TestFitHookOrderAndErrors(t *testing.T) {
	m := newModel(t, 0)
	rec := &recorder{}
	if _, err := Fit(context.Background(), m, newAdam(t), blobs(20, 1, false), WithEpochs(2), WithCallbacks(rec)); err != nil {
		t.Fatal(err)
	}
	// 20 examples in batches of 8: 3 batches per epoch, the last partial.
	want := "train_begin epoch_begin batch_begin batch_end batch_begin batch_end batch_begin batch_end epoch_end " +
		"epoch_begin batch_begin batch_end batch_begin batch_end batch_begin batch_end epoch_end train_end"
	if got := strings.Join(rec.events, " "); got != want {
		t.Fatalf("hooks:\n got %s\nwant %s", got, want)
	}

	rec = &recorder{failAt: "epoch_end"}
	_, err := Fit(context.Background(), m, newAdam(t), blobs(20, 1, false), WithEpochs(3), WithCallbacks(rec))
	if err == nil || !strings.Contains(err.Error(), "callback recorder: OnEpochEnd: boom") {
		t.Fatalf("err = %v, want the callback's name and hook", err)
	}
	if rec.count("epoch_end") != 1 || rec.count("train_end") != 1 {
		t.Fatalf("after a failing OnEpochEnd: %v (want training stopped, OnTrainEnd run)", rec.events)
	}
}

// stopper stops training at a given step through the Trainer handle.
type stopper struct {
	callbacks.Base
	at int
}

func (s *stopper) OnBatchEnd(st *callbacks.State) error {
	if st.Step == s.at {
		st.Trainer.StopTraining()
	}
	return nil
}

func TestFitStopAndCancel(t *testing.T) {
	m := newModel(t, 0)
	rec := &recorder{}
	hist, err := Fit(context.Background(), m, newAdam(t), blobs(40, 1, false), WithEpochs(4), WithCallbacks(&stopper{at: 6}, rec))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Epoch) != 1 || rec.count("batch_end") != 7 || rec.count("train_end") != 1 {
		t.Fatalf("stop at step 6 (batch 2 of epoch 2): %d epochs recorded (want 1), %d batch ends (want 7)", len(hist.Epoch), rec.count("batch_end"))
	}

	ctx, cancel := context.WithCancel(context.Background())
	rec = &recorder{}
	cancelAt := &lambdaCB{onBatchEnd: func(s *callbacks.State) {
		if s.Step == 3 {
			cancel()
		}
	}}
	_, err = Fit(ctx, m, newAdam(t), blobs(40, 1, false), WithEpochs(4), WithCallbacks(cancelAt, rec))
	if err == nil || !strings.Contains(err.Error(), "interrupted") || ctx.Err() == nil {
		t.Fatalf("cancelled run: err = %v", err)
	}
	if rec.count("batch_end") != 4 || rec.count("train_end") != 1 {
		t.Fatalf("cancel after step 3: %d batch ends (want 4), %d train ends", rec.count("batch_end"), rec.count("train_end"))
	}
}

type lambdaCB struct {
	callbacks.Base
	onBatchEnd func(*callbacks.State)
}

func (l *lambdaCB) OnBatchEnd(s *callbacks.State) error { l.onBatchEnd(s); return nil }

func TestFitStopsOnNaNLoss(t *testing.T) {
	m := newModel(t, 0)
	ds := blobs(30, 1, false)
	ds.X32[5*4+1] = float32(math.NaN())
	_, err := Fit(context.Background(), m, newAdam(t), ds, WithEpochs(2), WithDataSeed(9))
	// ReLU maps the NaN activations to 0, so the loss may stay finite while
	// the first layer's gradient is NaN: either check must stop training
	// and name the epoch and batch.
	if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "epoch 1, batch") {
		t.Fatalf("err = %v, want a NaN error naming epoch and batch", err)
	}
}

// checkpointAt saves a checkpoint at the end of one epoch.
type checkpointAt struct {
	callbacks.Base
	epoch int
	path  string
}

func (c *checkpointAt) OnEpochEnd(s *callbacks.State) error {
	if s.Epoch == c.epoch {
		return s.Trainer.SaveCheckpoint(c.path)
	}
	return nil
}

// A run resumed from a checkpoint must end with the very same weights as an
// uninterrupted one: weights, Adam's moments, the loop's position and the
// dropout stream all restored.
func TestResumeIsBitExact(t *testing.T) {
	ds := blobs(50, 3, false)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	full := newModel(t, 0.25)
	if _, err := Fit(context.Background(), full, newAdam(t), ds, WithEpochs(4),
		WithCallbacks(&checkpointAt{epoch: 1, path: ckpt})); err != nil {
		t.Fatal(err)
	}
	resumed := newModel(t, 0.25)
	for _, p := range resumed.Params() { // the checkpoint must overwrite these
		for i := range p.Value.Data().([]float32) {
			p.Value.Data().([]float32)[i] += 1
		}
	}
	hist, err := Fit(context.Background(), resumed, newAdam(t), ds, WithEpochs(4), WithResume(ckpt),
		WithCallbacks(&checkpointAt{epoch: -1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Epoch) != 4 {
		t.Fatalf("resumed run's history has %d epochs, want all 4 (2 restored from the checkpoint)", len(hist.Epoch))
	}
	requireSameWeights(t, full, resumed, "uninterrupted and resumed runs")
}

// TestHeapStaysFlatAcrossEpochs: after the first epoch has sized every
// buffer, training allocates only short-lived values — the live heap after a
// GC does not grow from epoch to epoch.
func TestHeapStaysFlatAcrossEpochs(t *testing.T) {
	m := newModel(t, 0.2)
	ds := blobs(600, 5, false)
	var live []uint64
	probe := callbacks.Lambda{EpochEnd: func(*callbacks.State) error {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = append(live, ms.HeapAlloc)
		return nil
	}}
	if _, err := Fit(context.Background(), m, newAdam(t), ds, WithEpochs(8), WithValidationSplit(0.2), WithCallbacks(probe)); err != nil {
		t.Fatal(err)
	}
	// Epoch 2 is the baseline (epoch 1 fills caches); History grows by a
	// few numbers per epoch, far below the slack.
	const slack = 64 << 10
	if last, base := live[len(live)-1], live[1]; last > base+slack {
		t.Errorf("live heap grew from %d B after epoch 2 to %d B after epoch 8: %v", base, last, live)
	}
}

// TestFitRejectsBadArguments: bad arguments are errors naming what is
// wrong, never panics (issue 15, item 7: WithCallbacks(nil) used to panic).
func TestFitRejectsBadArguments(t *testing.T) {
	var nilEarly *callbacks.EarlyStopping
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"nil callback", []Option{WithCallbacks(nil)}, "callback 1 of 1 is nil"},
		{"nil callback pointer", []Option{WithCallbacks(&recorder{}, nilEarly)}, "callback 2 of 2 is nil"},
		{"nil option", []Option{nil}, "option 0 is nil"},
		{"zero epochs", []Option{WithEpochs(0)}, "epochs 0, want ≥ 1"},
		{"split of 1", []Option{WithValidationSplit(1)}, "validation split 1, want a fraction in (0, 1)"},
		{"split and data", []Option{WithValidationSplit(0.2), WithValidationData(blobs(9, 1, false))}, "not both"},
		{"own section name", []Option{WithCheckpointSection("loop", nil)}, `section "loop" is Fit's own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(t, 0)
			_, err := Fit(context.Background(), m, newAdam(t), blobs(20, 1, false), tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	m := newModel(t, 0)
	if _, err := Fit(context.Background(), nil, newAdam(t), blobs(20, 1, false)); err == nil {
		t.Error("Fit(nil model): no error")
	}
	if _, err := Fit(context.Background(), m, nil, blobs(20, 1, false)); err == nil {
		t.Error("Fit(nil solver): no error")
	}
	if _, err := Fit(context.Background(), m, newAdam(t), nil); err == nil || !strings.Contains(err.Error(), "nil dataset") {
		t.Errorf("Fit(nil dataset): err = %v", err)
	}
	five := blobs(20, 1, false)
	five.Classes = 5
	if _, err := Fit(context.Background(), m, newAdam(t), five); err == nil || !strings.Contains(err.Error(), "5 classes but the model has 3 outputs") {
		t.Errorf("Fit(5 classes, 3 outputs): err = %v", err)
	}
}

// panicky panics in a hook, as a buggy user callback might.
type panicky struct{ callbacks.Base }

func (panicky) OnEpochEnd(*callbacks.State) error { panic("callback bug") }

func TestFitTurnsPanicsIntoErrors(t *testing.T) {
	m := newModel(t, 0)
	_, err := Fit(context.Background(), m, newAdam(t), blobs(20, 1, false), WithCallbacks(panicky{}))
	if err == nil || !strings.Contains(err.Error(), "callback bug") {
		t.Fatalf("err = %v, want the callback's panic as an error", err)
	}
	if _, err := Fit(context.Background(), m, panickySolver{}, blobs(16, 2, false)); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("Fit(panicking solver): err = %v", err)
	}
}

// panickySolver panics in Step, as a buggy user solver might.
type panickySolver struct{}

func (panickySolver) Step([]G.ValueGrad) error { panic("boom") }

// checkpointAtStep saves a checkpoint after one optimizer step and stops
// there, as Ctrl-C in the middle of an epoch does.
type checkpointAtStep struct {
	callbacks.Base
	step int
	path string
}

func (c *checkpointAtStep) OnBatchEnd(s *callbacks.State) error {
	if s.Step == c.step {
		s.Trainer.StopTraining()
		return s.Trainer.SaveCheckpoint(c.path)
	}
	return nil
}

// TestResumeMidEpochReportsTheUninterruptedNumbers: a run stopped in the
// middle of an epoch and resumed reports, for that epoch, the loss and
// accuracy of all its batches — the checkpoint carries the running sums —
// so the History equals the uninterrupted run's (issue 15, item 2).
func TestResumeMidEpochReportsTheUninterruptedNumbers(t *testing.T) {
	ds := blobs(60, 3, false) // 8 batches per epoch of 8, the last partial
	opts := func(extra ...Option) []Option {
		return append([]Option{WithEpochs(3), WithValidationSplit(0.2)}, extra...)
	}
	full := newModel(t, 0.25)
	want, err := Fit(context.Background(), full, newAdam(t), ds, opts(WithCallbacks(&checkpointAtStep{step: -1}))...)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "mid.ckpt")
	stopped := newModel(t, 0.25)
	if _, err := Fit(context.Background(), stopped, newAdam(t), ds, opts(WithCallbacks(&checkpointAtStep{step: 8, path: ckpt}))...); err != nil {
		t.Fatal(err)
	}
	c, err := graph.ReadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if done, batches, err := ReadPosition(c); err != nil || done != 1 || batches != 3 {
		t.Fatalf("checkpoint position: %d epochs and %d batches done, %v; want 1 and 3", done, batches, err)
	}
	resumed := newModel(t, 0.25)
	got, err := Fit(context.Background(), resumed, newAdam(t), ds, opts(WithResume(ckpt), WithCallbacks(&checkpointAtStep{step: -1}))...)
	if err != nil {
		t.Fatal(err)
	}
	requireSameWeights(t, full, resumed, "uninterrupted and resumed runs")
	for _, k := range []string{callbacks.KeyLoss, callbacks.KeyAccuracy, callbacks.KeyValLoss, callbacks.KeyValAccuracy, callbacks.KeyLR} {
		w, g := want.History[k], got.History[k]
		if len(w) != 3 || len(g) != 3 {
			t.Fatalf("%s: %d epochs uninterrupted, %d resumed; want 3", k, len(w), len(g))
		}
		for i := range w {
			if math.Float64bits(w[i]) != math.Float64bits(g[i]) {
				t.Errorf("%s of epoch %d: %v uninterrupted, %v resumed", k, i+1, w[i], g[i])
			}
		}
	}
}

// TestFailedResumeChangesNothing: a checkpoint that does not fit the run
// is refused with a message naming the difference, and the model keeps its
// weights; asking for no more epochs than the checkpoint has done is an
// error, not a silent success.
func TestFailedResumeChangesNothing(t *testing.T) {
	ds := blobs(40, 3, false)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	if _, err := Fit(context.Background(), newModel(t, 0), newAdam(t), ds, WithEpochs(2),
		WithCallbacks(&checkpointAt{epoch: 1, path: ckpt})); err != nil {
		t.Fatal(err)
	}
	// badHistory is the checkpoint with a History state that does not
	// decode: the weights and the solver are restored before it fails.
	badHistory := filepath.Join(t.TempDir(), "bad")
	c, err := graph.ReadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	owner := newModel(t, 0)
	if err := owner.LoadWeightsFrom(c); err != nil {
		t.Fatal(err)
	}
	var secs []graph.Section
	for _, name := range c.SectionNames() {
		data, _ := c.Section(name)
		if name == "callback/1/History" {
			data = []byte("{not json")
		}
		if name != "weights" && name != "model" {
			secs = append(secs, graph.Section{Name: name, Data: data})
		}
	}
	if err := owner.SaveCheckpoint(badHistory, secs...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"epochs already done", []Option{WithEpochs(2)}, "has 2 epochs done and this run asks for 2"},
		{"other data seed", []Option{WithEpochs(3), WithDataSeed(9)}, "data seed 3, this run uses 9"},
		{"other callbacks", []Option{WithEpochs(3), WithCallbacks(mustPlateau(t), &checkpointAt{epoch: -1})}, "callbacks do not match"},
		{"bad callback state", []Option{WithEpochs(3), WithResume(badHistory)}, "restoring callback History"},
		{"not a checkpoint", []Option{WithEpochs(3), WithResume(filepath.Join(t.TempDir(), "missing"))}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(t, 0)
			before := weights(m)
			opts := append([]Option{WithResume(ckpt), WithCallbacks(&checkpointAt{epoch: -1})}, tt.opts...)
			_, err := Fit(context.Background(), m, newAdam(t), ds, opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			after := weights(m)
			for i := range before {
				if math.Float64bits(before[i]) != math.Float64bits(after[i]) {
					t.Fatalf("weight %d changed by a failed resume", i)
				}
			}
		})
	}
}

func mustPlateau(t *testing.T) callbacks.Callback {
	p, err := callbacks.NewReduceLROnPlateau()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
