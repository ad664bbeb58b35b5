package layers

import (
	"fmt"
	"math"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// window holds the settings shared by the sliding-window layers.
type window struct {
	stride  int
	padding int
	// strideSet tells MaxPool2D's default stride (the kernel) from an
	// explicit one.
	strideSet bool
}

// WindowOption sets the stride or padding of a sliding-window layer
// (Conv2D, MaxPool2D).
type WindowOption func(*window)

// ConvOption configures Conv2D.
type ConvOption = WindowOption

// PoolOption configures MaxPool2D.
type PoolOption = WindowOption

// WithStride sets the step between windows (Conv2D default 1, MaxPool2D
// default the kernel size, as in PyTorch). It must be ≥ 1.
func WithStride(n int) WindowOption {
	return func(w *window) { w.stride, w.strideSet = n, true }
}

// WithPadding pads every side of the image with n rows and columns (zeros
// for Conv2D; for MaxPool2D padded cells never win, as with PyTorch's −∞
// padding). Default 0. MaxPool2D needs n ≤ kernel/2, as PyTorch does.
func WithPadding(n int) WindowOption { return func(w *window) { w.padding = n } }

// newWindow applies opts over the given default stride.
func newWindow(stride int, opts []WindowOption) window {
	w := window{stride: stride}
	for _, o := range opts {
		if o != nil {
			o(&w)
		}
	}
	return w
}

// outSize is the number of windows along an axis of length n (PyTorch's
// floor mode).
func outSize(n, kernel, stride, padding int) int {
	return (n+2*padding-kernel)/stride + 1
}

// checkWindow validates a window layer against its NCHW input shape and
// returns the output height and width.
func checkWindow(layer string, x *G.Node, kernel int, w window) (oh, ow int, err error) {
	shape := x.Shape()
	if len(shape) != 4 {
		return 0, 0, errors.Errorf("layers: %s needs an NCHW input (batch, channels, height, width), got %q of shape %v", layer, x.Name(), shape)
	}
	if kernel < 1 {
		return 0, 0, errors.Errorf("layers: %s kernel = %d must be ≥ 1", layer, kernel)
	}
	if w.stride < 1 {
		return 0, 0, errors.Errorf("layers: %s stride = %d must be ≥ 1", layer, w.stride)
	}
	if w.padding < 0 {
		return 0, 0, errors.Errorf("layers: %s padding = %d must be ≥ 0", layer, w.padding)
	}
	h, wd := shape[2], shape[3]
	if shape[1] < 1 || h < 1 || wd < 1 {
		return 0, 0, errors.Errorf("layers: %s input %q of shape %v has an empty channel or spatial axis", layer, x.Name(), shape)
	}
	if h+2*w.padding < kernel || wd+2*w.padding < kernel {
		return 0, 0, errors.Errorf("layers: %s kernel %d is larger than the padded image %dx%d (input shape %v, padding %d)", layer, kernel, h+2*w.padding, wd+2*w.padding, shape, w.padding)
	}
	return outSize(h, kernel, w.stride, w.padding), outSize(wd, kernel, w.stride, w.padding), nil
}

// conv2D is the Conv2D layer.
type conv2D struct {
	filters, kernel int
	window
}

// Conv2D is a 2-D convolution over NCHW images with square kernels:
// PyTorch's nn.Conv2d(in_channels, filters, kernel, stride, padding) with
// its default initialisation (weights KaimingUniform(√5), bias
// LinearBiasUniform, fanIn = channels·kernel²). The weight has shape
// (filters, channels, kernel, kernel) and is named "conv/weight", the bias
// (filters) "conv/bias". Output: (batch, filters, H', W') with
// H' = ⌊(H + 2·padding − kernel)/stride⌋ + 1.
func Conv2D(filters, kernel int, opts ...ConvOption) Layer {
	return &conv2D{filters: filters, kernel: kernel, window: newWindow(1, opts)}
}

// Forward creates (or looks up) the filters and bias and adds the
// convolution.
func (c *conv2D) Forward(s *Scope, x *G.Node) (*G.Node, error) {
	if err := checkInput("Conv2D", s, x); err != nil {
		return nil, err
	}
	if c.filters < 1 {
		return nil, errors.Errorf("layers: Conv2D filters = %d must be ≥ 1", c.filters)
	}
	if _, _, err := checkWindow("Conv2D", x, c.kernel, c.window); err != nil {
		return nil, err
	}
	ch, k := x.Shape()[1], c.kernel
	fanIn, fanOut := ch*k*k, c.filters*k*k
	return layerScope(s, "conv", func() (*G.Node, error) {
		w, err := s.Param("weight", tensor.Shape{c.filters, ch, k, k}, fanIn, fanOut, KaimingUniform(math.Sqrt(5)))
		if err != nil {
			return nil, err
		}
		b, err := s.Param("bias", tensor.Shape{c.filters}, fanIn, fanOut, LinearBiasUniform)
		if err != nil {
			return nil, err
		}
		return guard(c.String(), func() (*G.Node, error) {
			return G.ApplyOp(convOp{kernel: k, stride: c.stride, padding: c.padding, out: opkit.NewOutput(), jobs: &convJobs{}}, x, w, b)
		})
	})
}

// String describes the layer for model summaries.
func (c *conv2D) String() string {
	return fmt.Sprintf("Conv2D(%d, %dx%d, stride %d, padding %d)", c.filters, c.kernel, c.kernel, c.stride, c.padding)
}

// maxPool2D is the MaxPool2D layer.
type maxPool2D struct {
	kernel int
	window
}

// MaxPool2D keeps the largest value of every kernel×kernel window of each
// channel of an NCHW input (PyTorch's nn.MaxPool2d, floor mode; the stride
// defaults to the kernel). A NaN in a window wins, as in PyTorch, so a
// diverging model shows NaN instead of crashing: Gorgonia's own MaxPool2D
// panics in its backward pass on NaN, on the machine's goroutine where it
// cannot be recovered. The gradient goes to the first maximal element of
// each window.
func MaxPool2D(kernel int, opts ...PoolOption) Layer {
	return &maxPool2D{kernel: kernel, window: newWindow(kernel, opts)}
}

// Forward adds the pooling node; it has no parameters.
func (m *maxPool2D) Forward(s *Scope, x *G.Node) (*G.Node, error) { return m.forward(s, x, false) }

// forward adds the pooling node, of relu(x) when relu is set (a ReLU
// that Sequential fused into it).
func (m *maxPool2D) forward(s *Scope, x *G.Node, relu bool) (*G.Node, error) {
	if err := checkInput("MaxPool2D", s, x); err != nil {
		return nil, err
	}
	if _, _, err := checkWindow("MaxPool2D", x, m.kernel, m.window); err != nil {
		return nil, err
	}
	if 2*m.padding > m.kernel {
		return nil, errors.Errorf("layers: MaxPool2D padding = %d must be ≤ kernel/2 = %d", m.padding, m.kernel/2)
	}
	op := poolOp{kernel: m.kernel, stride: m.stride, padding: m.padding, relu: relu, out: opkit.NewOutput(), winners: &poolWinners{}}
	return guard(m.String(), func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// String describes the layer for model summaries.
func (m *maxPool2D) String() string {
	return fmt.Sprintf("MaxPool2D(%dx%d, stride %d, padding %d)", m.kernel, m.kernel, m.stride, m.padding)
}
