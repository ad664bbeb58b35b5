package train

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
)

// tinyCNN reads the blobs' four features as a 1×2×2 image.
func tinyCNN() layers.Layer {
	return layers.Sequential(
		layers.Conv2D(4, 3, layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2),
		layers.Flatten(), layers.Dense(3))
}

// TestFindLRRestoresEverything runs the range test on an MLP with dropout
// and on a CNN, then trains one epoch, and requires the weights of that
// epoch to be bit-identical to those of a twin that never ran the test.
func TestFindLRRestoresEverything(t *testing.T) {
	cases := []struct {
		name  string
		layer func() layers.Layer
		shape []int
	}{
		{"mlp with dropout", func() layers.Layer { return mlp(0.2) }, []int{4}},
		{"cnn", tinyCNN, []int{1, 2, 2}},
	}
	data := blobs(120, 5, false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build := func() (*graph.Model, G.Solver) {
				m, err := graph.New(c.layer(), graph.WithInputShape(c.shape...), graph.WithTrainBatchSize(8), graph.WithSeed(3))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m, newAdam(t)
			}
			ctx := context.Background()
			tested, testedSolver := build()
			twin, twinSolver := build()
			// A first epoch for both, so that the solver has moments to
			// lose and the model a step count.
			for _, ms := range []struct {
				m *graph.Model
				s G.Solver
			}{{tested, testedSolver}, {twin, twinSolver}} {
				if _, err := Fit(ctx, ms.m, ms.s, data); err != nil {
					t.Fatal(err)
				}
			}
			before := weights(tested)
			state, _ := testedSolver.(StateMarshaler).MarshalState()
			res, err := FindLR(ctx, tested, testedSolver, data, callbacks.WithLRFinderSteps(40))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.LRs) < 20 || !(res.Suggestion > 1e-7 && res.Suggestion < 10) {
				t.Errorf("%d batches recorded (stop %q: %s), suggestion %v", len(res.LRs), res.Stop, res.Reason, res.Suggestion)
			}
			if got := weights(tested); !reflect.DeepEqual(got, before) {
				t.Fatal("weights differ after FindLR")
			}
			after, _ := testedSolver.(StateMarshaler).MarshalState()
			if !bytes.Equal(after, state) {
				t.Fatal("solver state differs after FindLR")
			}
			if tested.Steps() != twin.Steps() {
				t.Fatalf("model step %d after FindLR, want %d", tested.Steps(), twin.Steps())
			}
			for _, ms := range []struct {
				m *graph.Model
				s G.Solver
			}{{tested, testedSolver}, {twin, twinSolver}} {
				if _, err := Fit(ctx, ms.m, ms.s, data, WithDataSeed(9)); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(weights(tested), weights(twin)) {
				t.Error("training after FindLR differs from training without it")
			}
		})
	}
}

func TestFindLRIsDeterministic(t *testing.T) {
	data := blobs(90, 2, false)
	run := func() callbacks.LRFinderResult {
		m := newModel(t, 0)
		res, err := FindLR(context.Background(), m, newAdam(t), data, callbacks.WithLRFinderSteps(30))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a.Smoothed, b.Smoothed) || !reflect.DeepEqual(a.LRs, b.LRs) || a.SuggestionIndex != b.SuggestionIndex {
		t.Errorf("two runs differ: suggestions %v and %v", a.Suggestion, b.Suggestion)
	}
}

// TestFindLRDivergesAtHighRates: on a plain MLP, Adam at rates up to 1e3
// blows the loss up; the test ends as diverged, not as an error.
func TestFindLRDivergesAtHighRates(t *testing.T) {
	m := newModel(t, 0)
	res, err := FindLR(context.Background(), m, newAdam(t), blobs(240, 4, false),
		callbacks.WithLRFinderRange(1e-5, 1e3), callbacks.WithLRFinderSteps(60))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != callbacks.LRFinderDiverged || len(res.LRs) >= 60 {
		t.Errorf("stop %q after %d of 60 batches (%s), want diverged early", res.Stop, len(res.LRs), res.Reason)
	}
	if math.IsNaN(res.Suggestion) || res.Suggestion > 1 {
		t.Errorf("suggestion %v, want one below the divergence", res.Suggestion)
	}
}

func TestFindLRErrors(t *testing.T) {
	m := newModel(t, 0)
	data := blobs(30, 1, false)
	cases := []struct {
		name   string
		m      *graph.Model
		solver G.Solver
		opts   []callbacks.LRFinderOption
		want   string
	}{
		{"no model", nil, newAdam(t), nil, "needs a model and a solver"},
		{"stateless solver", m, G.NewVanillaSolver(), nil, "cannot set its learning rate"},
		{"bad option", m, newAdam(t), []callbacks.LRFinderOption{callbacks.WithLRFinderSteps(1)}, "steps = 1"},
	}
	for _, c := range cases {
		_, err := FindLR(context.Background(), c.m, c.solver, data, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FindLR(ctx, m, newAdam(t), data); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: got %v", err)
	}
}
