package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMatMulMatchesGorgonia: the product and its two gradients equal
// Gorgonia's Mul and the gradients Grad builds for it, bit for bit.
func TestMatMulMatchesGorgonia(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		build := func(ours bool) []G.Value {
			g := G.NewGraph()
			a := G.NewMatrix(g, dt, G.WithShape(13, 29), G.WithName("a"), G.WithValue(randDense(rand.New(rand.NewPCG(1, 1)), dt, 13, 29)))
			b := G.NewMatrix(g, dt, G.WithShape(29, 7), G.WithName("b"), G.WithValue(randDense(rand.New(rand.NewPCG(2, 2)), dt, 29, 7)))
			r := G.NewMatrix(g, dt, G.WithShape(13, 7), G.WithName("r"), G.WithValue(randDense(rand.New(rand.NewPCG(3, 3)), dt, 13, 7)))
			var z *G.Node
			if ours {
				z = G.Must(G.ApplyOp(newMatMul(false, false), a, b))
			} else {
				z = G.Must(G.Mul(a, b))
			}
			loss := G.Must(G.Sum(G.Must(G.HadamardProd(z, r))))
			grads, err := G.Grad(loss, a, b)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			return []G.Value{z.Value(), grads[0].Value(), grads[1].Value()}
		}
		ours, ref := build(true), build(false)
		for i, name := range []string{"a·b", "∂/∂a", "∂/∂b"} {
			requireSameValues(t, fmt.Sprintf("%v %s", dt, name), ours[i], ref[i])
		}
	}
}

// TestMatMulTransposes checks every transpose combination, forward and
// backward, against products written out by hand, for L = Σ z ⊙ r.
func TestMatMulTransposes(t *testing.T) {
	const m, k, n = 5, 4, 3
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		t.Run(fmt.Sprintf("transA=%v,transB=%v", tr[0], tr[1]), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			aShape, bShape := []int{m, k}, []int{k, n}
			if tr[0] {
				aShape = []int{k, m}
			}
			if tr[1] {
				bShape = []int{n, k}
			}
			av, bv, rv := randDense(rng, tensor.Float64, aShape...), randDense(rng, tensor.Float64, bShape...), randDense(rng, tensor.Float64, m, n)
			g := G.NewGraph()
			a := G.NewMatrix(g, tensor.Float64, G.WithShape(aShape...), G.WithName("a"), G.WithValue(av))
			b := G.NewMatrix(g, tensor.Float64, G.WithShape(bShape...), G.WithName("b"), G.WithValue(bv))
			r := G.NewMatrix(g, tensor.Float64, G.WithShape(m, n), G.WithName("r"), G.WithValue(rv))
			z := G.Must(G.ApplyOp(newMatMul(tr[0], tr[1]), a, b))
			grads, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(z, r)))), a, b)
			if err != nil {
				t.Fatal(err)
			}
			mach := G.NewTapeMachine(g)
			defer mach.Close()
			if err := mach.RunAll(); err != nil {
				t.Fatal(err)
			}
			A := func(i, p int) float64 { // op(a)[i][p]
				if tr[0] {
					return av.Float64s()[p*m+i]
				}
				return av.Float64s()[i*k+p]
			}
			B := func(p, j int) float64 { // op(b)[p][j]
				if tr[1] {
					return bv.Float64s()[j*k+p]
				}
				return bv.Float64s()[p*n+j]
			}
			R := rv.Float64s()
			wantZ := make([]float64, m*n)
			dA, dB := make([]float64, m*k), make([]float64, k*n) // ∂L/∂op(a), ∂L/∂op(b)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					for p := 0; p < k; p++ {
						wantZ[i*n+j] += A(i, p) * B(p, j)
						dA[i*k+p] += R[i*n+j] * B(p, j)
						dB[p*n+j] += A(i, p) * R[i*n+j]
					}
				}
			}
			wantDa, wantDb := dA, dB
			if tr[0] { // ∂L/∂a is the transpose of ∂L/∂op(a)
				wantDa = make([]float64, k*m)
				for i := 0; i < m; i++ {
					for p := 0; p < k; p++ {
						wantDa[p*m+i] = dA[i*k+p]
					}
				}
			}
			if tr[1] {
				wantDb = make([]float64, n*k)
				for p := 0; p < k; p++ {
					for j := 0; j < n; j++ {
						wantDb[j*k+p] = dB[p*n+j]
					}
				}
			}
			for _, c := range []struct {
				name string
				got  G.Value
				want []float64
			}{{"z", z.Value(), wantZ}, {"∂/∂a", grads[0].Value(), wantDa}, {"∂/∂b", grads[1].Value(), wantDb}} {
				got := asFloat64s(t, c.got)
				if len(got) != len(c.want) {
					t.Fatalf("%s: %d elements, want %d", c.name, len(got), len(c.want))
				}
				for i := range got {
					if math.Abs(got[i]-c.want[i]) > 1e-12 {
						t.Fatalf("%s[%d] = %v, want %v", c.name, i, got[i], c.want[i])
					}
				}
			}
		})
	}
}

// TestMatMulShapeError: operands that do not multiply are an error from
// graph building, not a panic.
func TestMatMulShapeError(t *testing.T) {
	g := G.NewGraph()
	a := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("a"))
	b := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 5), G.WithName("b"))
	if _, err := G.ApplyOp(newMatMul(false, false), a, b); err == nil {
		t.Fatal("a (2,3)·(4,5) product was accepted")
	}
}
