package solvers_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/solvers"
)

// newParam returns a named float64 or float32 parameter holding w with a
// zero gradient.
func newParam(name string, dt tensor.Dtype, w ...float64) *benchParam {
	p := &benchParam{name: name}
	p.w = tensor.New(tensor.Of(dt), tensor.WithShape(len(w)))
	p.g = tensor.New(tensor.Of(dt), tensor.WithShape(len(w)))
	p.src = tensor.New(tensor.Of(dt), tensor.WithShape(len(w)))
	set(p.w, w)
	return p
}

func set(t *tensor.Dense, x []float64) {
	if t.Dtype() == tensor.Float32 {
		for i, v := range x {
			t.Float32s()[i] = float32(v)
		}
		return
	}
	copy(t.Float64s(), x)
}

func get(t *tensor.Dense) []float64 {
	if t.Dtype() == tensor.Float32 {
		out := make([]float64, t.Len())
		for i, v := range t.Float32s() {
			out[i] = float64(v)
		}
		return out
	}
	return append([]float64(nil), t.Float64s()...)
}

func vgs(ps ...*benchParam) []G.ValueGrad {
	out := make([]G.ValueGrad, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func mustAdam(t testing.TB, opts ...solvers.Option) *solvers.Adam {
	t.Helper()
	s, err := solvers.NewAdam(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewAdamValidation(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		opts []solvers.Option
		want string // "" for valid
	}{
		{"defaults", nil, ""},
		{"lr zero", []solvers.Option{solvers.WithLearnRate(0)}, ""},
		{"beta zero", []solvers.Option{solvers.WithBetas(0, 0)}, ""},
		{"everything", []solvers.Option{solvers.WithWeightDecay(0.1), solvers.WithDecoupledWeightDecay(), solvers.WithAMSGrad(),
			solvers.WithClipNorm(1), solvers.WithClipValue(1), solvers.WithKerasEpsilon(), solvers.WithMaximize(), solvers.WithWorkers(3),
			solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(0), solvers.WithLRMultiplier(2))}, ""},
		{"lr negative", []solvers.Option{solvers.WithLearnRate(-1)}, "learning rate = -1 is out of range [0, +Inf)"},
		{"lr NaN", []solvers.Option{solvers.WithLearnRate(nan)}, "learning rate = NaN"},
		{"lr Inf", []solvers.Option{solvers.WithLearnRate(inf)}, "learning rate = +Inf"},
		{"beta1 one", []solvers.Option{solvers.WithBetas(1, 0.999)}, "beta1 = 1 is out of range [0, 1)"},
		{"beta1 negative", []solvers.Option{solvers.WithBetas(-0.1, 0.999)}, "beta1 = -0.1"},
		{"beta2 one", []solvers.Option{solvers.WithBetas(0.9, 1)}, "beta2 = 1 is out of range [0, 1)"},
		{"beta2 NaN", []solvers.Option{solvers.WithBetas(0.9, nan)}, "beta2 = NaN"},
		{"eps zero", []solvers.Option{solvers.WithEpsilon(0)}, "epsilon = 0 is out of range (0, +Inf)"},
		{"eps negative", []solvers.Option{solvers.WithEpsilon(-1e-8)}, "epsilon = -1e-08"},
		{"eps Inf", []solvers.Option{solvers.WithEpsilon(inf)}, "epsilon = +Inf"},
		{"wd negative", []solvers.Option{solvers.WithWeightDecay(-0.01)}, "weight decay = -0.01 is out of range [0, +Inf)"},
		{"wd NaN", []solvers.Option{solvers.WithWeightDecay(nan)}, "weight decay = NaN"},
		{"clip norm zero", []solvers.Option{solvers.WithClipNorm(0)}, "clip norm = 0 is out of range (0, +Inf)"},
		{"clip norm Inf", []solvers.Option{solvers.WithClipNorm(inf)}, "clip norm = +Inf"},
		{"clip value negative", []solvers.Option{solvers.WithClipValue(-1)}, "clip value = -1 is out of range (0, +Inf)"},
		{"clip value NaN", []solvers.Option{solvers.WithClipValue(nan)}, "clip value = NaN"},
		{"workers zero", []solvers.Option{solvers.WithWorkers(0)}, "workers = 0 is out of range [1, +Inf)"},
		{"multiplier outside override", []solvers.Option{solvers.WithLRMultiplier(2)}, "only valid inside WithParamOverride"},
		{"override bad glob", []solvers.Option{solvers.WithParamOverride("[", solvers.WithWeightDecay(0))}, `pattern "[" is not a valid`},
		{"override not per-parameter", []solvers.Option{solvers.WithParamOverride("*/bias", solvers.WithAMSGrad(), solvers.WithBetas(0.5, 0.5))}, "sets WithBetas, WithAMSGrad; only WithWeightDecay and WithLRMultiplier"},
		{"override wd negative", []solvers.Option{solvers.WithParamOverride("*/bias", solvers.WithWeightDecay(-1))}, `override "*/bias": solvers: weight decay = -1`},
		{"override multiplier NaN", []solvers.Option{solvers.WithParamOverride("*", solvers.WithLRMultiplier(nan))}, "learning-rate multiplier = NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := solvers.NewAdam(c.opts...)
			if c.want == "" {
				if err != nil || s == nil {
					t.Fatalf("NewAdam: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewAdam accepted it; want an error containing %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), "solvers: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to start with \"solvers: \" and contain %q", err, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s := mustAdam(t)
	if got := s.String(); got != "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)" {
		t.Errorf("defaults: %s", got)
	}
	k := mustAdam(t, solvers.WithKerasEpsilon())
	if got := k.String(); !strings.Contains(got, "eps=1e-07") {
		t.Errorf("Keras default epsilon: %s", got)
	}
	k = mustAdam(t, solvers.WithKerasEpsilon(), solvers.WithEpsilon(1e-3))
	if got := k.String(); !strings.Contains(got, "eps=0.001") {
		t.Errorf("explicit epsilon under Keras: %s", got)
	}
}

func TestSetLearningRate(t *testing.T) {
	s := mustAdam(t)
	for _, lr := range []float64{0, 1e-5, 3} {
		if err := s.SetLearningRate(lr); err != nil || s.LearningRate() != lr {
			t.Errorf("SetLearningRate(%v): %v, LearningRate %v", lr, err, s.LearningRate())
		}
	}
	for _, lr := range []float64{-1e-9, math.NaN(), math.Inf(1)} {
		if err := s.SetLearningRate(lr); err == nil || !strings.Contains(err.Error(), "learning rate") {
			t.Errorf("SetLearningRate(%v) = %v, want an error", lr, err)
		}
		if s.LearningRate() != 3 {
			t.Errorf("a rejected rate changed the rate to %v", s.LearningRate())
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = s.SetLearningRate(0.5) }); a != 0 {
		t.Errorf("SetLearningRate allocates %v times", a)
	}
}

// refAdam is a direct float64 transcription of torch.optim.Adam/AdamW's
// single-tensor step, the reference for the tests below.
type refAdam struct {
	lr, b1, b2, eps, wd float64
	decoupled, amsgrad  bool
	m, v, vmax          []float64
	t                   int
}

func (r *refAdam) step(p, g []float64) {
	if r.m == nil {
		r.m, r.v, r.vmax = make([]float64, len(p)), make([]float64, len(p)), make([]float64, len(p))
	}
	r.t++
	bc1 := 1 - math.Pow(r.b1, float64(r.t))
	bc2 := 1 - math.Pow(r.b2, float64(r.t))
	for i := range p {
		gi := g[i]
		if r.decoupled {
			p[i] *= 1 - r.lr*r.wd
		} else {
			gi += r.wd * p[i]
		}
		r.m[i] = r.m[i]*r.b1 + (1-r.b1)*gi
		r.v[i] = r.v[i]*r.b2 + (1-r.b2)*gi*gi
		v := r.v[i]
		if r.amsgrad {
			r.vmax[i] = math.Max(r.vmax[i], v)
			v = r.vmax[i]
		}
		p[i] += -(r.lr / bc1) * r.m[i] / (math.Sqrt(v)/math.Sqrt(bc2) + r.eps)
	}
}

func closeTo(got, want []float64, tol float64) (int, bool) {
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*math.Max(math.Abs(want[i]), 1e-3) {
			return i, false
		}
	}
	return -1, true
}

// TestStepAgainstReference runs Adam, AdamW and AMSGrad in float32 and
// float64, with a learning rate that changes mid-run, against refAdam.
func TestStepAgainstReference(t *testing.T) {
	cases := []struct {
		name string
		opts []solvers.Option
		ref  refAdam
	}{
		{"adam", nil, refAdam{b1: 0.9, b2: 0.999, eps: 1e-8}},
		{"adam-l2", []solvers.Option{solvers.WithWeightDecay(0.05)}, refAdam{b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.05}},
		{"adamw", []solvers.Option{solvers.WithWeightDecay(0.05), solvers.WithDecoupledWeightDecay()}, refAdam{b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.05, decoupled: true}},
		{"amsgrad-betas", []solvers.Option{solvers.WithAMSGrad(), solvers.WithBetas(0.8, 0.99), solvers.WithEpsilon(1e-6)}, refAdam{b1: 0.8, b2: 0.99, eps: 1e-6, amsgrad: true}},
	}
	lrs := []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0, 0.01, 0.01, 0.2, 0.2}
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				w0 := make([]float64, 37) // 32 for the vector kernel, 5 for the tail
				for i := range w0 {
					w0[i] = rng.NormFloat64()
				}
				p := newParam("w", dt, w0...)
				s := mustAdam(t, c.opts...)
				ref := c.ref
				want := get(p.w) // float32-rounded start for float32
				tol := 1e-12
				if dt == tensor.Float32 {
					tol = 1e-4
				}
				for step, lr := range lrs {
					g := make([]float64, len(w0))
					for i := range g {
						g[i] = rng.NormFloat64()
					}
					set(p.g, g)
					g = get(p.g)
					if err := s.SetLearningRate(lr); err != nil {
						t.Fatal(err)
					}
					ref.lr = lr
					before := get(p.w)
					if err := s.Step(vgs(p)); err != nil {
						t.Fatal(err)
					}
					ref.step(want, g)
					if i, ok := closeTo(get(p.w), want, tol); !ok {
						t.Fatalf("step %d (lr %v), element %d: got %v, want %v", step, lr, i, get(p.w)[i], want[i])
					}
					if lr == 0 && !c.ref.decoupled && c.ref.wd == 0 {
						if i, ok := closeTo(get(p.w), before, 0); !ok {
							t.Fatalf("lr 0 moved element %d", i)
						}
					}
					for i, x := range get(p.g) {
						if x != 0 {
							t.Fatalf("step %d left gradient element %d = %v", step, i, x)
						}
					}
				}
				if s.Steps() != int64(len(lrs)) {
					t.Errorf("Steps() = %d, want %d", s.Steps(), len(lrs))
				}
			})
		}
	}
}

// TestKerasEpsilon checks Keras' update θ − α_t·m/(√v + ε̂) with
// α_t = lr·√(1−β2ᵗ)/(1−β1ᵗ) and the default ε̂ = 1e-7.
func TestKerasEpsilon(t *testing.T) {
	p := newParam("w", tensor.Float64, 1, -2, 0.5)
	s := mustAdam(t, solvers.WithKerasEpsilon(), solvers.WithLearnRate(0.01))
	want := []float64{1, -2, 0.5}
	m, v := make([]float64, 3), make([]float64, 3)
	for step := 1; step <= 4; step++ {
		g := []float64{1e-6 * float64(step), -3, 0.25}
		set(p.g, g)
		if err := s.Step(vgs(p)); err != nil {
			t.Fatal(err)
		}
		alpha := 0.01 * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step)))
		for i := range want {
			m[i] = 0.9*m[i] + 0.1*g[i]
			v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
			want[i] -= alpha * m[i] / (math.Sqrt(v[i]) + 1e-7)
		}
		if i, ok := closeTo(get(p.w), want, 1e-12); !ok {
			t.Fatalf("step %d element %d: got %v, want %v", step, i, get(p.w)[i], want[i])
		}
	}
}

// TestMaximize: ascending mirrors descending.
func TestMaximize(t *testing.T) {
	down, up := newParam("w", tensor.Float64, 0, 0), newParam("w", tensor.Float64, 0, 0)
	sd, su := mustAdam(t), mustAdam(t, solvers.WithMaximize())
	for step := 0; step < 3; step++ {
		set(down.g, []float64{0.3, -2})
		set(up.g, []float64{0.3, -2})
		if err := sd.Step(vgs(down)); err != nil {
			t.Fatal(err)
		}
		if err := su.Step(vgs(up)); err != nil {
			t.Fatal(err)
		}
	}
	d, u := get(down.w), get(up.w)
	for i := range d {
		if d[i] != -u[i] || d[i] == 0 {
			t.Errorf("element %d: descent %v, ascent %v", i, d[i], u[i])
		}
	}
}

// TestNonFiniteGradient: a NaN or Inf anywhere fails the step before
// anything changes, with the parameter and index in the message.
func TestNonFiniteGradient(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			a := newParam("dense/weight", dt, make([]float64, 40)...)
			b := newParam("dense_1/weight", dt, make([]float64, 40)...)
			s := mustAdam(t, solvers.WithAMSGrad(), solvers.WithClipNorm(1))
			g := make([]float64, 40)
			for i := range g {
				g[i] = float64(i) / 10
			}
			set(a.g, g)
			set(b.g, g)
			if err := s.Step(vgs(a, b)); err != nil {
				t.Fatal(err)
			}
			before, _ := s.MarshalState()
			wa, wb := get(a.w), get(b.w)
			set(a.g, g)
			g[17] = bad
			set(b.g, g)
			err := s.Step(vgs(a, b))
			want := fmt.Sprintf("solvers: gradient of dense_1/weight holds %v at index 17", bad)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("%v %v: error %v, want it to start with %q", bad, dt, err, want)
			}
			after, _ := s.MarshalState()
			if !bytes.Equal(before, after) {
				t.Errorf("%v %v: the failed step changed the solver state", bad, dt)
			}
			if i, ok := closeTo(get(a.w), wa, 0); !ok {
				t.Errorf("%v %v: the failed step changed dense/weight[%d]", bad, dt, i)
			}
			if i, ok := closeTo(get(b.w), wb, 0); !ok {
				t.Errorf("%v %v: the failed step changed dense_1/weight[%d]", bad, dt, i)
			}
			if get(a.g)[1] == 0 {
				t.Errorf("%v %v: the failed step zeroed the gradients", bad, dt)
			}
			if s.Steps() != 1 {
				t.Errorf("%v %v: Steps() = %d after a failed step", bad, dt, s.Steps())
			}
		}
	}
}
