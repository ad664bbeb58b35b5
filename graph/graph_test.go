package graph

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
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

func newModel(t testing.TB, dropout float64, opts ...Option) *Model {
	t.Helper()
	m, err := New(mlp(dropout), append([]Option{WithInputShape(4), WithTrainBatchSize(8), WithSeed(3)}, opts...)...)
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

// trainEpochs trains m for epochs passes over ds with TrainStep, shuffled
// by the model's seed as train.Fit would: what graph's tests need of a
// training loop.
func trainEpochs(t testing.TB, m *Model, solver G.Solver, ds *datasets.Dataset, epochs int) []float64 {
	t.Helper()
	loader, err := datasets.NewLoader(ds, datasets.WithBatchSize(m.BatchSize()), datasets.WithShuffle(m.Seed()))
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for e := range epochs {
		it := loader.Epoch(context.Background(), e)
		for b, ok := it.Next(); ok; b, ok = it.Next() {
			res, err := m.TrainStep(solver, b)
			if err != nil {
				it.Close()
				t.Fatal(err)
			}
			losses = append(losses, res.Loss)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return losses
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"no input shape", nil, "WithInputShape is required"},
		{"zero dim", []Option{WithInputShape(4, 0)}, "dimension 1 is 0"},
		{"batch", []Option{WithInputShape(4), WithTrainBatchSize(0)}, "batch size 0"},
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
		{"long features", &datasets.Batch{X32: make([]float32, 12), Labels: []int{0, 1}, Size: 2}, `batch of 2 rows holds 12 values, want 8`},
		{"long float64 features", &datasets.Batch{X64: make([]float64, 9), Labels: []int{0, 1}, Size: 2}, `batch of 2 rows holds 9 values, want 8`},
		{"labels long", &datasets.Batch{X32: make([]float32, 8), Labels: []int{0, 1, 2}, Size: 2}, "3 labels for 2 rows"},
		{"label is the class count", &datasets.Batch{X32: make([]float32, 8), Labels: []int{3, 0}, Size: 2}, "row 0 has label 3, want 0..2 (the model has 3 outputs)"},
		{"negative label", &datasets.Batch{X32: make([]float32, 8), Labels: []int{0, -1}, Size: 2}, "row 1 has label -1"},
		{"both precisions", &datasets.Batch{X32: make([]float32, 8), X64: make([]float64, 8), Labels: []int{0, 1}, Size: 2}, "both float32 and float64"},
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
	if err == nil || !strings.Contains(err.Error(), "[4]") || !strings.Contains(err.Error(), "5 values") {
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
		if argmax(data[i*3:i*3+3]) == ds.Labels[i] {
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
// TrainStep, never a panic.
func TestSolverMisuseIsAnError(t *testing.T) {
	m := newModel(t, 0)
	ds := blobs(16, 2, false)
	b := &datasets.Batch{X32: ds.X32[:8*4], Labels: ds.Labels[:8], Size: 8}
	if _, err := m.TrainStep(nil, b); err == nil || !strings.Contains(err.Error(), "solver") {
		t.Errorf("TrainStep(nil solver): err = %v", err)
	}
	if _, err := m.TrainStep(panickySolver{}, b); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("TrainStep(panicking solver): err = %v", err)
	}
}
