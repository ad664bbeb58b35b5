package graph

import (
	"context"
	"fmt"
	"hash"
	"math"
	"strings"
	"testing"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/layers"
)

// TestDirectRunMatchesRunAll: training through RunAll and through the
// direct run gives bit-identical weights and losses.
func TestDirectRunMatchesRunAll(t *testing.T) {
	train := func(direct bool) ([]float64, []float64) {
		m := newModel(t, 0.2)
		if !direct {
			m.train.direct, m.infer.direct = nil, nil
		}
		losses := trainEpochs(t, m, newAdam(t), blobs(72, 4, false), 3)
		met, err := m.Evaluate(context.Background(), blobs(24, 5, false))
		if err != nil {
			t.Fatal(err)
		}
		return weights32(m), append(losses, met.Loss)
	}
	wDirect, lDirect := train(true)
	wAll, lAll := train(false)
	for i := range wAll {
		if math.Float64bits(wDirect[i]) != math.Float64bits(wAll[i]) {
			t.Fatalf("weight %d: %v direct, %v through RunAll", i, wDirect[i], wAll[i])
		}
	}
	for i := range lAll {
		if math.Float64bits(lDirect[i]) != math.Float64bits(lAll[i]) {
			t.Fatalf("loss %d: %v direct, %v through RunAll", i, lDirect[i], lAll[i])
		}
	}
}

// panicOp is a differentiable identity op whose Do panics, as Gorgonia's own ops do on
// some inputs.
type panicOp struct{}

func (panicOp) Arity() int    { return 1 }
func (panicOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a) }
func (panicOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (panicOp) Do(...G.Value) (G.Value, error) { panic("index out of range [-1]") }
func (panicOp) ReturnsPtr() bool               { return false }
func (panicOp) CallsExtern() bool              { return false }
func (panicOp) OverwritesInput() int           { return -1 }
func (panicOp) WriteHash(h hash.Hash)          { fmt.Fprint(h, "panicOp") }
func (panicOp) Hashcode() uint32               { return 1 }
func (panicOp) String() string                 { return "panicOp" }
func (panicOp) DiffWRT(int) []bool             { return []bool{true} }
func (panicOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad}, nil
}

// TestOpPanicIsAnError: an op that panics while the machine runs makes
// TrainStep and Evaluate return an error (through RunAll the panic would
// happen on the machine's own goroutine and end the process).
func TestOpPanicIsAnError(t *testing.T) {
	model := layers.Sequential(layers.Dense(3), layers.LayerFunc(func(_ *layers.Scope, x *G.Node) (*G.Node, error) {
		return G.ApplyOp(panicOp{}, x)
	}))
	m, err := New(model, WithInputShape(4), WithTrainBatchSize(8))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ds := blobs(16, 1, false)
	if _, err := m.Evaluate(context.Background(), ds); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Evaluate: err = %v, want the panic as an error", err)
	}
	b := &datasets.Batch{X32: ds.X32[:8*4], Labels: ds.Labels[:8], Size: 8}
	if _, err := m.TrainStep(newAdam(t), b); err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("TrainStep: err = %v, want the panic as an error", err)
	}
}
