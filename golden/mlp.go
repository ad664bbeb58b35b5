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
	if len(g.X) == 0 || len(g.X) != len(g.Labels) {
		return nil, errors.Errorf("%s: %d rows of x for %d labels", f.Path, len(g.X), len(g.Labels))
	}
	names := []string{"w1", "b1", "w2", "b2"}
	var init, final [][]float64
	for _, name := range names {
		i, err := flatten(g.InitRaw[name])
		if err != nil {
			return nil, errors.Wrapf(err, "%s: init %s", f.Path, name)
		}
		w, err := flatten(g.Final[name])
		if err != nil {
			return nil, errors.Wrapf(err, "%s: final %s", f.Path, name)
		}
		init, final = append(init, i), append(final, w)
	}
	inputs, rows := len(g.X[0]), len(g.X)
	hidden := len(init[0]) / inputs
	model, err := graph.New(
		layers.Sequential(layers.Dense(hidden), act, layers.Dense(g.Classes)),
		graph.WithInputShape(inputs), graph.WithDtype(tensor.Float64), graph.WithTrainBatchSize(rows),
	)
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	defer model.Close()
	batch := &datasets.Batch{Labels: g.Labels, Size: rows}
	for _, row := range g.X {
		batch.X64 = append(batch.X64, row...)
	}
	return trainAgainst(f.Path, model, g.Optimizer, g.Options, batch, init, g.Losses, final)
}

// trainAgainst loads init into the model's parameters (in creation order),
// trains it full-batch with solvers.Adam configured like the file's
// PyTorch optimizer, one step per recorded loss, and returns the worst
// relative error over the losses before each step and the final weights.
func trainAgainst(path string, model *graph.Model, optimizer string, options map[string]any, batch *datasets.Batch, init [][]float64, losses []float64, final [][]float64) ([]Result, error) {
	opts, err := adamOptions(optimizer, options)
	if err != nil {
		return nil, errors.Wrap(err, path)
	}
	params := model.Params()
	if len(params) != len(init) {
		return nil, errors.Errorf("%s: the model has %d parameters, the file %d", path, len(params), len(init))
	}
	for i, p := range params {
		dst := p.Value.Data().([]float64)
		if len(init[i]) != len(dst) {
			return nil, errors.Errorf("%s: init tensor %d has %d values, parameter %s of shape %v %d", path, i, len(init[i]), p.Name, p.Value.Shape(), len(dst))
		}
		copy(dst, init[i])
	}
	solver, err := solvers.NewAdam(opts...)
	if err != nil {
		return nil, errors.Wrap(err, path)
	}
	worst := 0.0
	for t, want := range losses {
		res, err := model.TrainStep(solver, batch)
		if err != nil {
			return nil, errors.Wrapf(err, "%s: step %d", path, t)
		}
		worst = max(worst, RelErr(res.Loss, want))
	}
	for i, p := range params {
		worst = max(worst, MaxRelErr(p.Value.Data().([]float64), final[i]))
	}
	return []Result{{Variant: "float64", MaxRelErr: worst, Tolerance: 1e-8}}, nil
}
