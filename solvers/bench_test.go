package solvers_test

import (
	"math/rand/v2"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/solvers"
)

// mnistShapes are the MNIST MLP's parameters (784→128→10): 101,770 values.
var mnistShapes = []struct {
	name  string
	shape []int
}{
	{"dense/weight", []int{784, 128}},
	{"dense/bias", []int{128}},
	{"dense_1/weight", []int{128, 10}},
	{"dense_1/bias", []int{10}},
}

// benchParam is a parameter outside a graph, as a tape machine leaves it:
// a value and an accumulated gradient.
type benchParam struct {
	name string
	w, g *tensor.Dense
	src  *tensor.Dense // the gradient to restore before every step
}

func (p *benchParam) Value() G.Value         { return p.w }
func (p *benchParam) Grad() (G.Value, error) { return p.g, nil }
func (p *benchParam) Name() string           { return p.name }

// mnistParams returns the MLP's parameters with seeded weights and
// gradients of a realistic scale.
func mnistParams(dt tensor.Dtype, seed uint64) ([]*benchParam, []G.ValueGrad) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ps []*benchParam
	var vgs []G.ValueGrad
	for _, s := range mnistShapes {
		p := &benchParam{name: s.name}
		for _, t := range []**tensor.Dense{&p.w, &p.g, &p.src} {
			*t = tensor.New(tensor.Of(dt), tensor.WithShape(s.shape...))
		}
		for i := 0; i < p.w.Len(); i++ {
			w, g := rng.NormFloat64()*0.05, rng.NormFloat64()*0.01
			if dt == tensor.Float32 {
				p.w.Float32s()[i], p.src.Float32s()[i] = float32(w), float32(g)
			} else {
				p.w.Float64s()[i], p.src.Float64s()[i] = w, g
			}
		}
		ps = append(ps, p)
		vgs = append(vgs, p)
	}
	return ps, vgs
}

// refill restores every gradient, which the previous step zeroed. Feeding
// zeros instead would let the moments decay into subnormal numbers, which
// are slow and not what training sees.
func refill(ps []*benchParam) {
	for _, p := range ps {
		copy(p.g.Float32s(), p.src.Float32s())
	}
}

func refill64(ps []*benchParam) {
	for _, p := range ps {
		copy(p.g.Float64s(), p.src.Float64s())
	}
}

// benchSolver times s.Step on the MNIST MLP's parameters. Every step needs
// fresh gradients (the previous one zeroed them); refilling them is timed
// with time.Now and reported apart, as ns/step without it, rather than
// excluded with StopTimer and StartTimer: their runtime.ReadMemStats stops
// the world twice per step, which parks the pool's polling workers, so a
// shared step would pay for thread wake-ups that a training loop, which
// does not stop the world between steps, does not.
func benchSolver(b *testing.B, dt tensor.Dtype, s G.Solver) {
	ps, vgs := mnistParams(dt, 7)
	fill := refill
	if dt == tensor.Float64 {
		fill = refill64
	}
	fill(ps)
	if err := s.Step(vgs); err != nil { // first step allocates the state
		b.Fatal(err)
	}
	var refilling time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		fill(ps)
		refilling += time.Since(start)
		if err := s.Step(vgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((b.Elapsed()-refilling).Nanoseconds())/float64(b.N), "ns/step")
}

func newBenchAdam(b *testing.B, opts ...solvers.Option) *solvers.Adam {
	s, err := solvers.NewAdam(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAdamStep is one step of solvers.Adam on the MNIST MLP's
// float32 parameters, on the calling goroutine alone, so that it times the
// kernels whatever the machine's cores; the Default benchmark uses them.
func BenchmarkAdamStep(b *testing.B) {
	benchSolver(b, tensor.Float32, newBenchAdam(b, solvers.WithWorkers(1)))
}

// BenchmarkAdamStepDefault is the step with the default WithWorkers: as
// many goroutines as there are CPUs.
func BenchmarkAdamStepDefault(b *testing.B) {
	benchSolver(b, tensor.Float32, newBenchAdam(b))
}

// BenchmarkAdamStepTwoWorkers is the same step shared by two goroutines.
func BenchmarkAdamStepTwoWorkers(b *testing.B) {
	benchSolver(b, tensor.Float32, newBenchAdam(b, solvers.WithWorkers(2)))
}

// BenchmarkAdamStepFloat64 is the step on float64 parameters, on one
// goroutine.
func BenchmarkAdamStepFloat64(b *testing.B) {
	benchSolver(b, tensor.Float64, newBenchAdam(b, solvers.WithWorkers(1)))
}

// BenchmarkAdamWStepClipped is the general path: decoupled decay with an
// override, AMSGrad and clipping by norm and value, on one goroutine.
func BenchmarkAdamWStepClipped(b *testing.B) {
	benchSolver(b, tensor.Float32, newBenchAdam(b, solvers.WithWorkers(1),
		solvers.WithWeightDecay(1e-2), solvers.WithDecoupledWeightDecay(), solvers.WithAMSGrad(),
		solvers.WithClipNorm(1), solvers.WithClipValue(0.5),
		solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0))))
}

// BenchmarkGorgoniaAdamStep is Gorgonia's built-in AdamSolver on the same
// parameters, the solver Adam replaces.
func BenchmarkGorgoniaAdamStep(b *testing.B) {
	benchSolver(b, tensor.Float32, G.NewAdamSolver(G.WithLearnRate(1e-3)))
}

// BenchmarkGorgoniaAdamStepFloat64 is the built-in solver in float64.
func BenchmarkGorgoniaAdamStepFloat64(b *testing.B) {
	benchSolver(b, tensor.Float64, G.NewAdamSolver(G.WithLearnRate(1e-3)))
}

// BenchmarkAdamStepFloat64TwoWorkers is the float64 step shared by two
// goroutines.
func BenchmarkAdamStepFloat64TwoWorkers(b *testing.B) {
	benchSolver(b, tensor.Float64, newBenchAdam(b, solvers.WithWorkers(2)))
}
