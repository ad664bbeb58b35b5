package graph

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
)

// blobs returns n examples of 3 Gaussian blobs in 4 dimensions, which a
// small MLP separates almost perfectly.
func blobs(n int, seed uint64, f64 bool) *datasets.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &datasets.Dataset{ExampleShape: []int{4}, Classes: 3}
	var x []float64
	for i := 0; i < n; i++ {
		c := i % 3
		ds.Labels = append(ds.Labels, c)
		for j := 0; j < 4; j++ {
			center := 0.0
			if j == c {
				center = 3
			}
			x = append(x, center+rng.NormFloat64())
		}
	}
	if f64 {
		ds.X64 = x
	} else {
		for _, v := range x {
			ds.X32 = append(ds.X32, float32(v))
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

func newModel(t testing.TB, dropout float64, opts ...Option) *Model {
	t.Helper()
	m, err := New(mlp(dropout), append([]Option{WithInputShape(4), WithBatchSize(8), WithSeed(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// weights32 returns all of a float32 model's weights, in parameter order,
// as float64s (exactly), for bit-for-bit comparisons.
func weights32(m *Model) []float64 {
	var w []float64
	for _, p := range m.Params() {
		for _, v := range p.Value.Data().([]float32) {
			w = append(w, float64(v))
		}
	}
	return w
}

func newAdam(t testing.TB, opts ...solvers.Option) *solvers.Adam {
	t.Helper()
	s, err := solvers.NewAdam(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"no input shape", nil, "WithInputShape is required"},
		{"zero dim", []Option{WithInputShape(4, 0)}, "dimension 1 is 0"},
		{"batch", []Option{WithInputShape(4), WithBatchSize(0)}, "batch size 0"},
		{"dtype", []Option{WithInputShape(4), WithDtype(tensor.Int)}, "dtype int is not supported"},
		{"eval batch", []Option{WithInputShape(4), WithEvalBatchSize(-1)}, "eval batch size -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(mlp(0), tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewReturnsLayerErrors(t *testing.T) {
	// A 4-feature input cannot feed a conv layer expecting NCHW images.
	_, err := New(layers.Sequential(layers.Dense(3), layers.Dense(2)), WithInputShape(4), WithLoss(nil))
	if err != nil {
		t.Fatalf("a valid model failed: %v", err)
	}
	bad := layers.LayerFunc(func(s *layers.Scope, x *G.Node) (*G.Node, error) { return x, nil })
	if _, err := New(bad, WithInputShape(4, 5)); err == nil || !strings.Contains(err.Error(), "output has shape") {
		t.Fatalf("rank-3 output: err = %v", err)
	}
}

func TestTrainingProgramSkipsInputGradient(t *testing.T) {
	m := newModel(t, 0)
	full := len(m.train.graph.AllNodes())
	compiled := len(m.train.compiled.AllNodes())
	if compiled >= full {
		t.Fatalf("compiled training graph has %d nodes, the full graph %d: the input gradient was not left out", compiled, full)
	}
}

func TestFeedErrors(t *testing.T) {
	m := newModel(t, 0)
	s := newAdam(t)
	tests := []struct {
		name  string
		batch *datasets.Batch
		want  string
	}{
		{"too many rows", &datasets.Batch{X32: make([]float32, 9*4), Labels: make([]int, 9), Size: 9}, "batch has 9 rows, want 1..8"},
		{"short features", &datasets.Batch{X32: make([]float32, 7), Labels: make([]int, 2), Size: 2}, `input "input": batch of 2 rows holds 7 values, want 8`},
		{"no features", &datasets.Batch{Labels: make([]int, 2), Size: 2}, "batch has no features"},
		{"label range", &datasets.Batch{X32: make([]float32, 8), Labels: []int{0, 3}, Size: 2}, "row 1 has label 3, want 0..2"},
		{"labels short", &datasets.Batch{X32: make([]float32, 8), Labels: []int{0}, Size: 2}, "1 labels for 2 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.TrainStep(s, tt.batch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDatasetShapeMismatchNamesBothShapes(t *testing.T) {
	m := newModel(t, 0)
	ds := blobs(10, 1, false)
	ds.ExampleShape = []int{2, 2}
	if _, err := m.Evaluate(context.Background(), ds); err != nil {
		t.Fatalf("[2 2] examples have 4 values and must feed a 4 input: %v", err)
	}
	ds = &datasets.Dataset{ExampleShape: []int{5}, X32: make([]float32, 10), Labels: []int{0, 1}, Classes: 3}
	_, err := m.Evaluate(context.Background(), ds)
	if err == nil || !strings.Contains(err.Error(), "[4]") || !strings.Contains(err.Error(), "[5]") {
		t.Fatalf("err = %v, want both shapes named", err)
	}
}

// The padded last batch must give exactly the loss of the unpadded rows:
// evaluating with any eval batch size gives the same mean loss.
func TestEvaluatePartialBatchesMatchOneBatch(t *testing.T) {
	ds := blobs(23, 2, true)
	var ref Metrics
	for i, eb := range []int{23, 5, 7, 64} {
		m := newModel(t, 0, WithDtype(tensor.Float64), WithEvalBatchSize(eb))
		got, err := m.Evaluate(context.Background(), ds)
		if err != nil {
			t.Fatal(err)
		}
		if got.Examples != 23 {
			t.Fatalf("eval batch %d: %d examples evaluated, want 23", eb, got.Examples)
		}
		if i == 0 {
			ref = got
			continue
		}
		if math.Abs(got.Loss-ref.Loss) > 1e-12 || got.Accuracy != ref.Accuracy {
			t.Fatalf("eval batch %d: %+v, eval batch 23: %+v", eb, got, ref)
		}
	}
}

func TestPredictShapeAndAgreementWithEvaluate(t *testing.T) {
	m := newModel(t, 0, WithEvalBatchSize(6))
	ds := blobs(20, 4, false)
	out, err := m.Predict(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Shape().Eq(tensor.Shape{20, 3}) {
		t.Fatalf("Predict shape %v, want (20, 3)", out.Shape())
	}
	data := out.Data().([]float32)
	correct := 0
	for i := 0; i < 20; i++ {
		if argmax32(data[i*3:i*3+3]) == ds.Labels[i] {
			correct++
		}
	}
	met, err := m.Evaluate(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(correct) / 20; got != met.Accuracy {
		t.Fatalf("accuracy from Predict %v, from Evaluate %v", got, met.Accuracy)
	}
}

func TestFitLearnsAndSharesWeights(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		dt := tensor.Float32
		if f64 {
			dt = tensor.Float64
		}
		t.Run(dt.String(), func(t *testing.T) {
			m := newModel(t, 0.1, WithDtype(dt))
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
	run := func() []float64 {
		m := newModel(t, 0.3)
		if _, err := Fit(context.Background(), m, newAdam(t), blobs(100, 8, false), WithEpochs(3), WithValidationSplit(0.2)); err != nil {
			t.Fatal(err)
		}
		return weights32(m)
	}
	a, b := run(), run()
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("weight %d differs between identical runs: %v vs %v", i, a[i], b[i])
		}
	}
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
	_, err := Fit(context.Background(), m, newAdam(t), ds, WithEpochs(2), WithShuffleSeed(9))
	// ReLU maps the NaN activations to 0, so the loss may stay finite while
	// the first layer's gradient is NaN: either check must stop training
	// and name the epoch and batch.
	if err == nil || !strings.Contains(err.Error(), "NaN") || !strings.Contains(err.Error(), "epoch 1, batch") {
		t.Fatalf("err = %v, want a NaN error naming epoch and batch", err)
	}
}

func TestSaveLoadWeights(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.bin")
	a := newModel(t, 0)
	if err := a.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	b := newModel(t, 0, WithSeed(99))
	if err := b.LoadWeights(path); err != nil {
		t.Fatal(err)
	}
	for i, p := range a.Params() {
		if !equalData(p.Value.Data(), b.Params()[i].Value.Data()) {
			t.Fatalf("parameter %s differs after load", p.Name)
		}
	}

	other, err := New(layers.Sequential(layers.Dense(17), layers.ReLU(), layers.Dense(3)), WithInputShape(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.LoadWeights(path); err == nil || !strings.Contains(err.Error(), "shape") || !strings.Contains(err.Error(), `"dense/`) {
		t.Fatalf("loading into other shapes: err = %v, want the parameter named", err)
	}

	raw, _ := os.ReadFile(path)
	for name, data := range map[string][]byte{
		"truncated": raw[:len(raw)/2],
		"corrupted": append(append([]byte(nil), raw[:40]...), append([]byte{raw[40] ^ 0xff}, raw[41:]...)...),
		"empty":     nil,
	} {
		bad := filepath.Join(dir, name)
		os.WriteFile(bad, data, 0o644)
		err := b.LoadWeights(bad)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s file: err = %v, want an error naming the file", name, err)
		}
	}
}

func equalData(a, b any) bool {
	switch x := a.(type) {
	case []float32:
		y := b.([]float32)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
	case []float64:
		y := b.([]float64)
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
	}
	return true
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
	for i, p := range full.Params() {
		if !equalData(p.Value.Data(), resumed.Params()[i].Value.Data()) {
			t.Fatalf("parameter %s differs between the uninterrupted and the resumed run", p.Name)
		}
	}
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

// TestTrainStepWithGorgoniaSolvers: TrainStep hands any gorgonia.Solver
// the weights and this run's gradients, so Gorgonia's own solvers train a
// model too.
func TestTrainStepWithGorgoniaSolvers(t *testing.T) {
	for name, solver := range map[string]G.Solver{
		"vanilla": G.NewVanillaSolver(G.WithLearnRate(0.1)),
		"adam":    G.NewAdamSolver(G.WithLearnRate(0.01)),
	} {
		t.Run(name, func(t *testing.T) {
			m := newModel(t, 0)
			ds := blobs(8, 4, false)
			b := &datasets.Batch{X32: ds.X32, Labels: ds.Labels, Size: 8}
			first, err := m.TrainStep(solver, b)
			if err != nil {
				t.Fatal(err)
			}
			var last StepResult
			for i := 0; i < 60; i++ {
				if last, err = m.TrainStep(solver, b); err != nil {
					t.Fatal(err)
				}
			}
			if !(last.Loss < first.Loss/2) {
				t.Errorf("loss %v after 60 steps, %v at the start: not learning", last.Loss, first.Loss)
			}
		})
	}
}

// panickySolver panics in Step, as a buggy user solver might.
type panickySolver struct{}

func (panickySolver) Step([]G.ValueGrad) error { panic("boom") }

// TestSolverMisuseIsAnError: a nil or panicking solver is an error from
// TrainStep and Fit, never a panic.
func TestSolverMisuseIsAnError(t *testing.T) {
	m := newModel(t, 0)
	ds := blobs(16, 2, false)
	b := &datasets.Batch{X32: ds.X32, Labels: ds.Labels, Size: 8}
	if _, err := m.TrainStep(nil, b); err == nil || !strings.Contains(err.Error(), "solver") {
		t.Errorf("TrainStep(nil solver): err = %v", err)
	}
	if _, err := m.TrainStep(panickySolver{}, b); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("TrainStep(panicking solver): err = %v", err)
	}
	if _, err := Fit(context.Background(), m, panickySolver{}, ds); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("Fit(panicking solver): err = %v", err)
	}
}
