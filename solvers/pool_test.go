package solvers

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// mlpParams returns zeroed parameters of the MNIST MLP's shapes in dt.
func mlpParams(dt tensor.Dtype) []G.ValueGrad {
	var vgs []G.ValueGrad
	for i, n := range []int{784 * 128, 128, 128 * 10, 10} {
		vgs = append(vgs, &testParam{name: string(rune('a' + i)),
			w: tensor.New(tensor.Of(dt), tensor.WithShape(n)),
			g: tensor.New(tensor.Of(dt), tensor.WithShape(n))})
	}
	return vgs
}

// TestBlocksOnWorkersBitIdentical: steps whose blocks pool workers ran
// give the same bits as steps on one goroutine, in both precisions, with
// clipping by norm (which adds the blocks' partial sums) and AMSGrad. It
// steps until workers have run blocks, which the timing-dependent
// TestWorkersBitIdentical does not make sure of.
func TestBlocksOnWorkersBitIdentical(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: pool workers may never run while the caller does")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var helped atomic.Int64
	testHookWorkerBlock = func() { helped.Add(1) }
	defer func() { testHookWorkerBlock = nil }()
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		helped.Store(0)
		solo, err := NewAdam(WithWorkers(1), WithClipNorm(0.5), WithAMSGrad())
		if err != nil {
			t.Fatal(err)
		}
		shared, err := NewAdam(WithWorkers(2), WithClipNorm(0.5), WithAMSGrad())
		if err != nil {
			t.Fatal(err)
		}
		shared.forceSplit = true
		p1, p2 := mlpParams(dt), mlpParams(dt)
		// A few gradient sets drawn once and cycled: refilling is then a
		// copy, so steps follow each other faster than a worker stops
		// polling (1 ms), and workers join even on a loaded machine, where
		// waking a parked one can take longer than a whole step.
		rng := rand.New(rand.NewPCG(3, 4))
		var sets [3][][]float64
		for k := range sets {
			for i := range p1 {
				g := make([]float64, p1[i].(*testParam).g.Len())
				for j := range g {
					g[j] = rng.NormFloat64()
				}
				sets[k] = append(sets[k], g)
			}
		}
		steps := 0
		for ; steps < 5 || helped.Load() == 0 && steps < 5000; steps++ {
			for i := range p1 {
				g1, g2 := p1[i].(*testParam).g, p2[i].(*testParam).g
				for j, x := range sets[steps%len(sets)][i] {
					if dt == tensor.Float32 {
						g1.Float32s()[j], g2.Float32s()[j] = float32(x), float32(x)
					} else {
						g1.Float64s()[j], g2.Float64s()[j] = x, x
					}
				}
			}
			if err := solo.Step(p1); err != nil {
				t.Fatal(err)
			}
			if err := shared.Step(p2); err != nil {
				t.Fatal(err)
			}
			if solo.GradNorm() != shared.GradNorm() {
				t.Fatalf("%v, step %d: grad norm %v on one goroutine, %v shared", dt, steps, solo.GradNorm(), shared.GradNorm())
			}
		}
		if helped.Load() == 0 {
			t.Fatalf("%v: no pool worker ran a block in %d steps", dt, steps)
		}
		for i := range p1 {
			w1, w2 := p1[i].(*testParam).w, p2[i].(*testParam).w
			for j := 0; j < w1.Len(); j++ {
				var a, b uint64
				if dt == tensor.Float32 {
					a, b = uint64(math.Float32bits(w1.Float32s()[j])), uint64(math.Float32bits(w2.Float32s()[j]))
				} else {
					a, b = math.Float64bits(w1.Float64s()[j]), math.Float64bits(w2.Float64s()[j])
				}
				if a != b {
					t.Fatalf("%v, after %d steps (%d blocks on workers): weight %d[%d] differs", dt, steps, helped.Load(), i, j)
				}
			}
		}
		t.Logf("%v: %d steps, %d blocks on workers", dt, steps, helped.Load())
	}
}
