package datasets

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		opts       []CSVOption
		wantX      []float32
		wantLabels []int
		wantNames  []string
	}{
		{
			name:       "string labels sorted byte-wise, label column anywhere",
			in:         "a,label,b\n1,dog,2\n3,cat,4\n5,dog,6.5\n",
			wantX:      []float32{1, 2, 3, 4, 5, 6.5},
			wantLabels: []int{1, 0, 1},
			wantNames:  []string{"cat", "dog"},
		},
		{
			name:       "integer labels sorted numerically",
			in:         "x,label\n0.5,10\n1e-3,2\n-7,10\n",
			wantX:      []float32{0.5, 1e-3, -7},
			wantLabels: []int{1, 0, 1},
			wantNames:  []string{"2", "10"},
		},
		{
			name:       "spaces, quotes, CRLF and a named label column",
			in:         "\"f 1\", f2 ,species\r\n 1 ,\"2\", setosa \r\n3,4,virginica\r\n",
			opts:       []CSVOption{WithLabelColumn("species")},
			wantX:      []float32{1, 2, 3, 4},
			wantLabels: []int{0, 1},
			wantNames:  []string{"setosa", "virginica"},
		},
		{
			name:       "byte-order mark and blank lines",
			in:         "\ufefflabel,x\n\na,1\n\nb,2\n",
			wantX:      []float32{1, 2},
			wantLabels: []int{0, 1},
			wantNames:  []string{"a", "b"},
		},
		{
			name:       "TSV",
			in:         "label\tx\ty\nb\t1\t2\na\t3\t4\n",
			opts:       []CSVOption{WithDelimiter('\t')},
			wantX:      []float32{1, 2, 3, 4},
			wantLabels: []int{1, 0},
			wantNames:  []string{"a", "b"},
		},
		{
			name:       "fixed classes keep their order and may be absent",
			in:         "x,label\n1,b\n2,b\n",
			opts:       []CSVOption{WithLabelClasses("c", "b", "a")},
			wantX:      []float32{1, 2},
			wantLabels: []int{1, 1},
			wantNames:  []string{"c", "b", "a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ReadCSV(strings.NewReader(tc.in), "t.csv", tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.X32, tc.wantX) || !slices.Equal(ds.Labels, tc.wantLabels) || !slices.Equal(ds.ClassNames, tc.wantNames) {
				t.Fatalf("got X %v labels %v classes %q, want %v %v %q", ds.X32, ds.Labels, ds.ClassNames, tc.wantX, tc.wantLabels, tc.wantNames)
			}
			if want := len(tc.wantX) / len(tc.wantLabels); !slices.Equal(ds.ExampleShape, []int{want}) || ds.Classes != len(tc.wantNames) {
				t.Fatalf("shape %v, %d classes", ds.ExampleShape, ds.Classes)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts []CSVOption
		want []string // all must appear in the error
	}{
		{"empty file", "", nil, []string{"bad.csv", "empty file"}},
		{"header only", "x,label\n", nil, []string{"bad.csv", "no data rows"}},
		{"no label column", "x,y\n1,2\n", nil, []string{"bad.csv", "line 1", `no label column "label"`, "-label-column"}},
		{"label only", "label\na\n", nil, []string{"at least one feature column"}},
		{"duplicate header", "x,x,label\n1,2,a\n", nil, []string{`"x"`, "columns 1 and 2"}},
		{"empty header name", "x,,label\n1,2,a\n", nil, []string{"header column 2 is empty"}},
		{"non-number", "x,y,label\n1,2,a\n3,abc,b\n", nil, []string{"bad.csv", "line 3", `column "y"`, `"abc"`, "not a number"}},
		{"missing value", "x,label\n1,a\n,b\n", nil, []string{"line 3", `column "x"`, "empty (missing value)"}},
		{"NaN", "x,label\nNaN,a\n", nil, []string{"line 2", `"NaN"`, "not finite"}},
		{"Inf", "x,label\n-Inf,a\n", nil, []string{"line 2", `"-Inf"`, "not finite"}},
		{"float32 overflow", "x,label\n1e39,a\n", nil, []string{"line 2", `"1e39"`, "out of float32 range"}},
		{"short row", "x,y,label\n1,2,a\n3,b\n", nil, []string{"bad.csv", "line 3 has 2 fields, want 3"}},
		{"long row", "x,label\n1,a\n1,2,b\n", nil, []string{"line 3 has 3 fields, want 2"}},
		{"empty label", "x,label\n1, \n", nil, []string{"line 2", "label column \"label\" is empty"}},
		{"label outside fixed classes", "x,label\n1,a\n2,z\n", []CSVOption{WithLabelClasses("a", "b")}, []string{"line 3", `"z" is not one of the 2 classes`}},
		{"broken quote", "x,label\n\"1,a\n", nil, []string{"bad.csv", "line", "quote"}},
		{"bad delimiter", "x,label\n1,a\n", []CSVOption{WithDelimiter('"')}, []string{"WithDelimiter"}},
		{"empty label column name", "x,label\n1,a\n", []CSVOption{WithLabelColumn("")}, []string{"WithLabelColumn"}},
		{"repeated fixed class", "x,label\n1,a\n", []CSVOption{WithLabelClasses("a", "a")}, []string{"WithLabelClasses", `"a" repeats`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ReadCSV(strings.NewReader(tc.in), "bad.csv", tc.opts...)
			requireErrorWith(t, ds, err, tc.want...)
		})
	}
}

// requireErrorWith fails unless a reader returned an error holding every
// one of wants.
func requireErrorWith(t *testing.T, ds *Dataset, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; got %d examples", ds.Len())
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestReadCSVFile(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "data.tsv")
	if err := os.WriteFile(tsv, []byte("x\tlabel\n1\ta\n2\tb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := ReadCSVFile(tsv)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Name != tsv || ds.Len() != 2 || !slices.Equal(ds.X32, []float32{1, 2}) {
		t.Fatalf("got %q with X %v", ds.Name, ds.X32)
	}
	if _, err := ReadCSVFile(filepath.Join(dir, "missing.csv")); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("missing file: error %v, want one naming it", err)
	}
}

func TestStandardization(t *testing.T) {
	ds := &Dataset{ExampleShape: []int{2}, X32: []float32{1, 5, 3, 5, 5, 5}, Labels: []int{0, 0, 0}, Classes: 1}
	s, err := FitStandardization(ds)
	if err != nil {
		t.Fatal(err)
	}
	// Column 0: mean 3, population std sqrt(8/3); column 1 is constant.
	if !slices.Equal(s.Mean, []float64{3, 5}) || s.Std[0] != math.Sqrt(8.0/3) || s.Std[1] != 1 {
		t.Fatalf("fitted %+v", s)
	}
	out, err := ds.Apply(0, s)
	if err != nil {
		t.Fatal(err)
	}
	z := float32(2 / math.Sqrt(8.0/3))
	if want := []float32{-z, 0, 0, 0, z, 0}; !slices.Equal(out.X32, want) {
		t.Fatalf("standardised %v, want %v", out.X32, want)
	}
	wrong := &Dataset{ExampleShape: []int{3}, X32: make([]float32, 3), Labels: []int{0}, Classes: 1}
	if _, err := wrong.Apply(0, s); err == nil || !strings.Contains(err.Error(), "fitted on 2 features") {
		t.Fatalf("3 features through a 2-feature standardisation: error %v", err)
	}
	for _, bad := range []*Standardization{nil, {}, {Mean: []float64{0}, Std: []float64{0}}, {Mean: []float64{math.NaN()}, Std: []float64{1}}, {Mean: []float64{0, 1}, Std: []float64{1}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%v) = nil, want an error", bad)
		}
	}
}

// FuzzReadCSV feeds arbitrary bytes to ReadCSV: it must return an error or
// a valid dataset, never panic, and what it accepts must read back to the
// same values from a canonical re-encoding.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		"x,label\n1,a\n2,b\n",
		"a,label,b\n1,dog,2\n3,cat,4\n",
		"label,x\n10,1\n2,2\n",
		"\"f,1\",label\n\"1\",\"a b\"\n",
		"x,label\n1,a\n3\n",
		"x,label\nNaN,a\n",
		"x,label\n\"1,a\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ds, err := ReadCSV(bytes.NewReader(in), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "datasets: fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
		fl := ds.FeatureLen()
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		row := make([]string, fl+1)
		for j := range fl {
			row[j] = "f" + strconv.Itoa(j)
		}
		row[fl] = "label"
		w.Write(row)
		for i := range ds.Len() {
			for j := range fl {
				row[j] = strconv.FormatFloat(float64(ds.X32[i*fl+j]), 'g', -1, 32)
			}
			row[fl] = ds.ClassNames[ds.Labels[i]]
			w.Write(row)
		}
		w.Flush()
		again, err := ReadCSV(bytes.NewReader(b.Bytes()), "fuzz.csv")
		if err != nil {
			t.Fatalf("re-encoding does not read back: %v\n%s", err, b.Bytes())
		}
		if !slices.Equal(again.X32, ds.X32) || !slices.Equal(again.Labels, ds.Labels) || !slices.Equal(again.ClassNames, ds.ClassNames) {
			t.Fatalf("re-encoding reads back differently")
		}
	})
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReadCSVReadError: a reader that fails mid-file is an error naming
// the file, never a shorter dataset.
func TestReadCSVReadError(t *testing.T) {
	r := &failingReader{data: []byte("x,label\n1,a\n2,b\n"), err: errors.New("disk on fire")}
	ds, err := ReadCSV(r, "t.csv")
	requireErrorWith(t, ds, err, "reading t.csv", "disk on fire")
	if _, err := ReadCSV(nil, "t.csv"); err == nil || !strings.Contains(err.Error(), "nil reader") {
		t.Errorf("nil reader: %v", err)
	}
}
