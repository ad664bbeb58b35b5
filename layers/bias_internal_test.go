package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestBiasAddMatchesBroadcastAdd: the bias op and its row sum give exactly
// Gorgonia's BroadcastAdd and Sum over axis 0, bit for bit.
func TestBiasAddMatchesBroadcastAdd(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		rng := rand.New(rand.NewPCG(5, 6))
		rnd := func(shape ...int) *tensor.Dense { return randDense(rng, dt, shape...) }
		g := G.NewGraph()
		x := G.NewMatrix(g, dt, G.WithShape(37, 11), G.WithName("x"), G.WithValue(rnd(37, 11)))
		b := G.NewVector(g, dt, G.WithShape(11), G.WithName("b"), G.WithValue(rnd(11)))
		ours := G.Must(G.ApplyOp(biasAddOp{}, x, b))
		ref := G.Must(G.BroadcastAdd(x, b, nil, []byte{0}))
		sumOurs := G.Must(G.ApplyOp(newBiasGrad(2), x))
		sumRef := G.Must(G.Sum(x, 0))
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		m.Close()
		for _, pair := range [][2]*G.Node{{ours, ref}, {sumOurs, sumRef}} {
			got, want := pair[0].Value().(*tensor.Dense), pair[1].Value().(*tensor.Dense)
			if !got.Shape().Eq(want.Shape()) {
				t.Fatalf("%v: shape %v, want %v", pair[0].Name(), got.Shape(), want.Shape())
			}
			requireSameValues(t, fmt.Sprintf("%v %v", dt, pair[0].Name()), got, want)
		}
	}
}
