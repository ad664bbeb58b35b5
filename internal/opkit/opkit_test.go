package opkit_test

import (
	"fmt"
	"hash"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/opkit"
)

func TestOutputGet(t *testing.T) {
	fitting := tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32))
	tests := []struct {
		name      string
		prealloc  *tensor.Dense
		dtype     tensor.Dtype
		shape     []int
		wantPre   bool // the machine's tensor is used (and not kept)
		wantShape tensor.Shape
	}{
		{"no prealloc", nil, tensor.Float32, []int{2, 3}, false, tensor.Shape{2, 3}},
		{"fitting prealloc", fitting, tensor.Float32, []int{2, 3}, true, tensor.Shape{2, 3}},
		{"prealloc of another shape", fitting, tensor.Float32, []int{3, 2}, false, tensor.Shape{3, 2}},
		{"prealloc of another dtype", fitting, tensor.Float64, []int{2, 3}, false, tensor.Shape{2, 3}},
		{"vector", nil, tensor.Float64, []int{7}, false, tensor.Shape{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := opkit.NewOutput()
			var pre any
			if tt.prealloc != nil {
				pre = tt.prealloc
			}
			first := out.Get(asValue(pre), tt.dtype, tt.shape...)
			if !first.Shape().Eq(tt.wantShape) || first.Dtype() != tt.dtype {
				t.Fatalf("Get = %v %v, want %v %v", first.Shape(), first.Dtype(), tt.wantShape, tt.dtype)
			}
			if (first == tt.prealloc) != tt.wantPre {
				t.Fatalf("prealloc used = %v, want %v", first == tt.prealloc, tt.wantPre)
			}
			second := out.Get(nil, tt.dtype, tt.shape...)
			switch {
			case tt.wantPre && second == tt.prealloc:
				t.Fatal("the machine's tensor was kept as the op's own")
			case !tt.wantPre && second != first:
				t.Fatal("the second Get allocated instead of reusing the first's tensor")
			}
		})
	}
}

func TestOutputReallocatesOnNewShape(t *testing.T) {
	out := opkit.NewOutput()
	a := out.Get(nil, tensor.Float32, 4)
	b := out.Get(nil, tensor.Float32, 5)
	if a == b || b.Shape()[0] != 5 {
		t.Fatalf("a new shape returned %v (the old tensor: %v)", b.Shape(), a == b)
	}
	if c := out.Get(nil, tensor.Float32, 5); c != b {
		t.Fatal("the tensor of the new shape was not kept")
	}
}

func TestNilOutputAllocatesEveryTime(t *testing.T) {
	var out *opkit.Output
	a := out.Get(nil, tensor.Float32, 3)
	b := out.Get(nil, tensor.Float32, 3)
	if a == b {
		t.Fatal("a nil Output returned the same tensor twice")
	}
}

type hashed string

func (h hashed) WriteHash(w hash.Hash) { fmt.Fprint(w, string(h)) }

func TestHashSpellsOutParameters(t *testing.T) {
	if opkit.Hash(hashed("ReLU")) == opkit.Hash(hashed("LeakyReLU(0.01)")) {
		t.Fatal("different parameters hash alike")
	}
	if a, b := hashed("ReLU"), hashed("Re"+"LU"); opkit.Hash(a) != opkit.Hash(b) {
		t.Fatal("equal parameters hash differently")
	}
}

// An op keeps its result from one run to the next: the second run reuses
// the first run's tensor instead of allocating.
func ExampleOutput() {
	out := opkit.NewOutput()
	first := out.Get(nil, tensor.Float32, 64, 128)
	second := out.Get(nil, tensor.Float32, 64, 128)
	fmt.Println(first == second, second.Shape())
	// Output: true (64, 128)
}

// asValue turns a possibly nil tensor into the G.Value a machine passes.
func asValue(v any) G.Value {
	if v == nil {
		return nil
	}
	return v.(*tensor.Dense)
}
