package solvers_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/solvers"
)

// run feeds steps seeded gradients to ps, setting the rate of each step
// from lrs (cycled), and returns the weights' bits afterwards.
func run(t *testing.T, s *solvers.Adam, ps []*benchParam, rng *rand.Rand, lrs []float64, steps int) {
	t.Helper()
	for i := 0; i < steps; i++ {
		for _, p := range ps {
			g := make([]float64, p.w.Len())
			for j := range g {
				g[j] = rng.NormFloat64()
			}
			set(p.g, g)
		}
		if err := s.SetLearningRate(lrs[i%len(lrs)]); err != nil {
			t.Fatal(err)
		}
		if err := s.Step(vgs(ps...)); err != nil {
			t.Fatal(err)
		}
	}
}

func cloneParams(ps []*benchParam) []*benchParam {
	var out []*benchParam
	for _, p := range ps {
		q := newParam(p.name, p.w.Dtype(), get(p.w)...)
		out = append(out, q)
	}
	return out
}

func sameBits(t *testing.T, what string, a, b []*benchParam) {
	t.Helper()
	for i := range a {
		x, y := get(a[i].w), get(b[i].w)
		for j := range x {
			if math.Float64bits(x[j]) != math.Float64bits(y[j]) {
				t.Fatalf("%s: %s[%d] = %v vs %v", what, a[i].name, j, x[j], y[j])
			}
		}
	}
}

// TestStateResumesBitIdentically: a solver restored from MarshalState,
// even one built with other settings, continues exactly as the original.
func TestStateResumesBitIdentically(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		opts := []solvers.Option{solvers.WithAMSGrad(), solvers.WithWeightDecay(0.01), solvers.WithDecoupledWeightDecay(),
			solvers.WithClipNorm(3), solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0))}
		ps := []*benchParam{newParam("dense/weight", dt, make([]float64, 50)...), newParam("dense/bias", dt, make([]float64, 5)...)}
		s := mustAdam(t, opts...)
		lrs := []float64{0.1, 0.05, 0.02}
		run(t, s, ps, rand.New(rand.NewPCG(1, 2)), lrs, 7)
		state, err := s.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		resumedPs := cloneParams(ps)
		r := mustAdam(t) // different settings: the state brings the saved ones
		if err := r.UnmarshalState(state); err != nil {
			t.Fatal(err)
		}
		if r.LearningRate() != s.LearningRate() || r.Steps() != 7 || r.String() != s.String() {
			t.Fatalf("restored %s (lr %v, %d steps), saved %s (lr %v)", r, r.LearningRate(), r.Steps(), s, s.LearningRate())
		}
		// The same gradients to both: the rng restarts at the same point.
		run(t, s, ps, rand.New(rand.NewPCG(9, 9)), lrs, 6)
		run(t, r, resumedPs, rand.New(rand.NewPCG(9, 9)), lrs, 6)
		sameBits(t, dt.String()+" resumed run", ps, resumedPs)
	}
}

func TestUnmarshalStateRejectsBadInput(t *testing.T) {
	s := mustAdam(t, solvers.WithAMSGrad())
	ps := []*benchParam{newParam("w", tensor.Float32, 1, 2, 3)}
	run(t, s, ps, rand.New(rand.NewPCG(1, 1)), []float64{0.1}, 2)
	good, _ := s.MarshalState()
	fresh := mustAdam(t, solvers.WithLearnRate(0.5))
	cases := map[string][]byte{
		"empty":     nil,
		"bad magic": []byte("not a state at all"),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte(nil), good...), 0),
		"header":    good[:30],
	}
	for name, b := range cases {
		if err := fresh.UnmarshalState(b); err == nil || !strings.HasPrefix(err.Error(), "solvers: ") {
			t.Errorf("%s: UnmarshalState = %v, want a solvers error", name, err)
		}
		if fresh.LearningRate() != 0.5 || fresh.Steps() != 0 {
			t.Errorf("%s: a rejected state changed the solver", name)
		}
	}
	// A state for other parameter sizes fails at the next Step, by name.
	if err := fresh.UnmarshalState(good); err != nil {
		t.Fatal(err)
	}
	other := newParam("w", tensor.Float32, 1, 2)
	err := fresh.Step(vgs(other))
	if err == nil || !strings.Contains(err.Error(), "parameter w") {
		t.Errorf("Step with a mismatched state: %v", err)
	}
}

// TestParamOverride: no decay on biases, and a learning-rate multiplier.
func TestParamOverride(t *testing.T) {
	w := newParam("dense/weight", tensor.Float64, 1, -2)
	b := newParam("dense/bias", tensor.Float64, 1, -2)
	frozen := newParam("head/weight", tensor.Float64, 1, -2)
	s := mustAdam(t, solvers.WithLearnRate(0.1), solvers.WithWeightDecay(0.5), solvers.WithDecoupledWeightDecay(),
		solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0)),
		solvers.WithParamOverride("head/*", solvers.WithLRMultiplier(0)))
	// Zero gradients: Adam's own step is 0/(0+ε) = 0, leaving only decay.
	if err := s.Step(vgs(w, b, frozen)); err != nil {
		t.Fatal(err)
	}
	if got := get(w.w); got[0] != 1*(1-0.1*0.5) || got[1] != -2*(1-0.1*0.5) {
		t.Errorf("decayed weight = %v", got)
	}
	if got := get(b.w); got[0] != 1 || got[1] != -2 {
		t.Errorf("bias decayed to %v; the override should exempt it", got)
	}
	if got := get(frozen.w); got[0] != 1 || got[1] != -2 {
		t.Errorf("lr multiplier 0 still moved head/weight to %v", got)
	}
}

// TestStateFollowsNames: the slice given to Step may change order; each
// parameter keeps its own moments.
func TestStateFollowsNames(t *testing.T) {
	mk := func() []*benchParam {
		return []*benchParam{newParam("a", tensor.Float64, 1, 2, 3), newParam("b", tensor.Float64, -1, 0.5)}
	}
	x, y := mk(), mk()
	sx, sy := mustAdam(t, solvers.WithLearnRate(0.1)), mustAdam(t, solvers.WithLearnRate(0.1))
	for step := 0; step < 4; step++ {
		for _, ps := range [][]*benchParam{x, y} {
			set(ps[0].g, []float64{0.1 * float64(step), -1, 2})
			set(ps[1].g, []float64{3, float64(step)})
		}
		if err := sx.Step(vgs(x[0], x[1])); err != nil {
			t.Fatal(err)
		}
		order := vgs(y[0], y[1])
		if step%2 == 1 {
			order = vgs(y[1], y[0])
		}
		if err := sy.Step(order); err != nil {
			t.Fatal(err)
		}
	}
	sameBits(t, "reordered", x, y)
}

// TestWorkersBitIdentical: sharing a step among goroutines changes no bit,
// with clipping (whose norm sums blocks) and on every GOMAXPROCS.
func TestWorkersBitIdentical(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var ref []*benchParam
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, workers := range []int{1, 2, 3} {
			ps, _ := mnistParams(tensor.Float32, 5)
			s := mustAdam(t, solvers.WithWorkers(workers), solvers.WithClipNorm(0.5), solvers.WithAMSGrad())
			run(t, s, ps, rand.New(rand.NewPCG(7, 7)), []float64{1e-3}, 3)
			if ref == nil {
				ref = ps
				continue
			}
			sameBits(t, "workers", ref, ps)
		}
	}
}

// TestStepDoesNotAllocate on the MNIST MLP after the first step.
func TestStepDoesNotAllocate(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, workers := range []int{1, 2} {
			ps, model := mnistParams(dt, 1)
			s := mustAdam(t, solvers.WithWorkers(workers), solvers.WithClipNorm(1), solvers.WithAMSGrad())
			fill := refill
			if dt == tensor.Float64 {
				fill = refill64
			}
			fill(ps)
			if err := s.Step(model); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				fill(ps)
				_ = s.SetLearningRate(s.LearningRate() * 0.99)
				if err := s.Step(model); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v, %d workers: Step allocates %v times", dt, workers, allocs)
			}
		}
	}
}

// badParam is a parameter that a solver cannot use.
type badParam struct {
	w, g G.Value
	err  error
}

func (p badParam) Value() G.Value         { return p.w }
func (p badParam) Grad() (G.Value, error) { return p.g, p.err }
func (p badParam) Name() string           { return "odd" }

func TestStepRejectsUnusableParameters(t *testing.T) {
	f32 := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(3))
	f64 := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(3))
	f64short := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2))
	ints := tensor.New(tensor.Of(tensor.Int), tensor.WithShape(3))
	cases := []struct {
		name string
		p    G.ValueGrad
		want string
	}{
		{"nil", nil, "is nil"},
		{"no gradient", badParam{w: f64, err: errNoGrad}, "has no gradient"},
		{"scalar value", badParam{w: G.NewF64(1), g: f64}, "want *tensor.Dense"},
		{"mixed dtypes", badParam{w: f64, g: f32}, "but its gradient is float32"},
		{"sizes", badParam{w: f64, g: f64short}, "has 3 values but its gradient 2"},
		{"ints", badParam{w: ints, g: ints}, "Adam supports float32 and float64"},
	}
	for _, c := range cases {
		err := mustAdam(t).Step([]G.ValueGrad{c.p})
		if err == nil || !strings.HasPrefix(err.Error(), "solvers: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

var errNoGrad = &gradErr{}

type gradErr struct{}

func (*gradErr) Error() string { return "no gradient" }
