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
// into chunks of images (see colTarget and minChunks); each chunk is
// unrolled by im2col into one matrix, images side by side (C·k·k ×
// images·OH·OW), so that the forward pass and both backward passes are one
// large product per chunk on the BLAS installed with gorgonia.Use, where
// one product per image (32×196×400 for the MNIST CNN's second layer) was
// too small. The chunks are split over the threads of the worker pool, a
// whole chunk per part (convJob), with fastblas' one-thread view making
// each product.
type convOp struct {
	opkit.Pure
	kernel, stride, padding int
	// out keeps the result.
	out *opkit.Output
	// jobs runs the passes over the chunks, with their scratch buffers.
	jobs *convJobs
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
		runConv(op.jobs, passForward, g, xs, w.Float32s(), b.Float32s(), nil, y.Float32s())
	case []float64:
		runConv(op.jobs, passForward, g, xs, w.Float64s(), b.Float64s(), nil, y.Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, x.Dtype())
	}
	return y, nil
}

func (op convOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// SymDiff returns the gradients of x, the weights and the bias.
func (op convOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 3 {
		return nil, errors.Errorf("layers: %v has %d inputs, want 3", op, len(in))
	}
	dataOp := op
	dataOp.jobs = &convJobs{}
	dx, err := G.ApplyOp(convDataGradOp{op: dataOp, x: in[0].Shape().Clone(), out: opkit.NewOutput()}, in[1], grad)
	if err != nil {
		return nil, err
	}
	filterOp := op
	filterOp.jobs = &convJobs{}
	dw, err := G.ApplyOp(convFilterGradOp{op: filterOp, w: in[1].Shape().Clone(), out: opkit.NewOutput(), shares: opkit.NewOutput()}, in[0], grad)
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
		runConv(d.op.jobs, passData, g, nil, ws, nil, dy.Float32s(), dx.Float32s())
	case []float64:
		runConv(d.op.jobs, passData, g, nil, ws, nil, dy.Float64s(), dx.Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, w.Dtype())
	}
	return dx, nil
}

// convFilterGradOp computes ∂L/∂W from x and ∂L/∂y: Σₙ dy[n]·im2col(x[n])ᵀ.
type convFilterGradOp struct {
	opkit.Pure
	// op holds the scratch buffers of this node, its own; shares keeps
	// the chunks' shares of dWᵀ.
	op          convOp
	w           tensor.Shape
	out, shares *opkit.Output
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
		convBackwardFilter(d.op.jobs, g, xs, dy.Float32s(), dw.Float32s(), d.shares.Get(nil, x.Dtype(), g.chunks()*g.kk()*g.f).Float32s())
	case []float64:
		convBackwardFilter(d.op.jobs, g, xs, dy.Float64s(), dw.Float64s(), d.shares.Get(nil, x.Dtype(), g.chunks()*g.kk()*g.f).Float64s())
	default:
		return nil, errors.Errorf("layers: %s: dtype %v is not supported", name, x.Dtype())
	}
	return dw, nil
}

// colTarget bounds, in elements, the unrolled images one product covers
// (1 MB in float32, a core's L2 cache): the whole batch of the MNIST CNN's
// second convolution unrolled is 5M values (20 MB), and on one thread its
// forward and backward passes took 39–42 ms of CPU per batch with chunks
// of 4 MB or more against 25–27 ms with chunks of 0.5–1 MB (the unrolled
// values then stay in cache from im2col to the product). The chunk depends only on the
// geometry, never on the thread count, so the order of every sum is fixed.
const colTarget = 1 << 18

// minChunks is the fewest chunks a batch is cut into when its images are
// small (the MNIST CNN's first layer fits 13 images in colTarget, which
// made 5 chunks for a batch of 64, 3 on one thread and 2 on the other):
// enough for the chunks to share the threads evenly.
const minChunks = 8

// chunk is the number of images unrolled side by side for one product.
func (g convGeom) chunk() int {
	return max(min(colTarget/(g.kk()*g.p()), (g.n+minChunks-1)/minChunks), 1)
}

// pixelMajorForward tells whether the forward product is made as
// yᵀ = colᵀ·Wᵀ (one row per output position, one column per filter)
// instead of y = W·col. fastblas reads its left operand in place and
// packs the right one: y = W·col packs all of col, C·k·k × OH·OW values
// per image, where yᵀ = colᵀ·Wᵀ packs only the weights, and each image's
// OH·OW × F block is then transposed into NCHW with the bias added (the
// vector transpose). The products are the same and summed in the same
// order, so y is bit for bit the same. On one thread (BenchmarkConvPasses,
// least of 8) the MNIST CNN's second convolution (F = 32) went from 3.3
// to 2.5 ms per batch and its first (F = 16) from 0.68 to 0.59 ms, though
// with 16 filters the AVX-512 kernel computes as many padding columns as
// real ones; with fewer filters than that, the padding would dominate.
func (g convGeom) pixelMajorForward() bool { return g.f >= 16 }

// chunks is the number of chunks of the batch.
func (g convGeom) chunks() int { return (g.n + g.chunk() - 1) / g.chunk() }

// padImage copies image x (C×H×W) into dst (C×(H+2·pad)×(W+2·pad)) with
// zero borders, so that im2col reads every kernel cell's run of inputs
// with one copy and no bounds tests.
func padImage[T float](g convGeom, x, dst []T) {
	hp, wp := g.h+2*g.pad, g.w+2*g.pad
	for c := 0; c < g.c; c++ {
		plane := dst[c*hp*wp : (c+1)*hp*wp]
		clear(plane[:g.pad*wp])
		for y := 0; y < g.h; y++ {
			row := plane[(y+g.pad)*wp : (y+g.pad+1)*wp]
			for q := range row[:g.pad] {
				row[q] = 0
			}
			copy(row[g.pad:g.pad+g.w], x[(c*g.h+y)*g.w:(c*g.h+y+1)*g.w])
			for q := range row[g.pad+g.w:] {
				row[g.pad+g.w+q] = 0
			}
		}
		clear(plane[(g.h+g.pad)*wp:])
	}
}

// im2col unrolls one zero-padded image xp (from padImage) into columns
// [off, off+OH·OW) of col, a matrix of C·k·k rows of length ld: row
// (c, i, j) holds, for every output position, the input pixel that kernel
// cell (i, j) of channel c meets there. Images side by side
// (off = image·OH·OW) make one product for a chunk of the batch.
func im2col[T float](g convGeom, xp, col []T, ld, off int) {
	hp, wp := g.h+2*g.pad, g.w+2*g.pad
	p := g.p()
	for c := 0; c < g.c; c++ {
		plane := xp[c*hp*wp : (c+1)*hp*wp]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				r := (c*g.k+i)*g.k + j
				row := col[r*ld+off : r*ld+off+p]
				if g.stride == 1 {
					copyRuns(row, plane[i*wp+j:], g.ow, g.oh, g.ow, wp)
					continue
				}
				for oy := 0; oy < g.oh; oy++ {
					out := row[oy*g.ow : (oy+1)*g.ow]
					start := (oy*g.stride+i)*wp + j
					src := plane[start : start+(len(out)-1)*g.stride+1]
					for q := range out {
						out[q] = src[q*g.stride]
					}
				}
			}
		}
	}
}

// col2im adds columns [off, off+OH·OW) of col (C·k·k rows of length ld)
// into the zero-padded image gradient dxp (C×(H+2·pad)×(W+2·pad)): the
// adjoint of im2col. cropImage then drops the border.
func col2im[T float](g convGeom, col, dxp []T, ld, off int) {
	hp, wp := g.h+2*g.pad, g.w+2*g.pad
	p := g.p()
	for c := 0; c < g.c; c++ {
		plane := dxp[c*hp*wp : (c+1)*hp*wp]
		for i := 0; i < g.k; i++ {
			for j := 0; j < g.k; j++ {
				r := (c*g.k+i)*g.k + j
				row := col[r*ld+off : r*ld+off+p]
				if g.stride == 1 {
					addRuns(plane[i*wp+j:], row, g.ow, g.oh, wp, g.ow)
					continue
				}
				for oy := 0; oy < g.oh; oy++ {
					src := row[oy*g.ow : (oy+1)*g.ow]
					start := (oy*g.stride+i)*wp + j
					d := plane[start : start+(len(src)-1)*g.stride+1]
					for q, v := range src {
						d[q*g.stride] += v
					}
				}
			}
		}
	}
}

// cropImage copies the inside of a zero-padded image xp into x (C×H×W).
func cropImage[T float](g convGeom, xp, x []T) {
	hp, wp := g.h+2*g.pad, g.w+2*g.pad
	for c := 0; c < g.c; c++ {
		for y := 0; y < g.h; y++ {
			src := xp[c*hp*wp+(y+g.pad)*wp+g.pad:]
			copy(x[(c*g.h+y)*g.w:(c*g.h+y+1)*g.w], src[:g.w])
		}
	}
}

// paddedLen is the length of one zero-padded image.
func (g convGeom) paddedLen() int { return g.c * (g.h + 2*g.pad) * (g.w + 2*g.pad) }

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

// scatterBias writes the product of a chunk (F × nc·OH·OW, image after
// image along each row) to images [n0, n0+nc) of y (NCHW), adding the
// bias of each filter.
func scatterBias[T float](g convGeom, prod, b, y []T, n0, nc int) {
	p := g.p()
	for i := 0; i < nc; i++ {
		for f := 0; f < g.f; f++ {
			src, dst, bias := prod[f*nc*p+i*p:f*nc*p+(i+1)*p], y[((n0+i)*g.f+f)*p:((n0+i)*g.f+f+1)*p], b[f]
			for q, v := range src {
				dst[q] = v + bias
			}
		}
	}
}

// convBackwardFilter: dW = Σ dy·colᵀ over the chunks, computed as its
// transpose dWᵀ = Σ col·dyᵀ: col is then read in place and only dyᵀ,
// F/(C·k·k) of its size, is packed by the BLAS, where dy·colᵀ had it pack
// all of col through its transposed path (the largest cost of the step
// next to the kernel). Each chunk writes its own share; the shares are
// then added in chunk order, so the sum is the same on any number of
// threads.
func convBackwardFilter[T float](js *convJobs, g convGeom, x, dy, dw, shares []T) {
	runConv(js, passFilter, g, x, nil, nil, dy, shares)
	size := g.kk() * g.f
	sum := shares[:size]
	for c := 1; c < g.chunks(); c++ {
		for i, v := range shares[c*size : (c+1)*size] {
			sum[i] += v
		}
	}
	transposeInto(dw, sum, g.kk(), g.f)
}

// transposeChunk lays the output gradient of images [n0, n0+nc) out as
// dyr, nc·OH·OW rows of F values (each image's F × OH·OW plane transposed),
// the right-hand side of dWᵀ = col·dyᵀ.
func transposeChunk[T float](g convGeom, dy, dyr []T, n0, nc int) {
	p := g.p()
	for i := 0; i < nc; i++ {
		transposeInto(dyr[i*p*g.f:(i+1)*p*g.f], dy[(n0+i)*g.f*p:(n0+i+1)*g.f*p], g.f, p)
	}
}

// transposeInto writes the transpose of src (rows × cols, row-major) to
// dst (cols × rows).
func transposeInto[T float](dst, src []T, rows, cols int) { transpose(dst, src, nil, rows, cols) }

// transposeAddBias writes the transpose of src plus bias[c] on output row
// c: dst[c·rows+r] = src[r·cols+c] + bias[c].
func transposeAddBias[T float](dst, src, bias []T, rows, cols int) {
	if len(bias) < cols {
		panic(fmt.Sprintf("layers: transpose of %d×%d with a bias of %d", rows, cols, len(bias)))
	}
	transpose(dst, src, bias[:cols], rows, cols)
}

// transpose is transposeInto, adding bias unless it is nil: 8×8 tiles
// with an AVX2 kernel where there is one (6–13× faster than the
// loop for the CNN's 16×784 and 32×196 planes), the edges with the loop.
func transpose[T float](dst, src, bias []T, rows, cols int) {
	if len(src) < rows*cols || len(dst) < rows*cols {
		panic(fmt.Sprintf("layers: transpose of %d×%d with %d and %d values", rows, cols, len(src), len(dst)))
	}
	doneRows, doneCols := transposeVec(dst, src, bias, rows, cols)
	// The right-hand columns of the rows the kernel did, then every
	// column of the rows it did not.
	transposeLoop(dst, src, bias, rows, cols, 0, doneRows, doneCols)
	transposeLoop(dst, src, bias, rows, cols, doneRows, rows, 0)
}

// transposeLoop transposes rows [r0, r1), columns [c0, cols) of src.
func transposeLoop[T float](dst, src, bias []T, rows, cols, r0, r1, c0 int) {
	for r := r0; r < r1; r++ {
		row := src[r*cols+c0 : (r+1)*cols]
		if bias == nil {
			for c, v := range row {
				dst[(c0+c)*rows+r] = v
			}
			continue
		}
		for c, v := range row {
			dst[(c0+c)*rows+r] = v + bias[c0+c]
		}
	}
}

var (
	_ G.SDOp = convOp{}
	_ G.Op   = convDataGradOp{}
	_ G.Op   = convFilterGradOp{}
)
