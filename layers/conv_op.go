package layers

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// convOp is a 2-D convolution with bias over NCHW input. The batch is cut
// into chunks of images (see colTarget); each chunk is unrolled by im2col
// into one matrix, images side by side (C·k·k × images·OH·OW), so that the
// forward pass and both backward passes are one large product per chunk
// on the BLAS installed with gorgonia.Use (fastblas in cmd/mnist, split
// over its threads), where one product per image (32×196×400 for the
// MNIST CNN's second layer) was too small to split. The unrolling, the
// folding back (col2im) and the pooling run over the same worker pool.
type convOp struct {
	opkit.Pure
	kernel, stride, padding int
	// out keeps the result; col (a chunk of images unrolled) and prod (its
	// product with the weights) are scratch.
	out, col, prod *opkit.Output
}

// convGeom is the geometry of one convolution run.
type convGeom struct {
	n, c, h, w     int // input
	f, oh, ow      int // output
	k, stride, pad int
}

// kk is the length of one column of the unrolled image (C·k·k) and p the
// number of output positions (OH·OW).
func (g convGeom) kk() int { return g.c * g.k * g.k }
func (g convGeom) p() int  { return g.oh * g.ow }

func (op convOp) geom(x, w tensor.Shape) (convGeom, error) {
	if len(x) != 4 || len(w) != 4 {
		return convGeom{}, errors.Errorf("layers: %v needs NCHW input and (filters, C, k, k) weights, got %v and %v", op, x, w)
	}
	g := convGeom{n: x[0], c: x[1], h: x[2], w: x[3], f: w[0], k: op.kernel, stride: op.stride, pad: op.padding}
	if w[1] != g.c || w[2] != op.kernel || w[3] != op.kernel {
		return convGeom{}, errors.Errorf("layers: %v: weights of shape %v do not match input %v (want (filters, %d, %d, %d))", op, w, x, g.c, op.kernel, op.kernel)
	}
	if g.n < 1 || g.c < 1 || g.h < 1 || g.w < 1 || g.f < 1 || op.kernel < 1 || op.stride < 1 || op.padding < 0 ||
		g.h+2*g.pad < g.k || g.w+2*g.pad < g.k {
		return convGeom{}, errors.Errorf("layers: %v does not fit input shape %v", op, x)
	}
	g.oh, g.ow = outSize(g.h, g.k, g.stride, g.pad), outSize(g.w, g.k, g.stride, g.pad)
	return g, nil
}

func (op convOp) Arity() int { return 3 }
func (op convOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t4, t1 := G.TensorType{Dims: 4, Of: a}, G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(t4, t4, t1, t4)
}
func (op convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeArg(op.String(), in, 0)
	if err != nil {
		return nil, err
	}
	w, err := shapeArg(op.String(), in, 1)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(x, w)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.f, g.oh, g.ow}, nil
}
func (op convOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op) }
func (op convOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op convOp) String() string {
	return fmt.Sprintf("Conv2D{k=%d,s=%d,p=%d}", op.kernel, op.stride, op.padding)
}

// Do computes y[n] = W·im2col(x[n]) + b for every image n.
func (op convOp) Do(vals ...G.Value) (G.Value, error) {
	name := op.String()
	x, err := denseArg(name, vals, 0)
	if err != nil {
		return nil, err
	}
	w, err := denseArg(name, vals, 1)
	if err != nil {
		return nil, err
	}
	b, err := denseArg(name, vals, 2)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(x.Shape(), w.Shape())
	if err != nil {
		return nil, err
	}
	if !b.Shape().Eq(tensor.Shape{g.f}) || b.Dtype() != x.Dtype() || w.Dtype() != x.Dtype() {
		return nil, errors.Errorf("layers: %s: bias %v %v and weights %v for input %v, want a (%d) bias of one dtype", name, b.Shape(), b.Dtype(), w.Dtype(), x.Dtype(), g.f)
	}
	y := op.out.Get(nil, x.Dtype(), g.n, g.f, g.oh, g.ow)
	switch xs := x.Data().(type) {
	case []float32:
		col, prod := op.scratch(g, x.Dtype())
		convForward(g, xs, w.Float32s(), b.Float32s(), y.Float32s(), col.Float32s(), prod.Float32s())
	case []float64:
		col, prod := op.scratch(g, x.Dtype())
		convForward(g, xs, w.Float64s(), b.Float64s(), y.Float64s(), col.Float64s(), prod.Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, x.Dtype())
	}
	return y, nil
}

// scratch returns the buffers for one chunk of g's images: the unrolled
// images (C·k·k × nc·OH·OW) and an F × nc·OH·OW matrix.
func (op convOp) scratch(g convGeom, dt tensor.Dtype) (col, prod *tensor.Dense) {
	return op.col.Get(nil, dt, g.kk()*g.chunk()*g.p()), op.prod.Get(nil, dt, g.f*g.chunk()*g.p())
}

func (op convOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff returns the gradients of x, the weights and the bias.
func (op convOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 3 {
		return nil, errors.Errorf("layers: %v has %d inputs, want 3", op, len(in))
	}
	dataOp := op
	dataOp.col, dataOp.prod = opkit.NewOutput(), opkit.NewOutput()
	dx, err := G.ApplyOp(convDataGradOp{op: dataOp, x: in[0].Shape().Clone(), out: opkit.NewOutput()}, in[1], grad)
	if err != nil {
		return nil, err
	}
	filterOp := op
	filterOp.col, filterOp.prod = opkit.NewOutput(), opkit.NewOutput()
	dw, err := G.ApplyOp(convFilterGradOp{op: filterOp, w: in[1].Shape().Clone(), out: opkit.NewOutput(), prod: opkit.NewOutput()}, in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(newBiasGrad(4), grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// convDataGradOp computes ∂L/∂x from the weights and ∂L/∂y: per image,
// col2im(Wᵀ·dy[n]).
type convDataGradOp struct {
	opkit.Pure
	// op holds the scratch buffers of this node, its own.
	op  convOp
	x   tensor.Shape
	out *opkit.Output
}

func (d convDataGradOp) Arity() int { return 2 }
func (d convDataGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t4 := G.TensorType{Dims: 4, Of: a}
	return hm.NewFnType(t4, t4, t4)
}
func (d convDataGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return d.x.Clone(), nil }
func (d convDataGradOp) WriteHash(h hash.Hash)                          { fmt.Fprintf(h, "adamant.%v", d) }
func (d convDataGradOp) Hashcode() uint32                               { return opkit.Hash(d) }
func (d convDataGradOp) String() string                                 { return fmt.Sprintf("%vDataGrad%v", d.op, d.x) }

// Do computes dx.
func (d convDataGradOp) Do(vals ...G.Value) (G.Value, error) {
	name := d.String()
	w, err := denseArg(name, vals, 0)
	if err != nil {
		return nil, err
	}
	dy, err := denseArg(name, vals, 1)
	if err != nil {
		return nil, err
	}
	g, err := d.op.geom(d.x, w.Shape())
	if err != nil {
		return nil, err
	}
	if want := (tensor.Shape{g.n, g.f, g.oh, g.ow}); !dy.Shape().Eq(want) || dy.Dtype() != w.Dtype() {
		return nil, errors.Errorf("layers: %s: gradient has shape %v %v, want %v %v", name, dy.Shape(), dy.Dtype(), want, w.Dtype())
	}
	dx := d.out.Get(nil, w.Dtype(), d.x...)
	switch ws := w.Data().(type) {
	case []float32:
		col, dyc := d.op.scratch(g, w.Dtype())
		convBackwardData(g, ws, dy.Float32s(), dx.Float32s(), col.Float32s(), dyc.Float32s())
	case []float64:
		col, dyc := d.op.scratch(g, w.Dtype())
		convBackwardData(g, ws, dy.Float64s(), dx.Float64s(), col.Float64s(), dyc.Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, w.Dtype())
	}
	return dx, nil
}

// convFilterGradOp computes ∂L/∂W from x and ∂L/∂y: Σₙ dy[n]·im2col(x[n])ᵀ.
type convFilterGradOp struct {
	opkit.Pure
	// op holds the scratch buffers of this node, its own; prod keeps dWᵀ.
	op        convOp
	w         tensor.Shape
	out, prod *opkit.Output
}

func (d convFilterGradOp) Arity() int { return 2 }
func (d convFilterGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t4 := G.TensorType{Dims: 4, Of: a}
	return hm.NewFnType(t4, t4, t4)
}
func (d convFilterGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return d.w.Clone(), nil }
func (d convFilterGradOp) WriteHash(h hash.Hash)                          { fmt.Fprintf(h, "adamant.%v", d) }
func (d convFilterGradOp) Hashcode() uint32                               { return opkit.Hash(d) }
func (d convFilterGradOp) String() string                                 { return fmt.Sprintf("%vFilterGrad%v", d.op, d.w) }

// Do computes dW.
func (d convFilterGradOp) Do(vals ...G.Value) (G.Value, error) {
	name := d.String()
	x, err := denseArg(name, vals, 0)
	if err != nil {
		return nil, err
	}
	dy, err := denseArg(name, vals, 1)
	if err != nil {
		return nil, err
	}
	g, err := d.op.geom(x.Shape(), d.w)
	if err != nil {
		return nil, err
	}
	if want := (tensor.Shape{g.n, g.f, g.oh, g.ow}); !dy.Shape().Eq(want) || dy.Dtype() != x.Dtype() {
		return nil, errors.Errorf("layers: %s: gradient has shape %v %v, want %v %v", name, dy.Shape(), dy.Dtype(), want, x.Dtype())
	}
	dw := d.out.Get(nil, x.Dtype(), d.w...)
	switch xs := x.Data().(type) {
	case []float32:
		col, dyr := d.op.scratch(g, x.Dtype())
		convBackwardFilter(g, xs, dy.Float32s(), dw.Float32s(), col.Float32s(), dyr.Float32s(), d.prod.Get(nil, x.Dtype(), g.kk()*g.f).Float32s())
	case []float64:
		col, dyr := d.op.scratch(g, x.Dtype())
		convBackwardFilter(g, xs, dy.Float64s(), dw.Float64s(), col.Float64s(), dyr.Float64s(), d.prod.Get(nil, x.Dtype(), g.kk()*g.f).Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, x.Dtype())
	}
	return dw, nil
}

// colTarget bounds, in elements, the unrolled images one product covers
// (4 MB in float32, within the L3 cache): the whole batch of the MNIST
// CNN's second convolution unrolled is 5M values (20 MB), which would
// leave the caches between im2col writing it and the product reading it.
// Smaller chunks measured no faster and cost one scheduling of the worker
// pool, and its small allocation, per pass. The chunk depends only on the
// geometry, never on the thread count, so the order of every sum is fixed.
const colTarget = 1 << 20

// chunk is the number of images unrolled side by side for one product.
func (g convGeom) chunk() int { return min(max(colTarget/(g.kk()*g.p()), 1), g.n) }

// validRun returns the output columns [lo, hi) whose input column
// ox·stride − pad + j lies inside the image.
func validRun(g convGeom, j int) (lo, hi int) {
	if d := g.pad - j; d > 0 {
		lo = (d + g.stride - 1) / g.stride
	}
	if t := g.w - 1 + g.pad - j; t >= 0 {
		hi = t/g.stride + 1
	}
	lo = min(lo, g.ow)
	return lo, min(max(hi, lo), g.ow)
}

// im2col unrolls one image x (C×H×W) into columns [off, off+OH·OW) of col,
// a matrix of C·k·k rows of length ld: row (c, i, j) holds, for every
// output position, the input pixel that kernel cell (i, j) of channel c
// meets there (0 in the padding). Images side by side (off = image·OH·OW)
// make one product for a chunk of the batch.
func im2col[T float](g convGeom, x, col []T, ld, off int) {
	p := g.p()
	for c := 0; c < g.c; c++ {
		plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				r := (c*g.k+i)*g.k + j
				row := col[r*ld+off : r*ld+off+p]
				lo, hi := validRun(g, j)
				first := lo*g.stride - g.pad + j
				for oy := 0; oy < g.oh; oy++ {
					iy := oy*g.stride - g.pad + i
					out := row[oy*g.ow : (oy+1)*g.ow]
					if iy < 0 || iy >= g.h || lo == hi {
						clear(out)
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					clear(out[:lo])
					if g.stride == 1 {
						copy(out[lo:hi], src[first:first+hi-lo])
					} else {
						for ox, ix := lo, first; ox < hi; ox, ix = ox+1, ix+g.stride {
							out[ox] = src[ix]
						}
					}
					clear(out[hi:])
				}
			}
		}
	}
}

// col2im adds columns [off, off+OH·OW) of col (C·k·k rows of length ld)
// back into the image dx (C×H×W): the adjoint of im2col.
func col2im[T float](g convGeom, col, dx []T, ld, off int) {
	p := g.p()
	for c := 0; c < g.c; c++ {
		plane := dx[c*g.h*g.w : (c+1)*g.h*g.w]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				r := (c*g.k+i)*g.k + j
				row := col[r*ld+off : r*ld+off+p]
				lo, hi := validRun(g, j)
				if lo == hi {
					continue
				}
				first := lo*g.stride - g.pad + j
				for oy := 0; oy < g.oh; oy++ {
					iy := oy*g.stride - g.pad + i
					if iy < 0 || iy >= g.h {
						continue
					}
					dst := plane[iy*g.w : (iy+1)*g.w]
					src := row[oy*g.ow+lo : oy*g.ow+hi]
					if g.stride == 1 {
						d := dst[first : first+len(src)]
						for x, v := range src {
							d[x] += v
						}
						continue
					}
					for x, ix := 0, first; x < len(src); x, ix = x+1, ix+g.stride {
						dst[ix] += src[x]
					}
				}
			}
		}
	}
}

// unrollChunk writes im2col of images [n0, n0+nc) side by side into col.
func unrollChunk[T float](g convGeom, x, col []T, n0, nc int) {
	in, p := g.c*g.h*g.w, g.p()
	parallelFor(nc, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			im2col(g, x[(n0+i)*in:(n0+i+1)*in], col, nc*p, i*p)
		}
	})
}

// gatherChunk lays the output gradient of images [n0, n0+nc), NCHW, out as
// one F × nc·OH·OW matrix, image after image along each row: the layout of
// the product W·col.
func gatherChunk[T float](g convGeom, dy, dst []T, n0, nc int) {
	p := g.p()
	for i := 0; i < nc; i++ {
		for f := 0; f < g.f; f++ {
			copy(dst[f*nc*p+i*p:f*nc*p+(i+1)*p], dy[((n0+i)*g.f+f)*p:((n0+i)*g.f+f+1)*p])
		}
	}
}

// convForward: y = W·col + b, chunk by chunk, where col is a chunk of
// images unrolled side by side and the product (F × nc·OH·OW) is scattered
// back to NCHW with the bias added.
func convForward[T float](g convGeom, x, w, b, y, col, prod []T) {
	kk, p, nb := g.kk(), g.p(), g.chunk()
	for n0 := 0; n0 < g.n; n0 += nb {
		nc := min(nb, g.n-n0)
		unrollChunk(g, x, col, n0, nc)
		gemm(false, false, g.f, nc*p, kk, 1, w, kk, col, nc*p, 0, prod, nc*p)
		for i := 0; i < nc; i++ {
			for f := 0; f < g.f; f++ {
				src, dst, bias := prod[f*nc*p+i*p:f*nc*p+(i+1)*p], y[((n0+i)*g.f+f)*p:((n0+i)*g.f+f+1)*p], b[f]
				for q, v := range src {
					dst[q] = v + bias
				}
			}
		}
	}
}

// convBackwardData: dx = col2im(Wᵀ·dy), chunk by chunk.
func convBackwardData[T float](g convGeom, w, dy, dx, col, dyc []T) {
	kk, p, nb, in := g.kk(), g.p(), g.chunk(), g.c*g.h*g.w
	clear(dx)
	for n0 := 0; n0 < g.n; n0 += nb {
		nc := min(nb, g.n-n0)
		gatherChunk(g, dy, dyc, n0, nc)
		gemm(true, false, kk, nc*p, g.f, 1, w, kk, dyc, nc*p, 0, col, nc*p)
		parallelFor(nc, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				col2im(g, col, dx[(n0+i)*in:(n0+i+1)*in], nc*p, i*p)
			}
		})
	}
}

// convBackwardFilter: dW = Σ dy·colᵀ over the chunks, computed as its
// transpose dWᵀ = Σ col·dyᵀ into prod (C·k·k × F) and transposed at the
// end: col is then read in place and only dyᵀ, F/(C·k·k) of its size, is
// packed by the BLAS, where dy·colᵀ had it pack all of col through its
// transposed path (the largest cost of the step next to the kernel). The
// chunks are added in order.
func convBackwardFilter[T float](g convGeom, x, dy, dw, col, dyr, prod []T) {
	kk, p, nb := g.kk(), g.p(), g.chunk()
	for n0 := 0; n0 < g.n; n0 += nb {
		nc := min(nb, g.n-n0)
		unrollChunk(g, x, col, n0, nc)
		for i := 0; i < nc; i++ {
			img := dy[(n0+i)*g.f*p : (n0+i+1)*g.f*p]
			rows := dyr[i*p*g.f : (i+1)*p*g.f]
			for f := 0; f < g.f; f++ {
				for q, v := range img[f*p : (f+1)*p] {
					rows[q*g.f+f] = v
				}
			}
		}
		var beta T = 1
		if n0 == 0 {
			beta = 0
		}
		gemm(false, false, kk, g.f, nc*p, 1, col, nc*p, dyr, g.f, beta, prod, g.f)
	}
	for r := 0; r < kk; r++ {
		for f, v := range prod[r*g.f : (r+1)*g.f] {
			dw[f*kk+r] = v
		}
	}
}

var (
	_ G.SDOp = convOp{}
	_ G.Op   = convDataGradOp{}
	_ G.Op   = convFilterGradOp{}
)
