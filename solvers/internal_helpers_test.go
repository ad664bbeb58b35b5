package solvers

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type testParam struct {
	name string
	w, g *tensor.Dense
}

func (p *testParam) Value() G.Value         { return p.w }
func (p *testParam) Grad() (G.Value, error) { return p.g, nil }
func (p *testParam) Name() string           { return p.name }

// newTestParam returns a float64 parameter of zeros whose gradient is g.
func newTestParam(name string, g ...float64) *testParam {
	return &testParam{name: name,
		w: tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(len(g))),
		g: tensor.New(tensor.WithBacking(append([]float64(nil), g...)))}
}

func testVGs(ps ...*testParam) []G.ValueGrad {
	out := make([]G.ValueGrad, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}
