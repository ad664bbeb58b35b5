package solvers

import (
	"math"
)

// kernel holds one parameter's constants for one step, in float64 and
// rounded to float32 once, as PyTorch rounds a Python scalar to the
// tensor's dtype when it hands it to a float32 kernel.
type kernel struct {
	beta1, omb1, beta2, omb2 float64
	eps                      float64
	decay                    float64 // AdamW: 1 − lr·λ; 1 otherwise
	wd                       float64 // L2 coefficient added to the gradient; 0 for AdamW
	scale                    float64 // global-norm clipping coefficient; 1 when not clipping
	clip                     float64 // clip value; 0 when off
	negStep                  float64 // −lr/(1−β1ᵗ) (PyTorch) or −α_t (Keras)
	bc2sqrt                  float64 // √(1−β2ᵗ) (PyTorch) or 1 (Keras)
	maximize, amsgrad        bool
	f32                      kernel32
}

type kernel32 struct {
	beta1, omb1, beta2, omb2, eps, decay, wd, scale, clip, negStep, bc2sqrt float32
}

// plain reports whether the gradient goes into the moments unchanged, the
// common case that the fast kernels handle.
func (k *kernel) plain() bool {
	return k.wd == 0 && k.scale == 1 && k.clip == 0 && !k.maximize && !k.amsgrad
}

func (k *kernel) round32() {
	k.f32 = kernel32{
		beta1: float32(k.beta1), omb1: float32(k.omb1), beta2: float32(k.beta2), omb2: float32(k.omb2),
		eps: float32(k.eps), decay: float32(k.decay), wd: float32(k.wd), scale: float32(k.scale),
		clip: float32(k.clip), negStep: float32(k.negStep), bc2sqrt: float32(k.bc2sqrt),
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
//	v̂ ← max(v̂, v)                   AMSGrad
//	d ← √v / √(1−β2ᵗ) + ε           denom
//	θ ← θ + (−lr/(1−β1ᵗ)·m) / d     param.addcdiv_(m, d, value=−step_size)
//
// Every product sits inside an explicit conversion so that no compiler
// fuses it into an FMA (Go may on arm64), which would change the rounding
// and make results differ between platforms.

// update32Go is the portable float32 kernel over one block.
func update32Go(k *kernel, p, g, m, v, vmax []float32) {
	c := &k.f32
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	if k.plain() {
		for i := range p {
			gi := g[i]
			pi := float32(p[i] * c.decay)
			mi := float32(m[i]*c.beta1) + float32(c.omb1*gi)
			vi := float32(v[i]*c.beta2) + float32(float32(c.omb2*gi)*gi)
			m[i], v[i] = mi, vi
			d := float32(math.Sqrt(float64(vi)))/c.bc2sqrt + c.eps
			p[i] = pi + float32(c.negStep*mi)/d
			g[i] = 0
		}
		return
	}
	if k.amsgrad {
		vmax = vmax[:n]
	}
	for i := range p {
		gi := g[i]
		if k.scale != 1 {
			gi = float32(gi * c.scale)
		}
		if k.clip != 0 {
			gi = min(max(gi, -c.clip), c.clip)
		}
		if k.maximize {
			gi = -gi
		}
		if k.wd != 0 {
			gi = gi + float32(c.wd*p[i])
		}
		pi := float32(p[i] * c.decay)
		mi := float32(m[i]*c.beta1) + float32(c.omb1*gi)
		vi := float32(v[i]*c.beta2) + float32(float32(c.omb2*gi)*gi)
		m[i], v[i] = mi, vi
		if k.amsgrad {
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
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	if k.plain() {
		for i := range p {
			gi := g[i]
			pi := float64(p[i] * k.decay)
			mi := float64(m[i]*k.beta1) + float64(k.omb1*gi)
			vi := float64(v[i]*k.beta2) + float64(float64(k.omb2*gi)*gi)
			m[i], v[i] = mi, vi
			d := math.Sqrt(vi)/k.bc2sqrt + k.eps
			p[i] = pi + float64(k.negStep*mi)/d
			g[i] = 0
		}
		return
	}
	if k.amsgrad {
		vmax = vmax[:n]
	}
	for i := range p {
		gi := g[i]
		if k.scale != 1 {
			gi = float64(gi * k.scale)
		}
		if k.clip != 0 {
			gi = min(max(gi, -k.clip), k.clip)
		}
		if k.maximize {
			gi = -gi
		}
		if k.wd != 0 {
			gi = gi + float64(k.wd*p[i])
		}
		pi := float64(p[i] * k.decay)
		mi := float64(m[i]*k.beta1) + float64(k.omb1*gi)
		vi := float64(v[i]*k.beta2) + float64(float64(k.omb2*gi)*gi)
		m[i], v[i] = mi, vi
		if k.amsgrad {
			vi = max(vmax[i], vi)
			vmax[i] = vi
		}
		d := math.Sqrt(vi)/k.bc2sqrt + k.eps
		p[i] = pi + float64(k.negStep*mi)/d
		g[i] = 0
	}
}

// sumsq32Go returns the sum of squares of x in float64. It keeps eight
// running sums, element i going to sum i mod 8, and adds them pairwise at
// the end: the same order as the vector kernel, so both give the same bits.
func sumsq32Go(x []float32) float64 {
	var s [8]float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for j := 0; j < 8; j++ {
			f := float64(x[i+j])
			s[j] = s[j] + float64(f*f)
		}
	}
	for j := 0; i < len(x); i, j = i+1, j+1 {
		f := float64(x[i])
		s[j] = s[j] + float64(f*f)
	}
	return combine8(&s)
}

// sumsq64Go is sumsq32Go for float64 gradients.
func sumsq64Go(x []float64) float64 {
	var s [8]float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for j := 0; j < 8; j++ {
			f := x[i+j]
			s[j] = s[j] + float64(f*f)
		}
	}
	for j := 0; i < len(x); i, j = i+1, j+1 {
		f := x[i]
		s[j] = s[j] + float64(f*f)
	}
	return combine8(&s)
}

// combine8 adds eight partial sums in a fixed tree.
func combine8(s *[8]float64) float64 {
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}
