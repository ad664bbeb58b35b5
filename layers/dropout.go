package layers

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropout is the Dropout layer.
type dropout struct{ p float64 }

// Dropout zeroes each element of its input with probability p during
// training and scales the survivors by 1/(1−p), so that the inference
// program, where Dropout is the identity, sees activations of the same
// expected size (Srivastava et al. 2014; PyTorch's nn.Dropout). p must lie
// in [0, 1); p = 0 is the identity.
//
// Unlike Gorgonia's G.Dropout, whose backward pass divides by p instead of
// 1−p and whose mask is seeded from the clock, the mask here is an input
// node that a run hook refills before every training step from a PCG
// stream keyed by the scope's seed, the layer's unique name and the step:
// a seed gives bit-identical masks, independent of the order in which
// layers draw, and a resumed run at step n draws the mask an uninterrupted
// run drew at step n. The output is x ⊙ mask, whose gradient is g ⊙ mask.
func Dropout(p float64) Layer { return dropout{p: p} }

// validate checks p's range.
func (d dropout) validate() error {
	if !(d.p >= 0 && d.p < 1) { // also rejects NaN
		return errors.Errorf("layers: Dropout p = %v is out of range [0, 1)", d.p)
	}
	return nil
}

// Forward multiplies x by a fresh mask in a training build and returns x
// unchanged otherwise.
func (d dropout) Forward(s *Scope, x *G.Node) (*G.Node, error) {
	if err := checkInput("Dropout", s, x); err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	// The name is taken in every build so that both hand out the same
	// names afterwards.
	name := s.UniqueName("dropout")
	if !s.Training() || d.p == 0 {
		return x, nil
	}
	mask, maskT, err := s.Input(name+"/mask", x.Shape().Clone())
	if err != nil {
		return nil, err
	}
	s.OnRun(newMaskFiller(d.p, s.Seed(), name, maskT).fill)
	return guard(d.String(), func() (*G.Node, error) { return G.HadamardProd(x, mask) })
}

// String names the layer for model summaries.
func (d dropout) String() string { return fmt.Sprintf("Dropout(%g)", d.p) }

// maskFiller refills one dropout mask before every run. It owns its PCG and
// reseeds it in place, so a step allocates nothing.
type maskFiller struct {
	pcg       rand.PCG
	seed      uint64
	key       uint64
	threshold uint64 // an element is dropped when a uniform uint64 < threshold
	scale     float64
	// The mask's backing slice, held typed: asking the tensor for its
	// Data() on every step would box the slice header (an allocation).
	mask32 []float32
	mask64 []float64
}

// newMaskFiller prepares the mask hook of the dropout layer called name.
func newMaskFiller(p float64, seed uint64, name string, mask *tensor.Dense) *maskFiller {
	h := fnv.New64a()
	h.Write([]byte(name))
	f := &maskFiller{seed: seed, key: h.Sum64(), scale: 1 / (1 - p)}
	switch d := mask.Data().(type) {
	case []float32:
		f.mask32 = d
	case []float64:
		f.mask64 = d
	}
	// p·2⁶⁴ rounded down; p < 1 keeps it below 2⁶⁴.
	f.threshold = uint64(math.Ldexp(p, 64))
	if p > 0 && f.threshold == 0 {
		f.threshold = 1
	}
	return f
}

// splitmix64 scrambles a 64-bit word (Steele et al. 2014); it decorrelates
// the PCG seeds of neighbouring steps and names.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fill draws the mask for the given training step.
func (f *maskFiller) fill(step int64) error {
	f.pcg.Seed(splitmix64(f.seed^splitmix64(f.key)), splitmix64(uint64(step)^f.key))
	fillMask(&f.pcg, f.threshold, float32(f.scale), f.mask32)
	fillMask(&f.pcg, f.threshold, f.scale, f.mask64)
	return nil
}

func fillMask[T float](pcg *rand.PCG, threshold uint64, scale T, m []T) {
	for i := range m {
		if pcg.Uint64() < threshold {
			m[i] = 0
		} else {
			m[i] = scale
		}
	}
}
