package datasets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkg/errors"
)

// epochRows runs one epoch and returns, per batch, the dataset rows and a
// copy of the features.
func epochRows(t *testing.T, l *Loader, epoch int) (idx [][]int, x32 [][]float32, x64 [][]float64) {
	t.Helper()
	it := l.Epoch(context.Background(), epoch)
	defer it.Close()
	for {
		b, ok := it.Next()
		if !ok {
			break
		}
		if len(b.Index) != b.Size || len(b.Labels) != b.Size {
			t.Fatalf("batch of size %d has %d indices and %d labels", b.Size, len(b.Index), len(b.Labels))
		}
		idx = append(idx, slices.Clone(b.Index))
		x32 = append(x32, slices.Clone(b.X32))
		x64 = append(x64, slices.Clone(b.X64))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return idx, x32, x64
}

func TestLoaderCoversEveryExampleOnce(t *testing.T) {
	for _, tt := range []struct {
		n, batch     int
		drop         bool
		wantBatches  int
		wantLastSize int
	}{
		{10, 4, false, 3, 2},
		{10, 4, true, 2, 4},
		{12, 4, false, 3, 4},
		{12, 4, true, 3, 4},
		{3, 8, false, 1, 3},
		{3, 8, true, 0, 0},
		{1, 1, false, 1, 1},
	} {
		for _, shuffle := range []bool{false, true} {
			for _, prefetch := range []int{0, 1, 3} {
				name := fmt.Sprintf("n=%d,batch=%d,drop=%v,shuffle=%v,prefetch=%d", tt.n, tt.batch, tt.drop, shuffle, prefetch)
				t.Run(name, func(t *testing.T) {
					ds := seq(tt.n, []int{2}, 3, false)
					opts := []LoaderOption{WithBatchSize(tt.batch), WithDropLast(tt.drop), WithPrefetch(prefetch)}
					if shuffle {
						opts = append(opts, WithShuffle(7))
					}
					l, err := NewLoader(ds, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if l.BatchesPerEpoch() != tt.wantBatches {
						t.Fatalf("BatchesPerEpoch = %d, want %d", l.BatchesPerEpoch(), tt.wantBatches)
					}
					for epoch := range 3 {
						idx, x32, _ := epochRows(t, l, epoch)
						if len(idx) != tt.wantBatches {
							t.Fatalf("epoch %d: %d batches, want %d", epoch, len(idx), tt.wantBatches)
						}
						if tt.wantBatches > 0 && len(idx[len(idx)-1]) != tt.wantLastSize {
							t.Fatalf("last batch has %d rows, want %d", len(idx[len(idx)-1]), tt.wantLastSize)
						}
						seen := map[int]int{}
						for k, rows := range idx {
							for r, i := range rows {
								seen[i]++
								if got := x32[k][r*2]; got != float32(i) {
									t.Fatalf("batch %d row %d: feature %v, want row %d's", k, r, got, i)
								}
							}
						}
						want := tt.wantBatches * tt.batch
						if !tt.drop {
							want = tt.n
						}
						if len(seen) != want {
							t.Fatalf("epoch %d saw %d distinct rows, want %d", epoch, len(seen), want)
						}
						for i, c := range seen {
							if c != 1 {
								t.Fatalf("row %d seen %d times", i, c)
							}
						}
						if !shuffle && tt.wantBatches > 0 && idx[0][0] != 0 {
							t.Fatal("unshuffled epoch does not start at row 0")
						}
					}
				})
			}
		}
	}
}

func TestLoaderShuffleSeeds(t *testing.T) {
	ds := seq(50, []int{1}, 2, false)
	order := func(seed uint64, epoch int) []int {
		l, err := NewLoader(ds, WithShuffle(seed), WithBatchSize(50))
		if err != nil {
			t.Fatal(err)
		}
		idx, _, _ := epochRows(t, l, epoch)
		return idx[0]
	}
	if !slices.Equal(order(1, 0), order(1, 0)) {
		t.Error("same seed and epoch gave different orders")
	}
	if slices.Equal(order(1, 0), order(1, 1)) {
		t.Error("epochs 0 and 1 have the same order: no reshuffle")
	}
	if slices.Equal(order(1, 0), order(2, 0)) {
		t.Error("seeds 1 and 2 give the same order")
	}
	// Resuming at epoch 5 sees what running through to epoch 5 sees.
	l, _ := NewLoader(ds, WithShuffle(1), WithBatchSize(50))
	for e := range 5 {
		epochRows(t, l, e)
	}
	a, _, _ := epochRows(t, l, 5)
	if !slices.Equal(a[0], order(1, 5)) {
		t.Error("epoch 5 depends on the epochs before it")
	}
}

func augmentOpts() []LoaderOption {
	return []LoaderOption{WithTransforms(RandomRotation(20), RandomShift(2), RandomHorizontalFlip(0.5), Normalize(MNISTMean, MNISTStd))}
}

func TestLoaderDeterminism(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		ds := seq(40, []int{1, 6, 5}, 4, f64)
		run := func(prefetch, batch int) map[int][]float64 {
			l, err := NewLoader(ds, append(augmentOpts(), WithShuffle(9), WithPrefetch(prefetch), WithBatchSize(batch))...)
			if err != nil {
				t.Fatal(err)
			}
			out := map[int][]float64{}
			for epoch := range 2 {
				idx, x32, x64 := epochRows(t, l, epoch)
				fl := ds.FeatureLen()
				for k, rows := range idx {
					for r, i := range rows {
						row := make([]float64, fl)
						for j := range fl {
							if f64 {
								row[j] = x64[k][r*fl+j]
							} else {
								row[j] = float64(x32[k][r*fl+j])
							}
						}
						out[epoch*1000+i] = row
					}
				}
			}
			return out
		}
		ref := run(0, 8)
		for _, cfg := range [][2]int{{0, 8}, {3, 8}, {1, 5}, {2, 40}} {
			got := run(cfg[0], cfg[1])
			for k, row := range ref {
				if !slices.Equal(got[k], row) {
					t.Fatalf("f64=%v prefetch=%d batch=%d: epoch %d row %d augmented differently", f64, cfg[0], cfg[1], k/1000, k%1000)
				}
			}
		}
		// The augmentation actually changes things and differs by epoch.
		if slices.Equal(ref[0*1000+3], ref[1*1000+3]) {
			t.Errorf("f64=%v: row 3 augmented identically in epochs 0 and 1", f64)
		}
	}
}

func TestLoaderAugmentSeed(t *testing.T) {
	ds := seq(4, []int{1, 6, 6}, 2, false)
	first := func(opts ...LoaderOption) []float32 {
		l, err := NewLoader(ds, append(opts, WithTransforms(RandomRotation(30)), WithPrefetch(0))...)
		if err != nil {
			t.Fatal(err)
		}
		_, x32, _ := epochRows(t, l, 0)
		return x32[0]
	}
	if slices.Equal(first(WithAugmentSeed(1)), first(WithAugmentSeed(2))) {
		t.Error("augment seeds 1 and 2 rotate identically")
	}
	if !slices.Equal(first(WithShuffle(5)), first(WithShuffle(5))) {
		t.Error("same shuffle seed, different augmentation")
	}
}

func TestNewLoaderErrors(t *testing.T) {
	img := seq(4, []int{1, 4, 4}, 2, false)
	flat := seq(4, []int{16}, 2, false)
	for _, tt := range []struct {
		name string
		ds   *Dataset
		opts []LoaderOption
		want string
	}{
		{"nil dataset", nil, nil, "nil dataset"},
		{"invalid dataset", &Dataset{ExampleShape: []int{1}, Classes: 1}, nil, "no examples"},
		{"batch 0", img, []LoaderOption{WithBatchSize(0)}, "batch size 0, want ≥ 1"},
		{"prefetch -1", img, []LoaderOption{WithPrefetch(-1)}, "prefetch -1"},
		{"nil option", img, []LoaderOption{nil}, "nil LoaderOption"},
		{"nil transform", img, []LoaderOption{WithTransforms(nil)}, "transform 0 is nil"},
		{"std 0", img, []LoaderOption{WithTransforms(Normalize(0, 0))}, "transform 0 (Normalize(0, 0)): datasets: Normalize: std = 0 is out of range"},
		{"mean NaN", img, []LoaderOption{WithTransforms(Normalize(nan(), 1))}, "mean = NaN"},
		{"degrees", img, []LoaderOption{WithTransforms(RandomShift(1), RandomRotation(-1))}, "transform 1 (RandomRotation(-1)): datasets: RandomRotation: degrees = -1 is out of range [0, 180]"},
		{"degrees 200", img, []LoaderOption{WithTransforms(RandomRotation(200))}, "degrees = 200"},
		{"p", img, []LoaderOption{WithTransforms(RandomHorizontalFlip(1.5))}, "p = 1.5 is out of range [0, 1]"},
		{"pixels", img, []LoaderOption{WithTransforms(RandomShift(-2))}, "pixels = -2, want ≥ 0"},
		{"flat rotation", flat, []LoaderOption{WithTransforms(RandomRotation(10))}, "RandomRotation needs examples of shape [..., height, width], got [16]"},
		{"flat flip", flat, []LoaderOption{WithTransforms(Normalize(0, 1), RandomHorizontalFlip(0.5))}, "transform 1 (RandomHorizontalFlip(0.5))"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLoader(tt.ds, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewLoader error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Normalize needs no spatial shape.
	if _, err := NewLoader(flat, WithTransforms(Normalize(0.5, 2))); err != nil {
		t.Fatal(err)
	}
}

func nan() float64 { var z float64; return z / z }

// failing is a transform that fails on one dataset row.
type failing struct{ row int }

func (failing) Validate() error { return nil }
func (f failing) Apply(_ *rand.Rand, ex *Example) error {
	if ex.X32[0] == float32(f.row) && f.row > 0 {
		return errors.Errorf("boom on row %d", f.row)
	}
	return nil
}

func TestLoaderTransformError(t *testing.T) {
	ds := seq(20, []int{2}, 2, false)
	for _, prefetch := range []int{0, 2} {
		l, err := NewLoader(ds, WithBatchSize(4), WithPrefetch(prefetch), WithTransforms(failing{row: 9}))
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), 3)
		n := 0
		for {
			if _, ok := it.Next(); !ok {
				break
			}
			n++
		}
		it.Close()
		if n != 2 || it.Err() == nil || !strings.Contains(it.Err().Error(), "epoch 3, dataset row 9") || !strings.Contains(it.Err().Error(), "boom on row 9") {
			t.Fatalf("prefetch %d: %d batches then %v, want 2 then the transform's error", prefetch, n, it.Err())
		}
	}
}

func TestLoaderContextCancel(t *testing.T) {
	ds := seq(100, []int{2}, 2, false)
	for _, prefetch := range []int{0, 2} {
		l, _ := NewLoader(ds, WithBatchSize(10), WithPrefetch(prefetch))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		it := l.Epoch(ctx, 0)
		n := 0
		for {
			if _, ok := it.Next(); !ok {
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		it.Close()
		if n != 3 || errors.Cause(it.Err()) != context.Canceled {
			t.Fatalf("prefetch %d: %d batches, Err %v; want 3 and context.Canceled", prefetch, n, it.Err())
		}
		// An epoch started with a dead context yields nothing.
		it = l.Epoch(ctx, 1)
		if _, ok := it.Next(); ok || it.Err() == nil {
			t.Fatalf("prefetch %d: cancelled context still yields batches", prefetch)
		}
		it.Close()
	}
	l, _ := NewLoader(ds)
	it := l.Epoch(context.Background(), -1)
	if _, ok := it.Next(); ok || it.Err() == nil || !strings.Contains(it.Err().Error(), "epoch -1") {
		t.Fatalf("epoch -1: Err = %v", it.Err())
	}
	it.Close()
}

func TestLoaderCloseNoLeak(t *testing.T) {
	ds := seq(1000, []int{1, 8, 8}, 2, false)
	l, _ := NewLoader(ds, WithBatchSize(10), WithPrefetch(4), WithTransforms(RandomRotation(10)))
	before := runtime.NumGoroutine()
	for range 50 {
		it := l.Epoch(context.Background(), 0)
		it.Next()
		it.Next()
		it.Close()
		it.Close() // idempotent
		if _, ok := it.Next(); ok {
			t.Fatal("Next after Close returned a batch")
		}
	}
	// Abandoned without Close but run to the end: the producer exits too.
	it := l.Epoch(context.Background(), 0)
	for _, ok := it.Next(); ok; _, ok = it.Next() {
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("%d goroutines before, %d after closing 50 epochs mid-way", before, after)
	}
	// The buffers are recycled, not piled up.
	if len(l.free) > 2 {
		t.Errorf("%d idle buffer sets after sequential epochs, want ≤ 2", len(l.free))
	}
}

func TestLoaderNoAllocPerBatch(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		ds := seq(2000, []int{1, 28, 28}, 10, f64)
		l, err := NewLoader(ds, append(augmentOpts(), WithShuffle(3), WithBatchSize(8), WithPrefetch(0))...)
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), 0)
		allocs := testing.AllocsPerRun(100, func() {
			if _, ok := it.Next(); !ok {
				t.Fatal("epoch ended early")
			}
		})
		it.Close()
		if allocs != 0 {
			t.Errorf("f64=%v: %v allocations per batch, want 0", f64, allocs)
		}
	}
}

func TestBatchSharesNoStateAcrossEpochs(t *testing.T) {
	// Two epochs iterated at the same time each get their own buffers.
	ds := seq(30, []int{2}, 2, false)
	l, _ := NewLoader(ds, WithBatchSize(5), WithShuffle(1))
	a, b := l.Epoch(context.Background(), 0), l.Epoch(context.Background(), 1)
	defer a.Close()
	defer b.Close()
	ba, _ := a.Next()
	ia := slices.Clone(ba.Index)
	b.Next()
	if !slices.Equal(ba.Index, ia) {
		t.Fatal("a batch of epoch 0 changed when epoch 1 advanced")
	}
}
