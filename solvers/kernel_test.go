package solvers

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"gorgonia.org/tensor"
)

// TestKernelLayout pins the offsets kernel_amd64.s reads.
func TestKernelLayout(t *testing.T) {
	var k32 kernel32
	var k64 kernel64
	offs32 := []uintptr{unsafe.Offsetof(k32.beta1), unsafe.Offsetof(k32.omb1), unsafe.Offsetof(k32.beta2), unsafe.Offsetof(k32.omb2),
		unsafe.Offsetof(k32.eps), unsafe.Offsetof(k32.decay), unsafe.Offsetof(k32.wd), unsafe.Offsetof(k32.scale),
		unsafe.Offsetof(k32.clip), unsafe.Offsetof(k32.negClip), unsafe.Offsetof(k32.negStep), unsafe.Offsetof(k32.bc2sqrt),
		unsafe.Offsetof(k32.signbit), unsafe.Offsetof(k32.flags)}
	offs64 := []uintptr{unsafe.Offsetof(k64.beta1), unsafe.Offsetof(k64.omb1), unsafe.Offsetof(k64.beta2), unsafe.Offsetof(k64.omb2),
		unsafe.Offsetof(k64.eps), unsafe.Offsetof(k64.decay), unsafe.Offsetof(k64.wd), unsafe.Offsetof(k64.scale),
		unsafe.Offsetof(k64.clip), unsafe.Offsetof(k64.negClip), unsafe.Offsetof(k64.negStep), unsafe.Offsetof(k64.bc2sqrt),
		unsafe.Offsetof(k64.signbit), unsafe.Offsetof(k64.flags)}
	for i := range offs32 {
		if offs32[i] != uintptr(4*i) || offs64[i] != uintptr(8*i) {
			t.Fatalf("field %d at %d/%d, want %d/%d", i, offs32[i], offs64[i], 4*i, 8*i)
		}
	}
}

// randomKernel returns plausible step constants with the given flags.
func randomKernel(rng *rand.Rand, flags uint64) kernel {
	var k kernel
	c := &k.k64
	c.beta1, c.beta2 = 0.5+0.49*rng.Float64(), 0.9+0.099*rng.Float64()
	c.omb1, c.omb2 = 1-c.beta1, 1-c.beta2
	c.eps, c.decay, c.scale = 1e-8, 1-1e-3*rng.Float64(), 1
	c.negStep, c.bc2sqrt = -1e-2*rng.Float64(), math.Sqrt(rng.Float64())
	if flags&flagScale != 0 {
		c.scale = rng.Float64()
	}
	if flags&flagClip != 0 {
		c.clip = 0.5
	}
	if flags&flagWD != 0 {
		c.wd = 0.1
	}
	k.finish()
	c.flags |= flags & (flagMaximize | flagAMSGrad)
	k.f32.flags = uint32(c.flags)
	return k
}

// TestVectorKernelsMatchPortable: with every combination of options and
// every tail length, the vector kernels give the portable kernels' bits.
func TestVectorKernelsMatchPortable(t *testing.T) {
	if kernelName() == "portable Go" {
		t.Skip("no vector kernels on this machine or build")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for flags := uint64(0); flags < 32; flags++ {
		for _, n := range []int{1, 3, 4, 7, 8, 9, 15, 16, 17, 33, 100, 1000} {
			k := randomKernel(rng, flags)
			for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
				data := make([][]float64, 5) // p, g, m, v, vmax
				for i := range data {
					data[i] = make([]float64, n)
					for j := range data[i] {
						data[i][j] = rng.NormFloat64()
						if i >= 3 {
							data[i][j] *= data[i][j] // second moments are ≥ 0
						}
					}
				}
				results := [2][][]float64{}
				for pass, vec := range []bool{false, true} {
					useVec := setVector(vec)
					if dt == tensor.Float32 {
						b := make([][]float32, 5)
						for i := range b {
							b[i] = make([]float32, n)
							for j := range b[i] {
								b[i][j] = float32(data[i][j])
							}
						}
						update32(&k, b[0], b[1], b[2], b[3], b[4])
						for i := range b {
							row := make([]float64, n)
							for j := range row {
								row[j] = float64(b[i][j])
							}
							results[pass] = append(results[pass], row)
						}
						s := sumsq32(b[0])
						results[pass] = append(results[pass], []float64{s})
					} else {
						b := make([][]float64, 5)
						for i := range b {
							b[i] = append([]float64(nil), data[i]...)
						}
						update64(&k, b[0], b[1], b[2], b[3], b[4])
						results[pass] = append(results[pass], b...)
						results[pass] = append(results[pass], []float64{sumsq64(b[0])})
					}
					setVector(useVec)
				}
				for i := range results[0] {
					for j := range results[0][i] {
						if math.Float64bits(results[0][i][j]) != math.Float64bits(results[1][i][j]) {
							t.Fatalf("flags %05b, n %d, %v: array %d element %d: portable %v, vector %v", flags, n, dt, i, j, results[0][i][j], results[1][i][j])
						}
					}
				}
			}
		}
	}
}

// TestClipping checks both clips against hand-computed moments: after one
// step m = (1−β1)·g', g' being the clipped gradient.
func TestClipping(t *testing.T) {
	beta1 := 0.9
	omb1 := 1 - beta1 // as PyTorch computes it: 0.09999999999999998
	// Global norm of {3, 4} and {0, 12} is 13; max norm 6.5 halves it
	// (up to clip_grad_norm_'s 1e-6 guard).
	a := newTestParam("a", 3, 4)
	b := newTestParam("b", 0, 12)
	s, err := NewAdam(WithClipNorm(6.5))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Step(testVGs(a, b)); err != nil {
		t.Fatal(err)
	}
	norm := math.Sqrt(3*3 + 4*4 + 12*12)
	coef := 6.5 / (norm + 1e-6)
	for _, c := range []struct {
		p    *testParam
		want []float64
	}{{a, []float64{omb1 * (3 * coef), omb1 * (4 * coef)}}, {b, []float64{omb1 * (0 * coef), omb1 * (12 * coef)}}} {
		m := s.states[c.p.name].m64
		for i := range m {
			if m[i] != c.want[i] {
				t.Errorf("clip norm: m[%s][%d] = %v, want %v", c.p.name, i, m[i], c.want[i])
			}
		}
	}
	// A norm below the limit is left alone.
	c := newTestParam("c", 0.3, -0.4)
	s, _ = NewAdam(WithClipNorm(1))
	_ = s.Step(testVGs(c))
	if m := s.states["c"].m64; m[0] != omb1*0.3 || m[1] != omb1*-0.4 {
		t.Errorf("clip norm under the limit changed the gradient: m = %v", m)
	}
	// Clip by value clamps each element.
	d := newTestParam("d", 3, -4, 0.2, -0.5)
	s, _ = NewAdam(WithClipValue(0.5))
	_ = s.Step(testVGs(d))
	want := []float64{omb1 * 0.5, omb1 * -0.5, omb1 * 0.2, omb1 * -0.5}
	for i, m := range s.states["d"].m64 {
		if m != want[i] {
			t.Errorf("clip value: m[%d] = %v, want %v", i, m, want[i])
		}
	}
}
