package golden

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
)

func init() { Register("mlp", checkMLP) }

// mlpFile is the "mlp" kind: a 2-layer MLP trained full-batch with Adam.
type mlpFile struct {
	Activation string         `json:"activation"`
	Optimizer  string         `json:"optimizer"`
	Options    map[string]any `json:"options"`
	X          [][]float64    `json:"x"`
	Labels     []int          `json:"labels"`
	Classes    int            `json:"classes"`
	InitRaw    map[string]any `json:"init"`
	Losses     []float64      `json:"losses"`
	Final      map[string]any `json:"final"`
}

// activationLayer maps the golden files' activation names to layers.
func activationLayer(name string) (layers.Layer, error) {
	switch name {
	case "relu":
		return layers.ReLU(), nil
	case "leaky_relu":
		return layers.LeakyReLU(0.01), nil
	case "elu":
		return layers.ELU(1), nil
	case "tanh":
		return layers.Tanh(), nil
	case "sigmoid":
		return layers.Sigmoid(), nil
	}
	return nil, errors.Errorf("activation %q is not one of relu, leaky_relu, elu, tanh, sigmoid", name)
}

// flatten turns a JSON number, vector or matrix into a flat row-major slice.
func flatten(v any) ([]float64, error) {
	switch x := v.(type) {
	case float64:
		return []float64{x}, nil
	case []any:
		var out []float64
		for _, e := range x {
			f, err := flatten(e)
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
		}
		return out, nil
	}
	return nil, errors.Errorf("unexpected JSON value %T in weights", v)
}

// checkMLP rebuilds the MLP from its init weights through graph/, trains it
// with solvers.Adam and compares every loss and the final weights.
func checkMLP(f *File) ([]Result, error) {
	var g mlpFile
	if err := f.Decode(&g); err != nil {
		return nil, err
	}
	act, err := activationLayer(g.Activation)
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	opts, err := adamOptions(g.Optimizer, g.Options)
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	if len(g.X) == 0 || len(g.X) != len(g.Labels) {
		return nil, errors.Errorf("%s: %d rows of x for %d labels", f.Path, len(g.X), len(g.Labels))
	}
	w1, err := flatten(g.InitRaw["w1"])
	if err != nil {
		return nil, err
	}
	inputs, rows := len(g.X[0]), len(g.X)
	hidden := len(w1) / inputs
	model, err := graph.New(
		layers.Sequential(layers.Dense(hidden), act, layers.Dense(g.Classes)),
		graph.WithInputShape(inputs), graph.WithDtype(tensor.Float64), graph.WithTrainBatchSize(rows),
	)
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	defer model.Close()
	names := []string{"w1", "b1", "w2", "b2"}
	params := model.Params()
	if len(params) != len(names) {
		return nil, errors.Errorf("%s: model has %d parameters, the file %d", f.Path, len(params), len(names))
	}
	for i, p := range params {
		init, err := flatten(g.InitRaw[names[i]])
		if err != nil {
			return nil, errors.Wrapf(err, "%s: init %s", f.Path, names[i])
		}
		dst := p.Value.Data().([]float64)
		if len(init) != len(dst) {
			return nil, errors.Errorf("%s: init %s has %d values, parameter %s %d", f.Path, names[i], len(init), p.Name, len(dst))
		}
		copy(dst, init)
	}
	solver, err := solvers.NewAdam(opts...)
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	batch := &datasets.Batch{Labels: g.Labels, Size: rows}
	for _, row := range g.X {
		batch.X64 = append(batch.X64, row...)
	}
	worst := 0.0
	for t, want := range g.Losses {
		res, err := model.TrainStep(solver, batch)
		if err != nil {
			return nil, errors.Wrapf(err, "%s: step %d", f.Path, t)
		}
		worst = max(worst, RelErr(res.Loss, want))
	}
	for i, p := range params {
		want, err := flatten(g.Final[names[i]])
		if err != nil {
			return nil, errors.Wrapf(err, "%s: final %s", f.Path, names[i])
		}
		worst = max(worst, MaxRelErr(p.Value.Data().([]float64), want))
	}
	return []Result{{Variant: "float64", MaxRelErr: worst, Tolerance: 1e-8}}, nil
}
