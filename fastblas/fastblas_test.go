package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// problem is one gemm call with its operands stored with padded leading
// dimensions; the padding holds NaN so that reading it shows in C.
type problem[T float] struct {
	tA, tB        blas.Transpose
	m, n, k       int
	alpha, beta   T
	a, b, c       []T
	lda, ldb, ldc int
}

type shape struct {
	name    string
	m, n, k int
}

// shapes covers the edge tiles (sizes that are not multiples of 6, 8 or 16),
// more than one depth block (k > 256), more than one row or column block,
// and the five products of an MNIST MLP step (batch 64, 784-128-10).
var shapes = []shape{
	{"1x1x1", 1, 1, 1},
	{"7x13x5", 7, 13, 5},
	{"6x16x1", 6, 16, 1},
	{"5x17x300", 5, 17, 300},
	{"13x37x600", 13, 37, 600},
	{"x.W1", 64, 128, 784},
	{"h.W2", 64, 10, 128},
	{"xT.dY1", 784, 128, 64},
	{"hT.dY2", 128, 10, 64},
	{"dY2.W2T", 64, 128, 10},
	{"130x1100x40", 130, 1100, 40},
	{"97x61x513", 97, 61, 513},
}

var transposes = []blas.Transpose{blas.NoTrans, blas.Trans}

func trans(t blas.Transpose) string {
	if t == blas.NoTrans {
		return "N"
	}
	return "T"
}

// newProblem fills A, B and C with values in [-1, 1) from a PCG seeded by
// seed; pad extra columns of each leading dimension hold NaN, as does C when
// nanC is set.
func newProblem[T float](seed uint64, tA, tB blas.Transpose, m, n, k, pad int, alpha, beta T, nanC bool) problem[T] {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	p := problem[T]{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	fill := func(rows, cols int, nan bool) ([]T, int) {
		ld := cols + pad
		s := make([]T, rows*ld)
		for i := 0; i < rows; i++ {
			for j := 0; j < ld; j++ {
				v := T(r.Float64()*2 - 1)
				if nan || j >= cols {
					v = T(math.NaN())
				}
				s[i*ld+j] = v
			}
		}
		return s, ld
	}
	p.a, p.lda = fill(ar, ac, false)
	p.b, p.ldb = fill(br, bc, false)
	p.c, p.ldc = fill(m, n, nanC)
	return p
}

func (p problem[T]) cloneC() []T { return append([]T(nil), p.c...) }

// run calls impl's Sgemm or Dgemm on a copy of C and returns it.
func (p problem[T]) run(impl any) []T {
	c := p.cloneC()
	switch a := any(p.a).(type) {
	case []float32:
		impl.(blas.Float32).Sgemm(p.tA, p.tB, p.m, p.n, p.k, float32(p.alpha), a, p.lda, any(p.b).([]float32), p.ldb, float32(p.beta), any(c).([]float32), p.ldc)
	case []float64:
		impl.(blas.Float64).Dgemm(p.tA, p.tB, p.m, p.n, p.k, float64(p.alpha), a, p.lda, any(p.b).([]float64), p.ldb, float64(p.beta), any(c).([]float64), p.ldc)
	}
	return c
}

// reference computes C in float64 with the textbook triple loop, along
// with the scale |alpha|·Σ|a||b| + |beta|·|c| of every element, which bounds
// the rounding error of any summation order.
func (p problem[T]) reference() (ref, scale []float64) {
	ref = make([]float64, len(p.c))
	scale = make([]float64, len(p.c))
	at := func(i, l int) float64 {
		if p.tA != blas.NoTrans {
			return float64(p.a[l*p.lda+i])
		}
		return float64(p.a[i*p.lda+l])
	}
	bt := func(l, j int) float64 {
		if p.tB != blas.NoTrans {
			return float64(p.b[j*p.ldb+l])
		}
		return float64(p.b[l*p.ldb+j])
	}
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var s, abs float64
			for l := 0; l < p.k; l++ {
				s += at(i, l) * bt(l, j)
				abs += math.Abs(at(i, l) * bt(l, j))
			}
			o := i*p.ldc + j
			ref[o] = float64(p.alpha) * s
			scale[o] = math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				ref[o] += float64(p.beta) * float64(p.c[o])
				scale[o] += math.Abs(float64(p.beta) * float64(p.c[o]))
			}
		}
	}
	return ref, scale
}

// check compares got with the reference: inside the m×n block the error
// relative to the element's scale must be at most tol, and the padding
// columns of C must be untouched.
func (p problem[T]) check(t *testing.T, got []T, ref, scale []float64, tol float64) {
	t.Helper()
	worst := 0.0
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.ldc; j++ {
			o := i*p.ldc + j
			g := float64(got[o])
			if j >= p.n {
				if !sameBits(got[o], p.c[o]) {
					t.Fatalf("C[%d,%d] (padding) changed from %v to %v", i, j, p.c[o], got[o])
				}
				continue
			}
			if math.IsNaN(g) || math.IsInf(g, 0) {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, g, ref[o])
			}
			e := math.Abs(g-ref[o]) / math.Max(scale[o], math.SmallestNonzeroFloat64)
			if g == ref[o] {
				e = 0
			}
			worst = math.Max(worst, e)
		}
	}
	if worst > tol {
		t.Errorf("relative error %.3g > %.3g", worst, tol)
	}
}

func sameBits[T float](x, y T) bool {
	switch v := any(x).(type) {
	case float32:
		return math.Float32bits(v) == math.Float32bits(any(y).(float32))
	default:
		return math.Float64bits(any(x).(float64)) == math.Float64bits(any(y).(float64))
	}
}

func equalBits[T float](x, y []T) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !sameBits(x[i], y[i]) {
			return false
		}
	}
	return true
}

type scalars struct{ alpha, beta float64 }

// scalarCases covers beta = 0 (C written without being read: it is NaN),
// beta = 1, a general beta, a negative alpha and alpha = 0.
var scalarCases = []scalars{{1, 0}, {1, 1}, {-0.75, 0.5}, {2.5, -1}, {0, 0.5}, {0, 0}}

func testAgainstReference[T float](t *testing.T, tol float64) {
	impls := map[string]*Implementation{"1thread": New(WithThreads(1)), "2threads": New(WithThreads(2))}
	// forceSplit splits even 7×13×5, to exercise the split paths.
	forced := New(WithThreads(3))
	forced.forceSplit = true
	impls["3threads-always-split"] = forced
	// The AVX2 kernels, also where the CPU has AVX-512.
	avx2 := New(WithThreads(2))
	avx2.useAVX512(false)
	avx2.forceSplit = true
	impls["2threads-avx2"] = avx2
	seed := uint64(1)
	for _, s := range shapes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				for _, sc := range scalarCases {
					for _, pad := range []int{0, 3} {
						seed++
						p := newProblem(seed, tA, tB, s.m, s.n, s.k, pad, T(sc.alpha), T(sc.beta), sc.beta == 0)
						ref, scale := p.reference()
						for name, impl := range impls {
							name := fmt.Sprintf("%s/%s%s/alpha=%g,beta=%g/pad=%d/%s", s.name, trans(tA), trans(tB), sc.alpha, sc.beta, pad, name)
							t.Run(name, func(t *testing.T) {
								if !impl.Accelerated() {
									t.Skip("no AVX2+FMA here: the fallback is tested by TestFallbackIsGonum")
								}
								p.check(t, p.run(impl), ref, scale, tol)
							})
						}
					}
				}
			}
		}
	}
}

func TestSgemmAgainstReference(t *testing.T) { testAgainstReference[float32](t, 1e-5) }
func TestDgemmAgainstReference(t *testing.T) { testAgainstReference[float64](t, 1e-12) }

// TestGonumWithinTolerance checks the tolerance itself: gonum's own Sgemm
// and Dgemm pass the check that fastblas must pass.
func TestGonumWithinTolerance(t *testing.T) {
	for i, s := range shapes {
		p32 := newProblem[float32](uint64(i), blas.Trans, blas.NoTrans, s.m, s.n, s.k, 2, 1.5, 0.5, false)
		ref, scale := p32.reference()
		p32.check(t, p32.run(gonum.Implementation{}), ref, scale, 1e-5)
		p64 := newProblem[float64](uint64(i), blas.NoTrans, blas.Trans, s.m, s.n, s.k, 2, 1.5, 0.5, false)
		ref, scale = p64.reference()
		p64.check(t, p64.run(gonum.Implementation{}), ref, scale, 1e-12)
	}
}

func testDeterminism[T float](t *testing.T) {
	one := New(WithThreads(1))
	if !one.Accelerated() {
		t.Skip("no AVX2+FMA here")
	}
	others := []*Implementation{New(WithThreads(2)), New(WithThreads(3)), New(WithThreads(8))}
	split := New(WithThreads(2))
	split.forceSplit = true
	others = append(others, split)
	// The AVX2 and AVX-512 kernels must agree bit for bit too.
	for _, threads := range []int{1, 2} {
		avx2 := New(WithThreads(threads))
		avx2.useAVX512(false)
		others = append(others, avx2)
	}
	// So must the one-thread view of a split Implementation.
	oneThreadView := split.OneThread()
	for i, s := range shapes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				p := newProblem(uint64(100+i), tA, tB, s.m, s.n, s.k, 1, T(0.5), T(-2), false)
				want := p.run(one)
				if got := p.run(oneThreadView); !equalBits(got, want) {
					t.Fatalf("%s %s%s: the OneThread view is not bit-identical to 1 thread", s.name, trans(tA), trans(tB))
				}
				for _, impl := range others {
					for rep := 0; rep < 3; rep++ {
						if got := p.run(impl); !equalBits(got, want) {
							t.Fatalf("%s %s%s: %d threads (forceSplit %v, nr %d), call %d: not bit-identical to 1 thread (nr %d)",
								s.name, trans(tA), trans(tB), impl.Threads(), impl.forceSplit, impl.s32.nr, rep, one.s32.nr)
						}
					}
				}
			}
		}
	}
}

func TestSgemmDeterministicAcrossThreads(t *testing.T) { testDeterminism[float32](t) }
func TestDgemmDeterministicAcrossThreads(t *testing.T) { testDeterminism[float64](t) }

func testFallback[T float](t *testing.T) {
	impl := New(WithThreads(2))
	impl.asm = false
	if impl.Accelerated() {
		t.Fatal("Accelerated() = true with the kernels switched off")
	}
	for i, s := range shapes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				p := newProblem(uint64(200+i), tA, tB, s.m, s.n, s.k, 2, T(1.25), T(0.5), false)
				if got, want := p.run(impl), p.run(gonum.Implementation{}); !equalBits(got, want) {
					t.Fatalf("%s %s%s: fallback differs from gonum", s.name, trans(tA), trans(tB))
				}
			}
		}
	}
}

// TestFallbackIsGonum checks the path taken on CPUs without AVX2 and FMA:
// the results are gonum's, bit for bit.
func TestFallbackIsGonum(t *testing.T) {
	t.Run("float32", testFallback[float32])
	t.Run("float64", testFallback[float64])
}

// TestZeroImplementationIsGonum checks that the zero value works, as gonum.
func TestZeroImplementationIsGonum(t *testing.T) {
	var impl Implementation
	p := newProblem(9, blas.Trans, blas.NoTrans, 13, 37, 600, 1, float32(2), float32(0.5), false)
	if got, want := p.run(&impl), p.run(gonum.Implementation{}); !equalBits(got, want) {
		t.Fatal("the zero Implementation differs from gonum")
	}
}

// panicMessage returns what f panics with, or nil.
func panicMessage(f func()) (msg any) {
	defer func() { msg = recover() }()
	f()
	return nil
}

// TestInvalidArgumentsPanicLikeGonum checks that every invalid call panics
// with the message gonum gives for the same call, and that valid edge
// cases (empty matrices) do not panic.
func TestInvalidArgumentsPanicLikeGonum(t *testing.T) {
	type call struct {
		name      string
		tA, tB    blas.Transpose
		m, n, k   int
		lenA, lda int
		lenB, ldb int
		lenC, ldc int
		wantPanic bool
	}
	calls := []call{
		{name: "bad tA", tA: 'x', tB: blas.NoTrans, m: 2, n: 2, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "bad tB", tA: blas.NoTrans, tB: 0, m: 2, n: 2, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "m<0", tA: blas.NoTrans, tB: blas.NoTrans, m: -1, n: 2, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "n<0", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: -1, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "k<0", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 2, k: -1, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "lda<k", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 2, k: 3, lenA: 6, lda: 2, lenB: 6, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "lda<m (trans)", tA: blas.Trans, tB: blas.NoTrans, m: 3, n: 2, k: 2, lenA: 6, lda: 2, lenB: 4, ldb: 2, lenC: 6, ldc: 2, wantPanic: true},
		{name: "ldb<n", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 3, k: 2, lenA: 4, lda: 2, lenB: 6, ldb: 2, lenC: 6, ldc: 3, wantPanic: true},
		{name: "ldb<k (trans)", tA: blas.NoTrans, tB: blas.Trans, m: 2, n: 2, k: 3, lenA: 6, lda: 3, lenB: 6, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "ldc<n", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 3, k: 2, lenA: 4, lda: 2, lenB: 6, ldb: 3, lenC: 6, ldc: 2, wantPanic: true},
		{name: "short a", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 2, k: 2, lenA: 3, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "short b", tA: blas.NoTrans, tB: blas.Trans, m: 2, n: 2, k: 2, lenA: 4, lda: 2, lenB: 3, ldb: 2, lenC: 4, ldc: 2, wantPanic: true},
		{name: "short c", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 2, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 3, ldc: 2, wantPanic: true},
		{name: "m=0", tA: blas.NoTrans, tB: blas.NoTrans, m: 0, n: 2, k: 2, lenA: 0, lda: 2, lenB: 4, ldb: 2, lenC: 0, ldc: 2},
		{name: "n=0", tA: blas.NoTrans, tB: blas.NoTrans, m: 2, n: 0, k: 2, lenA: 4, lda: 2, lenB: 0, ldb: 1, lenC: 0, ldc: 1},
		{name: "k=0", tA: blas.Trans, tB: blas.Trans, m: 2, n: 2, k: 0, lenA: 0, lda: 2, lenB: 1, ldb: 1, lenC: 4, ldc: 2},
		{name: "ConjTrans", tA: blas.ConjTrans, tB: blas.ConjTrans, m: 2, n: 2, k: 2, lenA: 4, lda: 2, lenB: 4, ldb: 2, lenC: 4, ldc: 2},
	}
	impl := New(WithThreads(2))
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			a32, b32, c32 := make([]float32, c.lenA), make([]float32, c.lenB), make([]float32, c.lenC)
			a64, b64, c64 := make([]float64, c.lenA), make([]float64, c.lenB), make([]float64, c.lenC)
			got32 := panicMessage(func() {
				impl.Sgemm(c.tA, c.tB, c.m, c.n, c.k, 1, a32, c.lda, b32, c.ldb, 0, c32, c.ldc)
			})
			want32 := panicMessage(func() {
				gonum.Implementation{}.Sgemm(c.tA, c.tB, c.m, c.n, c.k, 1, a32, c.lda, b32, c.ldb, 0, c32, c.ldc)
			})
			got64 := panicMessage(func() {
				impl.Dgemm(c.tA, c.tB, c.m, c.n, c.k, 1, a64, c.lda, b64, c.ldb, 0, c64, c.ldc)
			})
			want64 := panicMessage(func() {
				gonum.Implementation{}.Dgemm(c.tA, c.tB, c.m, c.n, c.k, 1, a64, c.lda, b64, c.ldb, 0, c64, c.ldc)
			})
			if got32 != want32 || got64 != want64 {
				t.Fatalf("panics (%v, %v), gonum's (%v, %v)", got32, got64, want32, want64)
			}
			if (got32 != nil) != c.wantPanic {
				t.Fatalf("panic = %v, want a panic: %v", got32, c.wantPanic)
			}
		})
	}
}

// TestConcurrentCalls runs calls of several shapes from several goroutines
// on one Implementation (and so on the shared worker pool); under -race it
// also checks the pool and the free lists for data races.
func TestConcurrentCalls(t *testing.T) {
	impl := New(WithThreads(2))
	impl.forceSplit = true
	ref := New(WithThreads(1))
	var probs []problem[float32]
	var wants [][]float32
	for i, s := range shapes {
		p := newProblem(uint64(300+i), blas.NoTrans, blas.Trans, s.m, s.n, s.k, 0, float32(1), float32(0), true)
		probs = append(probs, p)
		wants = append(wants, p.run(ref))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(probs))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 3; rep++ {
				for i := range probs {
					if got := probs[(i+g)%len(probs)].run(impl); !equalBits(got, wants[(i+g)%len(probs)]) {
						errs <- shapes[(i+g)%len(probs)].name
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("%s: concurrent result differs from a single-threaded one", name)
	}
}

// TestNoAllocations checks that calls allocate nothing once the packing
// buffers have grown, on one goroutine and split over two.
func TestNoAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need warm buffers; skipped in -short")
	}
	if !New().Accelerated() {
		t.Skip("no AVX2+FMA here: calls go to gonum, whose parallel Sgemm allocates")
	}
	for _, s := range shapes {
		for _, threads := range []int{1, 2} {
			impl := New(WithThreads(threads))
			p := newProblem(7, blas.Trans, blas.NoTrans, s.m, s.n, s.k, 0, float32(1), float32(0), false)
			q := newProblem(7, blas.NoTrans, blas.Trans, s.m, s.n, s.k, 0, 1.0, 0.0, false)
			c32, c64 := p.cloneC(), q.cloneC()
			call := func() {
				impl.Sgemm(p.tA, p.tB, p.m, p.n, p.k, 1, p.a, p.lda, p.b, p.ldb, 0, c32, p.ldc)
				impl.Dgemm(q.tA, q.tB, q.m, q.n, q.k, 1, q.a, q.lda, q.b, q.ldb, 0, c64, q.ldc)
			}
			for i := 0; i < 5; i++ {
				call()
			}
			if n := testing.AllocsPerRun(50, call); n != 0 {
				t.Errorf("%s, %d threads: %v allocations per call, want 0", s.name, threads, n)
			}
		}
	}
}

func TestWithThreads(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{1, 1}, {2, 2}, {7, 7}} {
		if got := New(WithThreads(tc.n)).Threads(); got != tc.want {
			t.Errorf("WithThreads(%d): Threads() = %d, want %d", tc.n, got, tc.want)
		}
	}
	def := New().Threads()
	for _, n := range []int{0, -3} {
		if got := New(WithThreads(n)).Threads(); got != def {
			t.Errorf("WithThreads(%d): Threads() = %d, want the default %d", n, got, def)
		}
	}
}

func TestPartRangeCoversEveryTile(t *testing.T) {
	for _, n := range []int{1, 5, 16, 17, 100, 128, 784} {
		for _, tile := range []int{6, 8, 16} {
			for parts := 1; parts <= 5; parts++ {
				next := 0
				for p := 0; p < parts; p++ {
					lo, hi := partRange(n, tile, parts, p)
					if lo != next || hi < lo || (lo%tile != 0) {
						t.Fatalf("n=%d tile=%d parts=%d: part %d = [%d, %d) after %d", n, tile, parts, p, lo, hi, next)
					}
					next = hi
				}
				if next != n {
					t.Fatalf("n=%d tile=%d parts=%d: parts end at %d", n, tile, parts, next)
				}
			}
		}
	}
}

func TestPlan(t *testing.T) {
	impl := New(WithThreads(2))
	for _, c := range []struct {
		m, n, k, nr int
		parts       int
		splitN      bool
	}{
		{64, 128, 784, 16, 8, true},   // forward, AVX2
		{64, 128, 784, 32, 4, true},   // forward, AVX-512: 4 column tiles still beat 8 row ranges
		{784, 128, 64, 32, 4, true},   // weight gradient
		{784, 16, 64, 16, 8, false},   // one column tile: row ranges
		{64, 10, 128, 16, 1, false},   // small: one goroutine
		{6, 16, 100000, 16, 1, false}, // one tile
	} {
		parts, splitN := impl.plan(c.m, c.n, c.k, c.nr)
		if parts != c.parts || (parts > 1 && splitN != c.splitN) {
			t.Errorf("plan(%d, %d, %d, nr %d) = %d parts, split columns %v; want %d, %v",
				c.m, c.n, c.k, c.nr, parts, splitN, c.parts, c.splitN)
		}
	}
}
