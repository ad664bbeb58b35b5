package solvers

import (
	"math"
)

// kernel holds one parameter's constants for one step, in float64 and
// rounded to float32 once, as PyTorch rounds a Python scalar to the
// tensor's dtype when it hands it to a float32 kernel. The vector kernels
// (kernel_amd64.s) read these structs by offset: keep the field order.
type kernel struct {
	k64 kernel64
	f32 kernel32
}

// Flags select the optional operations of the general kernels.
const (
	flagScale    = 1 << iota // multiply g by the global-norm clipping coefficient
	flagClip                 // clamp g to [−clip, clip]
	flagMaximize             // negate g
	flagWD                   // add the L2 term wd·θ to g
	flagAMSGrad              // divide by the running maximum of v
)

type kernel64 struct {
	beta1, omb1, beta2, omb2 float64
	eps                      float64
	decay                    float64 // AdamW: 1 − lr·λ; 1 otherwise
	wd                       float64 // L2 coefficient added to the gradient; 0 for AdamW
	scale                    float64 // global-norm clipping coefficient; 1 when not clipping
	clip, negClip            float64 // clip value; 0 when off
	negStep                  float64 // −lr/(1−β1ᵗ) (PyTorch) or −α_t (Keras)
	bc2sqrt                  float64 // √(1−β2ᵗ) (PyTorch) or 1 (Keras)
	signbit                  uint64  // the sign bit, for maximize
	flags                    uint64
}

type kernel32 struct {
	beta1, omb1, beta2, omb2 float32
	eps, decay, wd, scale    float32
	clip, negClip            float32
	negStep, bc2sqrt         float32
	signbit                  uint32
	flags                    uint32
}

// finish sets the flags and the float32 copy from the float64 constants.
func (k *kernel) finish() {
	c := &k.k64
	c.negClip = -c.clip
	c.signbit = 1 << 63
	c.flags = 0
	if c.scale != 1 {
		c.flags |= flagScale
	}
	if c.clip != 0 {
		c.flags |= flagClip
	}
	if c.wd != 0 {
		c.flags |= flagWD
	}
	k.f32 = kernel32{
		beta1: float32(c.beta1), omb1: float32(c.omb1), beta2: float32(c.beta2), omb2: float32(c.omb2),
		eps: float32(c.eps), decay: float32(c.decay), wd: float32(c.wd), scale: float32(c.scale),
		clip: float32(c.clip), negClip: -float32(c.clip), negStep: float32(c.negStep), bc2sqrt: float32(c.bc2sqrt),
		signbit: 1 << 31, flags: uint32(c.flags),
	}
}

// The kernels below follow torch.optim's _single_tensor_adam/_adamw (1.13)
// operation by operation, with each operation rounded to the tensor's
// dtype as PyTorch's CPU kernels round it:
//
//	g ← g·scale                     clip_grad_norm_ (mul_)
//	g ← clamp(g, −clip, clip)       clip_grad_value_
//	g ← −g                          maximize
//	g ← g + λ·θ                     Adam's L2 (grad.add(param, alpha=λ))
//	θ ← θ·(1 − lr·λ)                AdamW (param.mul_)
//	m ← m·β1 + (1−β1)·g             exp_avg.mul_(β1).add_(g, alpha=1−β1)
//	v ← v·β2 + ((1−β2)·g)·g         exp_avg_sq.mul_(β2).addcmul_(g, g, value=1−β2)
//	m, v ← 0 where subnormal        (not in PyTorch: see flush32)
//	v̂ ← max(v̂, v)                   AMSGrad
//	d ← √v / √(1−β2ᵗ) + ε           denom
//	θ ← θ + (−lr/(1−β1ᵗ)·m) / d     param.addcdiv_(m, d, value=−step_size)
//
// Every product sits inside an explicit conversion so that no compiler
// fuses it into an FMA (Go may on arm64), which would change the rounding
// and make results differ between platforms.

// flush32 returns +0 for a subnormal x (or ±0), x otherwise.
//
// A weight whose gradient stops (a pixel that is blank in every image, a
// dead ReLU unit) has its first moment multiplied by β1 every step; it
// sinks into the subnormal range and, since β1 times the smallest subnormal
// rounds back to it, stays there for good. Arithmetic on subnormals takes a
// microcode assist on x86: measured here, such moments made a float32 step
// of the MNIST MLP 15× slower (1.07 ms instead of 70 µs) from about step
// 750 on. Moments below the smallest normal number (1.2e-38 in float32,
// 2.2e-308 in float64) change no update that float32 or float64 can
// represent, so flushing them to zero keeps every parameter PyTorch would
// compute while keeping the step fast. The vector kernels flush the same
// way, so both stay bit-identical.
func flush32(x float32) float32 {
	if math.Float32bits(x)&0x7f800000 == 0 {
		return 0
	}
	return x
}

// flush64 is flush32 for float64.
func flush64(x float64) float64 {
	if math.Float64bits(x)&0x7ff0000000000000 == 0 {
		return 0
	}
	return x
}

// update32Go is the portable float32 kernel over one block; the vector
// kernel does the same operations in the same order.
func update32Go(k *kernel, p, g, m, v, vmax []float32) {
	c := &k.f32
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	f := c.flags
	if f&flagAMSGrad != 0 {
		vmax = vmax[:n]
	}
	for i := range p {
		gi := g[i]
		if f != 0 {
			if f&flagScale != 0 {
				gi = float32(gi * c.scale)
			}
			if f&flagClip != 0 {
				gi = min(max(gi, c.negClip), c.clip)
			}
			if f&flagMaximize != 0 {
				gi = -gi
			}
			if f&flagWD != 0 {
				gi = gi + float32(c.wd*p[i])
			}
		}
		pi := float32(p[i] * c.decay)
		mi := flush32(float32(m[i]*c.beta1) + float32(c.omb1*gi))
		vi := flush32(float32(v[i]*c.beta2) + float32(float32(c.omb2*gi)*gi))
		m[i], v[i] = mi, vi
		if f&flagAMSGrad != 0 {
			vi = max(vmax[i], vi)
			vmax[i] = vi
		}
		d := float32(math.Sqrt(float64(vi)))/c.bc2sqrt + c.eps
		p[i] = pi + float32(c.negStep*mi)/d
		g[i] = 0
	}
}

// update64Go is the portable float64 kernel over one block.
func update64Go(k *kernel, p, g, m, v, vmax []float64) {
	c := &k.k64
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	f := c.flags
	if f&flagAMSGrad != 0 {
		vmax = vmax[:n]
	}
	for i := range p {
		gi := g[i]
		if f != 0 {
			if f&flagScale != 0 {
				gi = float64(gi * c.scale)
			}
			if f&flagClip != 0 {
				gi = min(max(gi, c.negClip), c.clip)
			}
			if f&flagMaximize != 0 {
				gi = -gi
			}
			if f&flagWD != 0 {
				gi = gi + float64(c.wd*p[i])
			}
		}
		pi := float64(p[i] * c.decay)
		mi := flush64(float64(m[i]*c.beta1) + float64(c.omb1*gi))
		vi := flush64(float64(v[i]*c.beta2) + float64(float64(c.omb2*gi)*gi))
		m[i], v[i] = mi, vi
		if f&flagAMSGrad != 0 {
			vi = max(vmax[i], vi)
			vmax[i] = vi
		}
		d := math.Sqrt(vi)/c.bc2sqrt + c.eps
		p[i] = pi + float64(c.negStep*mi)/d
		g[i] = 0
	}
}

// sumLanes is the number of running sums of the sum of squares: element i
// of a block goes to sum i mod sumLanes, and the sums are combined in a
// fixed tree, the order the vector kernel uses, so both give the same bits.
const sumLanes = 16

// sumsq32Go adds the squares of x (in float64) into the lanes of s, x's
// first element going to lane 0.
func sumsq32Go(x []float32, s *[sumLanes]float64) {
	for i, e := range x {
		f := float64(e)
		s[i%sumLanes] = s[i%sumLanes] + float64(f*f)
	}
}

// sumsq64Go is sumsq32Go for float64.
func sumsq64Go(x []float64, s *[sumLanes]float64) {
	for i, f := range x {
		s[i%sumLanes] = s[i%sumLanes] + float64(f*f)
	}
}

// combineLanes adds the lanes as the vector kernel does: lane j with
// j+8, then j with j+4, then j with j+2, then the last two.
func combineLanes(s *[sumLanes]float64) float64 {
	var t [4]float64
	for j := 0; j < 4; j++ {
		t[j] = (s[j] + s[j+8]) + (s[j+4] + s[j+12])
	}
	return (t[0] + t[2]) + (t[1] + t[3])
}

// sumsq32 is the sum of squares of one block of float32 gradients.
func sumsq32(x []float32) float64 {
	var s [sumLanes]float64
	n := len(x) &^ (sumLanes - 1)
	sumsq32Vec(x[:n], &s)
	sumsq32Go(x[n:], &s)
	return combineLanes(&s)
}

// sumsq64 is the sum of squares of one block of float64 gradients.
func sumsq64(x []float64) float64 {
	var s [sumLanes]float64
	n := len(x) &^ (sumLanes - 1)
	sumsq64Vec(x[:n], &s)
	sumsq64Go(x[n:], &s)
	return combineLanes(&s)
}
