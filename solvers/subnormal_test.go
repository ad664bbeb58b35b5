package solvers

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stoppedGrad is a parameter whose gradient is random for the first steps
// and zero afterwards, like the weights of a blank pixel or a dead unit.
type stoppedGrad struct{ v, g *tensor.Dense }

func (s *stoppedGrad) Value() G.Value         { return s.v }
func (s *stoppedGrad) Grad() (G.Value, error) { return s.g, nil }
func (s *stoppedGrad) Name() string           { return "dense/weight" }

func newStoppedGrad(dt tensor.Dtype) *stoppedGrad {
	return &stoppedGrad{
		v: tensor.New(tensor.WithShape(784, 128), tensor.Of(dt)),
		g: tensor.New(tensor.WithShape(784, 128), tensor.Of(dt)),
	}
}

// step fills the gradient (random while live) and takes one step.
func (s *stoppedGrad) step(tb testing.TB, a *Adam, rng *rand.Rand, live bool) {
	if live {
		switch g := s.g.Data().(type) {
		case []float32:
			for i := range g {
				g[i] = float32(rng.NormFloat64() * 1e-3)
			}
		case []float64:
			for i := range g {
				g[i] = rng.NormFloat64() * 1e-3
			}
		}
	}
	if err := a.Step([]G.ValueGrad{s}); err != nil {
		tb.Fatal(err)
	}
}

// TestMomentsNeverSubnormal: once the gradients stop, the moments decay to
// zero instead of sticking at the smallest subnormal (which made every
// later step 15× slower on x86).
func TestMomentsNeverSubnormal(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		t.Run(dt.String(), func(t *testing.T) {
			a, err := NewAdam()
			if err != nil {
				t.Fatal(err)
			}
			s := newStoppedGrad(dt)
			rng := rand.New(rand.NewPCG(1, 2))
			steps := 1500 // m = β1ᵗ·m₀ passes 1e-38 near step 800
			if dt == tensor.Float64 {
				steps = 8000 // and 1e-308 near step 6700
			}
			for i := 0; i < steps; i++ {
				s.step(t, a, rng, i < 20)
			}
			st := a.states["dense/weight"]
			check := func(name string, xs any) {
				switch xs := xs.(type) {
				case []float32:
					for i, x := range xs {
						if x != 0 && math.Abs(float64(x)) < 0x1p-126 {
							t.Fatalf("%s[%d] = %g is subnormal", name, i, x)
						}
					}
				case []float64:
					for i, x := range xs {
						if x != 0 && math.Abs(x) < 0x1p-1022 {
							t.Fatalf("%s[%d] = %g is subnormal", name, i, x)
						}
					}
				}
			}
			if dt == tensor.Float32 {
				check("m", st.m32)
				check("v", st.v32)
			} else {
				check("m", st.m64)
				check("v", st.v64)
			}
		})
	}
}

// BenchmarkAdamStepAfterGradientsStop times steps long after the gradients
// of a 784×128 float32 weight stopped: the moments have decayed away. One
// goroutine, to compare with BenchmarkAdamStep.
func BenchmarkAdamStepAfterGradientsStop(b *testing.B) {
	a, err := NewAdam(WithWorkers(1))
	if err != nil {
		b.Fatal(err)
	}
	s := newStoppedGrad(tensor.Float32)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1500; i++ {
		s.step(b, a, rng, i < 20)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.step(b, a, rng, false)
	}
}

// TestGradNorm: the reported norm is the L2 norm of all gradients of the
// step, before clipping.
func TestGradNorm(t *testing.T) {
	a, err := NewAdam(WithClipNorm(0.5))
	if err != nil {
		t.Fatal(err)
	}
	s := newStoppedGrad(tensor.Float64)
	g := s.g.Float64s()
	g[0], g[1] = 3, 4
	if err := a.Step([]G.ValueGrad{s}); err != nil {
		t.Fatal(err)
	}
	if got := a.GradNorm(); got != 5 {
		t.Errorf("GradNorm = %v, want 5 (before clipping to 0.5)", got)
	}
}
