package layers_test

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// forward builds layer over a float64 input of the given shape holding x —
// a training build (dropout on) or an inference build — runs it once, as
// graph's machines do, and returns the output and its shape.
func forward(layer layers.Layer, training bool, shape tensor.Shape, x []float64) ([]float64, tensor.Shape, error) {
	return forwardWith(layers.NewParamSet(), layer, training, shape, x)
}

// forwardWith is forward creating the parameters in params.
func forwardWith(params *layers.ParamSet, layer layers.Layer, training bool, shape tensor.Shape, x []float64) ([]float64, tensor.Shape, error) {
	g := G.NewGraph()
	s, err := layers.NewScope(g, tensor.Float64, training, shape[0], 1, params)
	if err != nil {
		return nil, nil, err
	}
	in, inT, err := s.Input("input", shape)
	if err != nil {
		return nil, nil, err
	}
	copy(inT.Data().([]float64), x)
	y, err := layer.Forward(s, in)
	if err != nil {
		return nil, nil, err
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	for _, hook := range s.Hooks() { // dropout draws its mask here
		if err := hook(0); err != nil {
			return nil, nil, err
		}
	}
	if err := m.RunAll(); err != nil {
		return nil, nil, err
	}
	return y.Value().Data().([]float64), y.Shape(), nil
}

// A multilayer perceptron for 4 features and 3 classes, built for
// inference (dropout off): its parameters are named in build order.
func ExampleSequential() {
	model := layers.Sequential(
		layers.Dense(16), layers.ReLU(), layers.Dropout(0.2),
		layers.Dense(3), layers.Softmax(),
	)
	params := layers.NewParamSet()
	probs, shape, err := forwardWith(params, model, false, tensor.Shape{2, 4}, []float64{1, 2, 3, 4, -1, 0, 1, 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range params.List() {
		fmt.Println(p)
	}
	fmt.Printf("output %v, row sums %.3f %.3f\n", shape, probs[0]+probs[1]+probs[2], probs[3]+probs[4]+probs[5])
	// Output:
	// dense/weight(4, 16)
	// dense/bias(16)
	// dense_1/weight(16, 3)
	// dense_1/bias(3)
	// output (2, 3), row sums 1.000 1.000
}

// A summary of a small CNN for 28×28 grey images: each layer's output
// shape and parameter count.
func ExampleDescribe() {
	cnn := layers.Sequential(
		layers.Conv2D(8, 3, layers.WithPadding(1)), layers.ReLU(), layers.MaxPool2D(2),
		layers.Flatten(), layers.Dense(10),
	)
	summary, err := layers.Describe(cnn, tensor.Float32, 1, 28, 28)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(summary)
	// Output:
	// #    layer                                  output         params
	// 0    Conv2D(8, 3x3, stride 1, padding 1)    (8, 28, 28)    80
	// 1    ReLU                                   (8, 28, 28)    0
	// 2    MaxPool2D(2x2, stride 2, padding 0)    (8, 14, 14)    0
	// 3    Flatten                                (1568)         0
	// 4    Dense(10)                              (10)           15690
	// total parameters: 15770
}

// A fully connected layer with its weights and bias set by initializers
// instead of PyTorch's random defaults: every output is 1 + 0.5·Σx.
func ExampleDense() {
	dense := layers.Dense(2, layers.WithWeightInit(layers.Constant(0.5)), layers.WithBiasInit(layers.Constant(1)))
	y, shape, err := forward(dense, false, tensor.Shape{2, 3}, []float64{1, 2, 3, 0, 0, -2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(shape, y)
	// Output: (2, 2) [4 4 0 0]
}

// Activations work element by element, on any shape.
func ExampleReLU() {
	x := []float64{-2, -0.5, 0, 0.5, 2}
	for _, act := range []layers.Layer{layers.ReLU(), layers.LeakyReLU(0.1), layers.Tanh()} {
		y, _, err := forward(act, false, tensor.Shape{1, 5}, x)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v: %.3f\n", act, y)
	}
	// Output:
	// ReLU: [0.000 0.000 0.000 0.500 2.000]
	// LeakyReLU(0.1): [-0.200 -0.050 0.000 0.500 2.000]
	// Tanh: [-0.964 -0.462 0.000 0.462 0.964]
}

// Softmax normalises each row on its own, and stays finite when logits
// differ by hundreds (Gorgonia's SoftMax gives NaN for the second row).
func ExampleSoftmax() {
	y, _, err := forward(layers.Softmax(), false, tensor.Shape{2, 2}, []float64{0, 0, 100, 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4g\n", y)
	// Output: [0.5 0.5 1 3.72e-44]
}

// 2×2 max pooling of one 4×4 image (NCHW): the largest value of each
// window.
func ExampleMaxPool2D() {
	x := make([]float64, 16)
	for i := range x {
		x[i] = float64(i)
	}
	y, shape, err := forward(layers.MaxPool2D(2), false, tensor.Shape{1, 1, 4, 4}, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(shape, y)
	// Output: (1, 1, 2, 2) [5 7 13 15]
}

// A 3×3 convolution with stride 2 and padding 1 halves the image; each of
// the 4 filters has 9 weights and a bias.
func ExampleConv2D() {
	summary, err := layers.Describe(layers.Conv2D(4, 3, layers.WithStride(2), layers.WithPadding(1)), tensor.Float32, 1, 28, 28)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(summary)
	// Output:
	// #    layer                                  output         params
	// 0    Conv2D(4, 3x3, stride 2, padding 1)    (4, 14, 14)    40
	// total parameters: 40
}

// In a training build Dropout zeroes each input with probability p, from a
// mask drawn from the scope's seed (the same seed, the same mask), and
// scales the survivors by 1/(1−p); an inference build passes the input
// through.
func ExampleDropout() {
	x := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	for _, training := range []bool{true, false} {
		y, _, err := forward(layers.Dropout(0.5), training, tensor.Shape{1, 8}, x)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("training %t: %v\n", training, y)
	}
	// Output:
	// training true: [2 2 2 2 2 0 0 0]
	// training false: [1 1 1 1 1 1 1 1]
}

// A layer of one's own: a function adding nodes through the scope. It
// chains with the stock layers like any other.
func ExampleLayerFunc() {
	double := layers.LayerFunc(func(s *layers.Scope, x *G.Node) (*G.Node, error) {
		return G.Mul(x, G.NewConstant(2.0))
	})
	model := layers.Sequential(double, layers.ReLU())
	y, _, err := forward(model, false, tensor.Shape{1, 3}, []float64{-1, 0.5, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y)
	// Output: [0 1 4]
}
