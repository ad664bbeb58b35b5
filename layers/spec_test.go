package layers_test

import (
	"encoding/json"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/adamant-ml/adamant/layers"
)

// TestSpecRoundTrip: every stock layer describes itself, the description
// survives JSON, and the layer built from it describes itself the same way.
func TestSpecRoundTrip(t *testing.T) {
	model := layers.Sequential(
		layers.Conv2D(4, 3, layers.WithStride(2), layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2, layers.WithStride(1)),
		layers.Flatten(), layers.Dense(10), layers.LeakyReLU(0.1), layers.Dropout(0.25), layers.Dense(8, layers.WithoutBias()),
		layers.ELU(0.7), layers.Sigmoid(), layers.Tanh(), layers.Sequential(layers.Dense(3), layers.Softmax()), layers.LogSoftmax(),
	)
	spec, err := layers.SpecOf(model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var decoded layers.Spec
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := layers.LayerFromSpec(decoded)
	if err != nil {
		t.Fatal(err)
	}
	again, err := layers.SpecOf(rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(again)
	if string(b) != string(b2) {
		t.Fatalf("description changed in the round trip:\n%s\n%s", b, b2)
	}
	if n := len(spec.Layers); n != 13 || spec.Layers[7].Params["bias"] != 0 || spec.Layers[0].Params["stride"] != 2 {
		t.Errorf("description of %d layers: %s", n, b)
	}
}

func TestSpecErrorsNameTheLayer(t *testing.T) {
	custom := layers.LayerFunc(func(_ *layers.Scope, x *G.Node) (*G.Node, error) { return x, nil })
	if _, err := layers.SpecOf(layers.Sequential(layers.Dense(3), custom)); err == nil || !strings.Contains(err.Error(), "Sequential layer 1") {
		t.Errorf("SpecOf with a LayerFunc: err = %v, want its position named", err)
	}
	for _, tt := range []struct {
		spec layers.Spec
		want string
	}{
		{layers.Spec{Kind: "Transformer"}, `no layer of kind "Transformer"`},
		{layers.Spec{Kind: "Dense"}, `setting "units"`},
		{layers.Spec{Kind: "Dense", Params: map[string]float64{"units": 2.5}}, `setting "units" is 2.5, want an integer`},
		{layers.Spec{Kind: "Sequential", Layers: []layers.Spec{{Kind: "ReLU"}, {Kind: "Conv2D"}}}, "layer 1"},
	} {
		if _, err := layers.LayerFromSpec(tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LayerFromSpec(%+v): err = %v, want %q", tt.spec, err, tt.want)
		}
	}
}
