package graph

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/losses"
)

// TestLoadRebuildsStockModels: a model of stock layers saved to a file is
// declared, compiled and filled again from that file alone, and predicts
// bit for bit what the original predicts.
func TestLoadRebuildsStockModels(t *testing.T) {
	tests := []struct {
		name  string
		model layers.Layer
		opts  []Option
	}{
		{"mlp", layers.Sequential(layers.Dense(16), layers.LeakyReLU(0.02), layers.Dropout(0.3), layers.Dense(8, layers.WithoutBias()), layers.ELU(0.5), layers.Dense(3)),
			[]Option{WithInputShape(4), WithTrainBatchSize(8), WithSeed(11)}},
		{"activations", layers.Sequential(layers.Dense(6), layers.Sigmoid(), layers.Dense(5), layers.Tanh(), layers.Dense(3), layers.LogSoftmax()),
			[]Option{WithInputShape(4), WithDtype(tensor.Float64), WithLoss(losses.MeanSquaredError()), WithEvalBatchSize(7)}},
		{"cnn", layers.Sequential(layers.Conv2D(3, 3, layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2),
			layers.Conv2D(2, 2, layers.WithStride(2)), layers.Flatten(), layers.Dense(3), layers.Softmax()),
			[]Option{WithInputShape(1, 4, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.model, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			path := filepath.Join(t.TempDir(), "model.weights")
			if err := m.SaveWeights(path); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if got.String() != m.String() || got.EvalBatchSize() != m.EvalBatchSize() || got.Seed() != m.Seed() {
				t.Fatalf("rebuilt model:\n%v (eval batch %d, seed %d)\nwant\n%v (eval batch %d, seed %d)", got, got.EvalBatchSize(), got.Seed(), m, m.EvalBatchSize(), m.Seed())
			}
			if fmtLoss(got) != fmtLoss(m) {
				t.Fatalf("rebuilt loss %s, want %s", fmtLoss(got), fmtLoss(m))
			}
			ds := blobs(10, 2, m.Dtype() == tensor.Float64)
			ds.ExampleShape = m.InputShape()
			if n := ds.FeatureLen(); n != 4 {
				ds = imageBlobs(10, n)
			}
			a, err := m.Predict(context.Background(), ds)
			if err != nil {
				t.Fatal(err)
			}
			b, err := got.Predict(context.Background(), ds)
			if err != nil {
				t.Fatal(err)
			}
			if !equalData(a.Data(), b.Data()) {
				t.Fatal("the rebuilt model predicts differently")
			}
		})
	}
}

func fmtLoss(m *Model) string { return strings.TrimSpace(fmt.Sprint(m.cfg.loss)) }

// imageBlobs is n examples of featureLen values (images), labels 0..2.
func imageBlobs(n, featureLen int) *datasets.Dataset {
	ds := blobs(n*featureLen/4+1, 3, false)
	return &datasets.Dataset{ExampleShape: []int{featureLen}, X32: ds.X32[:n*featureLen], Labels: ds.Labels[:n], Classes: 3}
}

// shout is a custom layer that describes itself.
type shout struct{ gain float64 }

func (s shout) Forward(sc *layers.Scope, x *G.Node) (*G.Node, error) {
	return G.Mul(x, G.NewConstant(float32(s.gain)))
}
func (s shout) Spec() layers.Spec {
	return layers.Spec{Kind: "graph_test.shout", Params: map[string]float64{"gain": s.gain}}
}

// TestLoadCustomLayers: a layer that cannot describe itself leaves a file
// that Load refuses with a message saying what to do; one that implements
// layers.Specifier and is registered is rebuilt.
func TestLoadCustomLayers(t *testing.T) {
	dir := t.TempDir()
	plain := layers.LayerFunc(func(_ *layers.Scope, x *G.Node) (*G.Node, error) { return x, nil })
	m, err := New(layers.Sequential(layers.Dense(3), plain), WithInputShape(4))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	path := filepath.Join(dir, "plain")
	if err := m.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "LoadWeights") {
		t.Fatalf("Load of an undescribed model: err = %v, want a pointer to LoadWeights", err)
	}
	if err := m.LoadWeights(path); err != nil {
		t.Fatalf("the weights of an undescribed model still load: %v", err)
	}

	c, err := New(layers.Sequential(layers.Dense(3), shout{gain: 2}), WithInputShape(4))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path = filepath.Join(dir, "custom")
	if err := c.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `"graph_test.shout"`) || !strings.Contains(err.Error(), "RegisterSpec") {
		t.Fatalf("Load before registering: err = %v, want the kind named and RegisterSpec suggested", err)
	}
	if err := layers.RegisterSpec("graph_test.shout", func(s layers.Spec) (layers.Layer, error) {
		return shout{gain: s.Params["gain"]}, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if err := layers.RegisterSpec("Dense", nil); err == nil {
		t.Error("RegisterSpec accepted a nil builder for a stock kind")
	}
}
