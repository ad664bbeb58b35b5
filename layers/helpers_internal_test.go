package layers

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense is a tensor of normal random values.
func randDense(rng *rand.Rand, dt tensor.Dtype, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.WithShape(shape...), tensor.Of(dt))
	switch v := d.Data().(type) {
	case []float32:
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	case []float64:
		for i := range v {
			v[i] = rng.NormFloat64()
		}
	}
	return d
}

// asFloat64s reads a float tensor's elements as float64s.
func asFloat64s(t *testing.T, v G.Value) []float64 {
	t.Helper()
	switch d := v.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	t.Fatalf("value %v is not a float tensor", v)
	return nil
}

// requireSameValues fails unless got and want hold the same elements, equal
// as numbers (float32s compare exactly through float64).
func requireSameValues(t *testing.T, what string, got, want G.Value) {
	t.Helper()
	g, w := asFloat64s(t, got), asFloat64s(t, want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d elements, want %d", what, len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("%s: element %d = %v, want %v", what, i, g[i], w[i])
		}
	}
}
