package layers

import (
	"fmt"
	"hash"
	"sync"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

// poolOp is a 2-D max pooling over NCHW input. The forward pass records
// each window's winner in winners, which its gradient op shares, so the
// backward pass is a scatter instead of a second search of every window
// (that search was a third of the pooling's time in the MNIST CNN). An op
// without winners (built by hand, in a test) makes the backward pass
// search again; so does a gradient whose forward pass has not run on this
// shape.
//
// With relu set it pools relu(x) instead of x, the ReLU computed plane by
// plane on the fly (Sequential fuses a ReLU that a MaxPool2D follows):
// the same values and gradients, bit for bit, without writing the ReLU's
// output and reading it back, nor making the ReLU's backward pass over
// it, three passes over the largest activations of a CNN.
type poolOp struct {
	opkit.Pure
	kernel, stride, padding int
	relu                    bool
	out                     *opkit.Output
	winners                 *poolWinners
}

// poolWinners holds, for every output of the last forward pass, the index
// of its window's winner within its plane; with a fused ReLU, a winner
// that is not positive (so that the ReLU's gradient there is 0) is stored
// as ^index, which the backward pass skips.
type poolWinners struct{ idx []int32 }

// record returns room for n winners, or nil when w is nil.
func (w *poolWinners) record(n int) []int32 {
	if w == nil {
		return nil
	}
	if cap(w.idx) < n {
		w.idx = make([]int32, n)
	}
	w.idx = w.idx[:n]
	return w.idx
}

// recorded returns the winners of a forward pass with n outputs, or nil.
func (w *poolWinners) recorded(n int) []int32 {
	if w == nil || len(w.idx) != n {
		return nil
	}
	return w.idx
}

// poolGeom is the geometry of one pooling run.
type poolGeom struct {
	planes, h, w, oh, ow int
	kernel, stride, pad  int
	relu                 bool
}

func (op poolOp) geom(s tensor.Shape) (poolGeom, error) {
	if len(s) != 4 {
		return poolGeom{}, errors.Errorf("layers: %v needs an NCHW input, got shape %v", op, s)
	}
	g := poolGeom{planes: s[0] * s[1], h: s[2], w: s[3], kernel: op.kernel, stride: op.stride, pad: op.padding, relu: op.relu}
	if g.h < 1 || g.w < 1 || op.kernel < 1 || op.stride < 1 || op.padding < 0 || 2*op.padding > op.kernel ||
		g.h+2*g.pad < g.kernel || g.w+2*g.pad < g.kernel {
		return poolGeom{}, errors.Errorf("layers: %v does not fit input shape %v", op, s)
	}
	g.oh, g.ow = outSize(g.h, g.kernel, g.stride, g.pad), outSize(g.w, g.kernel, g.stride, g.pad)
	return g, nil
}

func (op poolOp) Arity() int    { return 1 }
func (op poolOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a) }
func (op poolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeArg(op.String(), in, 0)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(s)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{s[0], s[1], g.oh, g.ow}, nil
}
func (op poolOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "adamant.%v", op) }
func (op poolOp) Hashcode() uint32      { return opkit.Hash(op) }
func (op poolOp) String() string {
	if op.relu {
		return fmt.Sprintf("MaxPool2D{k=%d,s=%d,p=%d}∘ReLU", op.kernel, op.stride, op.padding)
	}
	return fmt.Sprintf("MaxPool2D{k=%d,s=%d,p=%d}", op.kernel, op.stride, op.padding)
}
func (op poolOp) Do(vals ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vals...) }

// UsePreallocDo writes into prealloc when the machine offers one.
func (op poolOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, err := denseArg(op.String(), vals, 0)
	if err != nil {
		return nil, err
	}
	g, err := op.geom(x.Shape())
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	outShape := tensor.Shape{s[0], s[1], g.oh, g.ow}
	y := op.out.Get(prealloc, x.Dtype(), outShape...)
	win := op.winners.record(y.Shape().TotalSize())
	switch xs := x.Data().(type) {
	case []float32:
		poolForward(g, xs, y.Data().([]float32), win)
	case []float64:
		poolForward(g, xs, y.Data().([]float64), win)
	}
	return y, nil
}

func (op poolOp) DiffWRT(int) []bool { return []bool{true} }

func (op poolOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("layers: %v has %d inputs, want 1", op, len(in))
	}
	diff := poolDiffOp(op)
	diff.out = opkit.NewOutput()
	dx, err := G.ApplyOp(diff, in[0], grad)
	return G.Nodes{dx}, err
}

// poolDiffOp routes each output's gradient to its window's winner.
type poolDiffOp poolOp

func (op poolDiffOp) Arity() int    { return 2 }
func (op poolDiffOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a, a) }
func (op poolDiffOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return shapeArg(op.String(), in, 0)
}
func (op poolDiffOp) WriteHash(h hash.Hash)               { fmt.Fprintf(h, "adamant.%v", op) }
func (op poolDiffOp) Hashcode() uint32                    { return opkit.Hash(op) }
func (op poolDiffOp) String() string                      { return poolOp(op).String() + "Diff" }
func (op poolDiffOp) Do(vals ...G.Value) (G.Value, error) { return op.UsePreallocDo(nil, vals...) }

// UsePreallocDo writes into prealloc when the machine offers one.
func (op poolDiffOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	name := op.String()
	x, err := denseArg(name, vals, 0)
	if err != nil {
		return nil, err
	}
	gr, err := denseArg(name, vals, 1)
	if err != nil {
		return nil, err
	}
	g, err := poolOp(op).geom(x.Shape())
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	if want := (tensor.Shape{s[0], s[1], g.oh, g.ow}); !gr.Shape().Eq(want) || gr.Dtype() != x.Dtype() {
		return nil, errors.Errorf("layers: %s: gradient has shape %v %v, want %v %v", name, gr.Shape(), gr.Dtype(), want, x.Dtype())
	}
	dx := op.out.Like(prealloc, x)
	win := op.winners.recorded(gr.Shape().TotalSize())
	switch xs := x.Data().(type) {
	case []float32:
		poolBackward(g, xs, gr.Data().([]float32), dx.Data().([]float32), win)
	case []float64:
		poolBackward(g, xs, gr.Data().([]float64), dx.Data().([]float64), win)
	}
	return dx, nil
}

// poolWinner returns the index, within plane p, of the winner of window
// (oy, ox): the first NaN, or else the first maximum. Padding cells never
// win; the padding ≤ kernel/2 rule leaves every window a real cell.
func poolWinner[T float](g poolGeom, p []T, oy, ox int) int {
	y0, x0 := oy*g.stride-g.pad, ox*g.stride-g.pad
	y1, x1 := min(y0+g.kernel, g.h), min(x0+g.kernel, g.w)
	y0, x0 = max(y0, 0), max(x0, 0)
	best := y0*g.w + x0
	bv := p[best]
	if bv != bv { // NaN wins at once
		return best
	}
	for y := y0; y < y1; y++ {
		row := p[y*g.w : y*g.w+x1]
		for x := x0; x < x1; x++ {
			v := row[x]
			if v != v {
				return y*g.w + x
			}
			if v > bv {
				bv, best = v, y*g.w+x
			}
		}
	}
	return best
}

// winner2x2 is poolWinner for the common 2×2 window with stride 2 and no
// padding, whose window always lies inside the plane: the same rule (the
// first NaN, else the first maximum, in row-major order) in straight-line
// code, which made pooling in the MNIST CNN about twice as fast.
func winner2x2[T float](p []T, w, oy, ox int) int {
	i0 := 2*oy*w + 2*ox
	i1, i2, i3 := i0+1, i0+w, i0+w+1
	a, b, c, d := p[i0], p[i1], p[i2], p[i3]
	if a != a {
		return i0
	}
	best, bv := i0, a
	if b != b {
		return i1
	}
	if b > bv {
		best, bv = i1, b
	}
	if c != c {
		return i2
	}
	if c > bv {
		best, bv = i2, c
	}
	if d != d {
		return i3
	}
	if d > bv {
		best = i3
	}
	return best
}

// pool2x2Plane pools plane p into q with 2×2 windows of stride 2 and no
// padding, recording the winners in win unless it is nil: winner2x2's
// rule, with the window's four values read once, the rare window that
// holds a NaN sent to winner2x2 and the others compared without it, in
// code the compiler turns into conditional moves rather than branches
// that ReLU's many ties make unpredictable.
func pool2x2Plane[T float](g poolGeom, p, q []T, win []int32) {
	if pool2x2PlaneVec(g, p, q, win) {
		return
	}
	w := g.w
	for oy := 0; oy < g.oh; oy++ {
		i0 := 2 * oy * w
		r0, r1 := p[i0:i0+2*g.ow], p[i0+w:i0+w+2*g.ow]
		out := q[oy*g.ow : (oy+1)*g.ow]
		for ox := range out {
			a, b, c, d := r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]
			var at int
			if a != a || b != b || c != c || d != d {
				at = winner2x2(p, w, oy, ox)
			} else {
				// The first maximum of each row, then of the two. Only
				// integers are chosen, which the compiler does with
				// conditional moves; the values are loaded again.
				topAt, bottomAt := 0, 0
				if b > a {
					topAt = 1
				}
				if d > c {
					bottomAt = 1
				}
				inBottom := 0
				if r1[2*ox+bottomAt] > r0[2*ox+topAt] {
					inBottom = 1
				}
				at = i0 + 2*ox + topAt + inBottom*(w+bottomAt-topAt)
			}
			out[ox] = p[at]
			if win != nil {
				win[oy*g.ow+ox] = int32(at)
			}
		}
	}
}

// is2x2 tells whether winner2x2 applies.
func (g poolGeom) is2x2() bool { return g.kernel == 2 && g.stride == 2 && g.pad == 0 }

// rectifiedPlanes holds the buffers a fused ReLU rectifies planes into,
// one per running part, kept from call to call: *[]float32 and *[]float64.
var rectifiedPlanes typedPools

// rectifiedPlane returns a buffer of at least n values from pool (T's of
// rectifiedPlanes), or a new one.
func rectifiedPlane[T float](pool *sync.Pool, n int) *[]T {
	if b, ok := pool.Get().(*[]T); ok && cap(*b) >= n {
		return b
	}
	b := make([]T, n)
	return &b
}

// poolForward pools every plane, the planes split over the pool's
// workers, and records the winners in win unless it is nil.
func poolForward[T float](g poolGeom, x, y []T, win []int32) {
	in, out := g.h*g.w, g.oh*g.ow
	parallelFor(g.planes, func(lo, hi int) {
		var rect []T
		if g.relu {
			pool := poolOf[T](&rectifiedPlanes)
			buf := rectifiedPlane[T](pool, in)
			defer pool.Put(buf)
			rect = (*buf)[:in]
		}
		for pl := lo; pl < hi; pl++ {
			p, q := x[pl*in:(pl+1)*in], y[pl*out:(pl+1)*out]
			var w []int32
			if win != nil {
				w = win[pl*out : (pl+1)*out]
			}
			if g.relu {
				// The ReLU's own kernel and rule, so the pooled values
				// are those of pooling the ReLU's output.
				reluMask(p, p, rect)
				p = rect
			}
			if g.is2x2() {
				pool2x2Plane(g, p, q, w)
			} else {
				for oy := 0; oy < g.oh; oy++ {
					for ox := 0; ox < g.ow; ox++ {
						at := poolWinner(g, p, oy, ox)
						q[oy*g.ow+ox] = p[at]
						if w != nil {
							w[oy*g.ow+ox] = int32(at)
						}
					}
				}
			}
			if g.relu && w != nil {
				// A winner the ReLU zeroed passes no gradient back.
				for o, v := range q {
					if !(v > 0) {
						w[o] = ^w[o]
					}
				}
			}
		}
	})
}

// poolBackward routes the gradient plane by plane to the winners, those
// recorded in win or, when it is nil, searched again; the planes are split
// over the pool's workers. With a fused ReLU, a winner that is not
// positive gets nothing, as the ReLU's backward pass would have zeroed
// what the pooling's gave it.
func poolBackward[T float](g poolGeom, x, grad, dx []T, win []int32) {
	in, out := g.h*g.w, g.oh*g.ow
	parallelFor(g.planes, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			p, q, d := x[pl*in:(pl+1)*in], grad[pl*out:(pl+1)*out], dx[pl*in:(pl+1)*in]
			if win != nil && g.is2x2() && g.h%2 == 0 && g.w%2 == 0 && pool2x2BackwardVec(g, q, d, win[pl*out:(pl+1)*out]) {
				continue
			}
			clear(d)
			if win != nil {
				// Overlapping windows (stride < kernel) may share a
				// winner, whose gradient is then the sum.
				for o, at := range win[pl*out : (pl+1)*out] {
					if at >= 0 {
						d[at] += q[o]
					}
				}
				continue
			}
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					var at int
					switch {
					case g.relu:
						at = poolWinnerReLU(g, p, oy, ox)
						if !(p[at] > 0) {
							continue
						}
					case g.is2x2():
						at = winner2x2(p, g.w, oy, ox)
					default:
						at = poolWinner(g, p, oy, ox)
					}
					d[at] += q[oy*g.ow+ox]
				}
			}
		}
	})
}

// poolWinnerReLU is poolWinner over relu(p), for the backward pass of a
// fused ReLU whose forward pass recorded no winners: the first maximum of
// the rectified values, none of which is NaN.
func poolWinnerReLU[T float](g poolGeom, p []T, oy, ox int) int {
	y0, x0 := oy*g.stride-g.pad, ox*g.stride-g.pad
	y1, x1 := min(y0+g.kernel, g.h), min(x0+g.kernel, g.w)
	y0, x0 = max(y0, 0), max(x0, 0)
	best, bv := y0*g.w+x0, T(0)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if v := p[y*g.w+x]; v > bv {
				bv, best = v, y*g.w+x
			}
		}
	}
	return best
}

var (
	_ G.SDOp            = poolOp{}
	_ G.UsePreallocDoer = poolOp{}
	_ G.Op              = poolDiffOp{}
	_ G.UsePreallocDoer = poolDiffOp{}
)
