package opkit

import (
	"hash"
	"hash/fnv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Float is the set of element types the ops support.
type Float interface{ ~float32 | ~float64 }

// Pure supplies the gorgonia.Op answers every op of ours shares: each
// returns a value that is not a view of an input, runs in Go, and
// overwrites none of its inputs. Embed it.
type Pure struct{}

// ReturnsPtr implements gorgonia.Op.
func (Pure) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (Pure) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op.
func (Pure) OverwritesInput() int { return -1 }

// Hash is Hashcode for an op: Gorgonia merges nodes whose ops hash the same
// and whose children are the same, so WriteHash must spell out every
// parameter (and nothing else: not an Output, which two equal nodes may
// well have different ones of).
func Hash(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// Output is the result buffer of one op node, kept across runs. Create one
// per node (where the op is applied, never in a value that several nodes
// share: two nodes writing one buffer would overwrite each other's
// results). The zero of *Output, nil, keeps nothing: every Get allocates,
// which is what an op built without one (in a test, say) gets.
//
// An Output is used by one machine at a time, like the op that holds it.
type Output struct {
	t *tensor.Dense
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{} }

// Get returns a tensor of dtype dt and the given shape for an op's result:
// prealloc when the machine offers one that fits, else the kept tensor
// when it fits, else a new one, which is kept. Its contents are whatever
// the last run left (zeros only when new): an op that accumulates into its
// result must clear it first.
func (o *Output) Get(prealloc G.Value, dt tensor.Dtype, shape ...int) *tensor.Dense {
	if p, ok := prealloc.(*tensor.Dense); ok && fits(p, dt, shape) {
		return p
	}
	if o != nil && o.t != nil && fits(o.t, dt, shape) {
		return o.t
	}
	t := tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.Of(dt))
	if o != nil {
		o.t = t
	}
	return t
}

// Like is Get for a result shaped like x.
func (o *Output) Like(prealloc G.Value, x *tensor.Dense) *tensor.Dense {
	return o.Get(prealloc, x.Dtype(), x.Shape()...)
}

// fits reports whether t is a plain (not a view, not transposed) tensor of
// dtype dt and the given shape.
func fits(t *tensor.Dense, dt tensor.Dtype, shape []int) bool {
	if t.Dtype() != dt || t.IsView() || !t.Shape().Eq(tensor.Shape(shape)) {
		return false
	}
	return true
}
