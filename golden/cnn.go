package golden

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
)

func init() { Register("cnn", checkCNN) }

// cnnFile is the "cnn" kind: a convolutional network described layer by
// layer, trained full-batch with Adam or AdamW.
type cnnFile struct {
	InputShape []int          `json:"input_shape"`
	Layers     []cnnLayer     `json:"layers"`
	Optimizer  string         `json:"optimizer"`
	Options    map[string]any `json:"options"`
	X          any            `json:"x"`
	Labels     []int          `json:"labels"`
	Init       []namedTensor  `json:"init"`
	Losses     []float64      `json:"losses"`
	Final      []namedTensor  `json:"final"`
}

// cnnLayer is one entry of a cnn file's "layers": a type and the fields
// that type uses.
type cnnLayer struct {
	Type    string `json:"type"`
	Filters int    `json:"filters"`
	Kernel  int    `json:"kernel"`
	Stride  *int   `json:"stride"`
	Padding int    `json:"padding"`
	Units   int    `json:"units"`
}

// namedTensor is one parameter of a cnn file: its PyTorch name, shape and
// row-major values.
type namedTensor struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

// cnnLayerTypes lists the layer types a cnn file may use, for errors.
const cnnLayerTypes = "conv2d, maxpool2d, flatten, dense, relu, leaky_relu, elu, tanh, sigmoid"

// layer builds the adamant layer a file's entry describes. PyTorch's
// defaults apply to an absent stride (1 for conv2d, the kernel for
// maxpool2d) and padding (0).
func (l cnnLayer) layer() (layers.Layer, error) {
	var window []layers.WindowOption
	if l.Stride != nil {
		window = append(window, layers.WithStride(*l.Stride))
	}
	if l.Padding != 0 {
		window = append(window, layers.WithPadding(l.Padding))
	}
	switch l.Type {
	case "conv2d":
		return layers.Conv2D(l.Filters, l.Kernel, window...), nil
	case "maxpool2d":
		return layers.MaxPool2D(l.Kernel, window...), nil
	case "flatten":
		return layers.Flatten(), nil
	case "dense":
		return layers.Dense(l.Units), nil
	}
	act, err := activationLayer(l.Type)
	if err != nil {
		return nil, errors.Errorf("layer type %q is not one of %s", l.Type, cnnLayerTypes)
	}
	return act, nil
}

// checkCNN builds the network the file describes through graph/ (NCHW
// input, OIHW convolution weights), loads its init weights, trains it with
// solvers.Adam and compares every loss and the final weights.
func checkCNN(f *File) ([]Result, error) {
	var g cnnFile
	if err := f.Decode(&g); err != nil {
		return nil, err
	}
	if len(g.InputShape) != 3 {
		return nil, errors.Errorf("%s: input_shape %v must be (channels, height, width)", f.Path, g.InputShape)
	}
	var ls []layers.Layer
	for i, spec := range g.Layers {
		l, err := spec.layer()
		if err != nil {
			return nil, errors.Wrapf(err, "%s: layers[%d]", f.Path, i)
		}
		ls = append(ls, l)
	}
	x, err := flatten(g.X)
	if err != nil {
		return nil, errors.Wrapf(err, "%s: x", f.Path)
	}
	rows := len(g.Labels)
	per := g.InputShape[0] * g.InputShape[1] * g.InputShape[2]
	if rows == 0 || per <= 0 || len(x) != rows*per {
		return nil, errors.Errorf("%s: x has %d values, want %d labels × input_shape %v", f.Path, len(x), rows, g.InputShape)
	}
	model, err := graph.New(layers.Sequential(ls...),
		graph.WithInputShape(g.InputShape...), graph.WithDtype(tensor.Float64), graph.WithTrainBatchSize(rows))
	if err != nil {
		return nil, errors.Wrap(err, f.Path)
	}
	defer model.Close()
	init, final, err := pairTensors(f.Path, g.Init, g.Final)
	if err != nil {
		return nil, err
	}
	return trainAgainst(f.Path, model, g.Optimizer, g.Options, &datasets.Batch{X64: x, Labels: g.Labels, Size: rows}, init, g.Losses, final)
}

// pairTensors checks that a file's init and final lists name the same
// parameters with the same shapes and returns their values.
func pairTensors(path string, init, final []namedTensor) (initVals, finalVals [][]float64, err error) {
	if len(init) != len(final) {
		return nil, nil, errors.Errorf("%s: %d init tensors, %d final", path, len(init), len(final))
	}
	for i, t := range init {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if len(t.Values) != n || len(final[i].Values) != n || final[i].Name != t.Name {
			return nil, nil, errors.Errorf("%s: init[%d] %q of shape %v has %d values, final %q %d", path, i, t.Name, t.Shape, len(t.Values), final[i].Name, len(final[i].Values))
		}
		initVals, finalVals = append(initVals, t.Values), append(finalVals, final[i].Values)
	}
	return initVals, finalVals, nil
}
