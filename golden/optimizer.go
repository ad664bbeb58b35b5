package golden

import (
	"bytes"
	"math"
	"sort"
	"strings"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/solvers"
)

func init() { Register("optimizer", checkOptimizer) }

// optimizerFile is the "optimizer" kind: PyTorch's Adam or AdamW with its
// constructor arguments, the initial parameters, and per step the gradient
// fed, the learning rate in force and the parameters after the step.
type optimizerFile struct {
	Optimizer string         `json:"optimizer"`
	Options   map[string]any `json:"options"`
	Init      []float64      `json:"init"`
	Grads     [][]float64    `json:"grads"`
	LRs       []float64      `json:"lrs"`
	Params    [][]float64    `json:"params"`
}

// The golden README's bounds for optimizer trajectories.
const (
	optTol64 = 1e-8
	optTol32 = 1e-3
)

// adamOptions maps a golden file's PyTorch optimizer class ("Adam" or
// "AdamW", in any case) and constructor arguments to solvers options.
// Every argument of torch.optim.Adam and AdamW 1.13.1 is accepted: lr,
// betas, eps, weight_decay, amsgrad and maximize change the math;
// foreach, capturable, differentiable and fused only choose PyTorch's
// implementation and are accepted with any boolean value (or null). A JSON
// null means PyTorch's default. Unknown arguments are an error naming them.
// AdamW's weight_decay defaults to 0.01, as in PyTorch.
func adamOptions(optimizer string, options map[string]any) ([]solvers.Option, error) {
	var opts []solvers.Option
	wd := 0.0
	switch strings.ToLower(optimizer) {
	case "adam":
	case "adamw":
		wd = 0.01
		opts = append(opts, solvers.WithDecoupledWeightDecay())
	default:
		return nil, errors.Errorf("optimizer %q is not Adam or AdamW", optimizer)
	}
	a := optArgs{class: optimizer, m: options}
	if v, ok := a.number("lr"); ok {
		opts = append(opts, solvers.WithLearnRate(v))
	}
	if b, ok := a.pair("betas"); ok {
		opts = append(opts, solvers.WithBetas(b[0], b[1]))
	}
	if v, ok := a.number("eps"); ok {
		opts = append(opts, solvers.WithEpsilon(v))
	}
	if v, ok := a.number("weight_decay"); ok {
		wd = v
	}
	if wd != 0 {
		opts = append(opts, solvers.WithWeightDecay(wd))
	}
	if a.boolean("amsgrad") {
		opts = append(opts, solvers.WithAMSGrad())
	}
	if a.boolean("maximize") {
		opts = append(opts, solvers.WithMaximize())
	}
	for _, k := range []string{"foreach", "capturable", "differentiable", "fused"} {
		a.boolean(k)
	}
	if err := a.done(); err != nil {
		return nil, err
	}
	return opts, nil
}

// optArgs reads PyTorch keyword arguments decoded by encoding/json into a
// map[string]any, remembering the first error and which keys were read.
type optArgs struct {
	class string
	m     map[string]any
	used  []string
	err   error
}

func (a *optArgs) get(name string) (any, bool) {
	a.used = append(a.used, name)
	v, ok := a.m[name]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

func (a *optArgs) fail(name string, v any, want string) {
	if a.err == nil {
		a.err = errors.Errorf("%s: argument %s = %v, want %s", a.class, name, v, want)
	}
}

func (a *optArgs) number(name string) (float64, bool) {
	v, ok := a.get(name)
	if !ok {
		return 0, false
	}
	f, isNum := v.(float64)
	if !isNum {
		a.fail(name, v, "a number")
		return 0, false
	}
	return f, true
}

func (a *optArgs) pair(name string) ([2]float64, bool) {
	v, ok := a.get(name)
	if !ok {
		return [2]float64{}, false
	}
	l, isList := v.([]any)
	if isList && len(l) == 2 {
		x, ok1 := l[0].(float64)
		y, ok2 := l[1].(float64)
		if ok1 && ok2 {
			return [2]float64{x, y}, true
		}
	}
	a.fail(name, v, "a list of two numbers")
	return [2]float64{}, false
}

func (a *optArgs) boolean(name string) bool {
	v, ok := a.get(name)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		a.fail(name, v, "true or false")
	}
	return b
}

func (a *optArgs) done() error {
	if a.err != nil {
		return a.err
	}
	var unknown []string
	for k := range a.m {
		known := false
		for _, u := range a.used {
			known = known || u == k
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return errors.Errorf("%s: unknown argument(s) %s (known: lr, betas, eps, weight_decay, amsgrad, maximize, foreach, capturable, differentiable, fused)", a.class, strings.Join(unknown, ", "))
	}
	return nil
}

// goldenParam is a parameter outside any graph: a value and a gradient,
// which is all gorgonia.Solver needs.
type goldenParam struct {
	w, g *tensor.Dense
}

func (p *goldenParam) Value() G.Value            { return p.w }
func (p *goldenParam) Grad() (G.Value, error)    { return p.g, nil }
func (p *goldenParam) Name() string              { return "param" }
func (p *goldenParam) valueGrads() []G.ValueGrad { return []G.ValueGrad{p} }

// checkOptimizer replays a file's gradients through solvers.Adam and
// reports three variants: "float64", "float64-resumed" (the solver's
// state goes through MarshalState/UnmarshalState into a fresh solver
// halfway, and the run must then be bit-identical to the uninterrupted
// one) and "float32" (float32 parameters and moments, gradients rounded
// to float32).
func checkOptimizer(f *File) ([]Result, error) {
	var of optimizerFile
	if err := f.Decode(&of); err != nil {
		return nil, err
	}
	n := len(of.Init)
	if n == 0 || len(of.Grads) == 0 || len(of.Grads) != len(of.LRs) || len(of.Grads) != len(of.Params) {
		return nil, errors.Errorf("golden: %s: %d init values, %d grads, %d lrs, %d params: want init and equally many of the rest", f.Path, n, len(of.Grads), len(of.LRs), len(of.Params))
	}
	for t := range of.Grads {
		if len(of.Grads[t]) != n || len(of.Params[t]) != n {
			return nil, errors.Errorf("golden: %s: step %d has %d grads and %d params for %d init values", f.Path, t, len(of.Grads[t]), len(of.Params[t]), n)
		}
	}
	opts, err := adamOptions(of.Optimizer, of.Options)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s", f.Path)
	}
	whole, err := replay(of, opts, tensor.Float64, -1)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s", f.Path)
	}
	resumed, err := replay(of, opts, tensor.Float64, len(of.Grads)/2)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s: resumed run", f.Path)
	}
	for t := range whole.traj {
		for i := range whole.traj[t] {
			if math.Float64bits(whole.traj[t][i]) != math.Float64bits(resumed.traj[t][i]) {
				return nil, errors.Errorf("golden: %s: the resumed run differs from the uninterrupted one at step %d, element %d: %v vs %v", f.Path, t, i, resumed.traj[t][i], whole.traj[t][i])
			}
		}
	}
	single, err := replay(of, opts, tensor.Float32, -1)
	if err != nil {
		return nil, errors.Wrapf(err, "golden: %s: float32", f.Path)
	}
	return []Result{
		{Variant: "float64", MaxRelErr: whole.worst, Tolerance: optTol64},
		{Variant: "float64-resumed", MaxRelErr: resumed.worst, Tolerance: optTol64},
		{Variant: "float32", MaxRelErr: single.worst, Tolerance: optTol32},
	}, nil
}

type replayResult struct {
	traj  [][]float64 // parameters after each step
	worst float64
}

// replay runs the file's steps in dtype. With resumeAt ≥ 0 the solver is
// replaced, before step resumeAt, by a fresh one restored from the old
// one's state, as a run resumed from a checkpoint would be.
func replay(of optimizerFile, opts []solvers.Option, dtype tensor.Dtype, resumeAt int) (replayResult, error) {
	var res replayResult
	n := len(of.Init)
	p := &goldenParam{}
	if dtype == tensor.Float64 {
		p.w = tensor.New(tensor.WithBacking(append([]float64(nil), of.Init...)))
		p.g = tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(n))
	} else {
		p.w = tensor.New(tensor.WithBacking(toFloat32(of.Init)))
		p.g = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n))
	}
	solver, err := solvers.NewAdam(opts...)
	if err != nil {
		return res, err
	}
	vgs := p.valueGrads()
	for t := range of.Grads {
		if t == resumeAt {
			state, err := solver.MarshalState()
			if err != nil {
				return res, err
			}
			// A fresh solver with the lr the run started with: the state
			// must bring back the rate in force.
			if solver, err = solvers.NewAdam(opts...); err != nil {
				return res, err
			}
			if err := solver.UnmarshalState(bytes.Clone(state)); err != nil {
				return res, err
			}
		}
		if err := solver.SetLearningRate(of.LRs[t]); err != nil {
			return res, errors.Wrapf(err, "step %d", t)
		}
		if dtype == tensor.Float64 {
			copy(p.g.Float64s(), of.Grads[t])
		} else {
			copy(p.g.Float32s(), toFloat32(of.Grads[t]))
		}
		if err := solver.Step(vgs); err != nil {
			return res, errors.Wrapf(err, "step %d", t)
		}
		got := make([]float64, n)
		if dtype == tensor.Float64 {
			copy(got, p.w.Float64s())
			for _, g := range p.g.Float64s() {
				if g != 0 {
					return res, errors.Errorf("step %d left the gradient unzeroed", t)
				}
			}
		} else {
			for i, x := range p.w.Float32s() {
				got[i] = float64(x)
			}
			for _, g := range p.g.Float32s() {
				if g != 0 {
					return res, errors.Errorf("step %d left the gradient unzeroed", t)
				}
			}
		}
		res.traj = append(res.traj, got)
		res.worst = math.Max(res.worst, MaxRelErr(got, of.Params[t]))
	}
	return res, nil
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
