package datasets

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// seq returns a dataset of n examples of the given shape whose values
// encode (row, position) so that any misplaced copy shows.
func seq(n int, shape []int, classes int, f64 bool) *Dataset {
	ds := &Dataset{Name: "seq", ExampleShape: shape, Classes: classes, Labels: make([]int, n)}
	fl := ds.FeatureLen()
	if f64 {
		ds.X64 = make([]float64, n*fl)
	} else {
		ds.X32 = make([]float32, n*fl)
	}
	for i := range n {
		ds.Labels[i] = i % classes
		for j := range fl {
			v := float64(i) + float64(j)/float64(fl)
			if f64 {
				ds.X64[i*fl+j] = v
			} else {
				ds.X32[i*fl+j] = float32(v)
			}
		}
	}
	return ds
}

func TestValidate(t *testing.T) {
	good := func() *Dataset { return seq(3, []int{2, 2}, 2, false) }
	tests := []struct {
		name   string
		mutate func(d *Dataset)
		want   string // substring of the error, "" for valid
	}{
		{"valid", func(d *Dataset) {}, ""},
		{"valid f64", func(d *Dataset) { d.X64 = make([]float64, len(d.X32)); d.X32 = nil }, ""},
		{"no shape", func(d *Dataset) { d.ExampleShape = nil }, "ExampleShape is empty"},
		{"zero dim", func(d *Dataset) { d.ExampleShape = []int{2, 0} }, "dimension 1 is 0"},
		{"classes", func(d *Dataset) { d.Classes = 0 }, "Classes = 0"},
		{"empty", func(d *Dataset) { d.Labels = nil; d.X32 = d.X32[:0] }, "no examples"},
		{"both", func(d *Dataset) { d.X64 = make([]float64, 12) }, "both X32 and X64"},
		{"neither", func(d *Dataset) { d.X32 = nil }, "neither X32 nor X64"},
		{"short X32", func(d *Dataset) { d.X32 = d.X32[:11] }, "X32 holds 11 values, want 12"},
		{"long X64", func(d *Dataset) { d.X32 = nil; d.X64 = make([]float64, 13) }, "X64 holds 13 values, want 12"},
		{"label high", func(d *Dataset) { d.Labels[2] = 2 }, "Labels[2] = 2 is out of range [0, 2)"},
		{"label negative", func(d *Dataset) { d.Labels[0] = -1 }, "Labels[0] = -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good()
			tt.mutate(d)
			err := d.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "datasets: ") {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	var nilDS *Dataset
	if nilDS.Validate() == nil || nilDS.Len() != 0 || nilDS.FeatureLen() != 0 || nilDS.Head(3) != nil {
		t.Fatal("nil dataset: want an error, zero lengths and a nil Head")
	}
}

func TestSplit(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		ds := seq(100, []int{3}, 7, f64)
		train, val, err := ds.Split(0.2, 42)
		if err != nil {
			t.Fatal(err)
		}
		if train.Len() != 80 || val.Len() != 20 {
			t.Fatalf("split sizes %d/%d, want 80/20", train.Len(), val.Len())
		}
		if train.Name != "seq/train" || val.Name != "seq/val" {
			t.Errorf("names %q, %q", train.Name, val.Name)
		}
		// Rows are recovered from their first value; together they must be
		// a partition of 0..99, each side in ascending order.
		rows := func(d *Dataset) []int {
			var out []int
			for i := range d.Len() {
				var v float64
				if f64 {
					v = d.X64[i*3]
				} else {
					v = float64(d.X32[i*3])
				}
				r := int(v)
				if d.Labels[i] != r%7 {
					t.Fatalf("row %d carries label %d, want %d", r, d.Labels[i], r%7)
				}
				out = append(out, r)
			}
			return out
		}
		tr, va := rows(train), rows(val)
		if !slices.IsSorted(tr) || !slices.IsSorted(va) {
			t.Error("split does not keep the original order")
		}
		all := slices.Sorted(slices.Values(append(slices.Clone(tr), va...)))
		for i, r := range all {
			if r != i {
				t.Fatalf("split is not a partition: position %d holds row %d", i, r)
			}
		}
		_, val2, _ := ds.Split(0.2, 42)
		_, val3, _ := ds.Split(0.2, 43)
		if !slices.Equal(rows(val2), va) {
			t.Error("same seed, different split")
		}
		if slices.Equal(rows(val3), va) {
			t.Error("seeds 42 and 43 chose the same validation rows")
		}
		// The copies share no memory with the source.
		if f64 {
			val.X64[0] = -1
		} else {
			val.X32[0] = -1
		}
		if rows(ds)[va[0]] != va[0] {
			t.Error("Split shares memory with the dataset")
		}
	}
	for _, tt := range []struct {
		frac float64
		n    int
		want string
	}{
		{0, 10, "out of range (0, 1)"},
		{1, 10, "out of range (0, 1)"},
		{-0.5, 10, "out of range"},
		{0.01, 10, "gives 0 validation"},
		{0.99, 10, "gives 10 validation and 0 training"},
	} {
		if _, _, err := seq(tt.n, []int{1}, 2, false).Split(tt.frac, 1); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Split(%v) of %d = %v, want %q", tt.frac, tt.n, err, tt.want)
		}
	}
}

func TestSubsetAndHead(t *testing.T) {
	ds := seq(5, []int{2}, 3, false)
	sub, err := ds.Subset([]int{4, 0, 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{4, 4.5, 0, 0.5, 4, 4.5}; !slices.Equal(sub.X32, want) {
		t.Errorf("Subset X32 = %v, want %v", sub.X32, want)
	}
	if want := []int{1, 0, 1}; !slices.Equal(sub.Labels, want) {
		t.Errorf("Subset Labels = %v, want %v", sub.Labels, want)
	}
	for _, idx := range [][]int{{5}, {-1}, {}} {
		if _, err := ds.Subset(idx); err == nil {
			t.Errorf("Subset(%v) succeeded", idx)
		}
	}
	if _, err := ds.Subset([]int{0, 7}); err == nil || !strings.Contains(err.Error(), "index 1 is 7, out of range [0, 5)") {
		t.Errorf("Subset error = %v", err)
	}

	h := ds.Head(2)
	if h.Len() != 2 || len(h.X32) != 4 || h.Validate() != nil {
		t.Fatalf("Head(2): %d rows, %d values, %v", h.Len(), len(h.X32), h.Validate())
	}
	h.X32[0] = 99
	if ds.X32[0] != 99 {
		t.Error("Head does not share memory")
	}
	if ds.Head(10).Len() != 5 || ds.Head(-1).Len() != 0 {
		t.Error("Head does not clamp n")
	}
}

// TestApplyMatchesLoader: a dataset transformed once by Apply holds, row for
// row and bit for bit, what a Loader with the same transforms and seed
// yields in epoch 0 — and the original is untouched.
func TestApplyMatchesLoader(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		ds := seq(1030, []int{1, 6, 6}, 4, f64)
		orig := seq(1030, []int{1, 6, 6}, 4, f64)
		ts := []Transform{RandomShift(1), Normalize(0.5, 2)}
		got, err := ds.Apply(9, ts...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ds.X32, orig.X32) || !slices.Equal(ds.X64, orig.X64) {
			t.Fatal("Apply modified its input")
		}
		l, err := NewLoader(ds, WithBatchSize(100), WithAugmentSeed(9), WithTransforms(ts...))
		if err != nil {
			t.Fatal(err)
		}
		it := l.Epoch(context.Background(), 0)
		var want32 []float32
		var want64 []float64
		for b, ok := it.Next(); ok; b, ok = it.Next() {
			want32 = append(want32, b.X32...)
			want64 = append(want64, b.X64...)
		}
		it.Close()
		if !slices.Equal(got.X32, want32) || !slices.Equal(got.X64, want64) || !slices.Equal(got.Labels, ds.Labels) {
			t.Fatalf("f64=%v: Apply differs from the loader's epoch 0", f64)
		}
		if got.Len() != ds.Len() || !slices.Equal(got.ExampleShape, ds.ExampleShape) {
			t.Fatalf("Apply changed the shape: %d rows %v", got.Len(), got.ExampleShape)
		}
	}
	if _, err := seq(10, []int{4}, 2, false).Apply(1, Normalize(0, 0)); err == nil {
		t.Error("Apply with std 0 succeeded")
	}
}
