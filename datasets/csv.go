package datasets

import (
	"encoding/csv"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pkg/errors"
)

// DefaultLabelColumn is the header name ReadCSV takes the class label from
// unless WithLabelColumn says otherwise.
const DefaultLabelColumn = "label"

// CSVOption configures ReadCSV and ReadCSVFile.
type CSVOption func(*csvConfig)

type csvConfig struct {
	label     string
	delimiter rune
	classes   []string
}

// WithLabelColumn names the header column holding the class label
// (default DefaultLabelColumn, "label"). Every other column is a numeric
// feature.
func WithLabelColumn(name string) CSVOption { return func(c *csvConfig) { c.label = name } }

// WithDelimiter sets the field separator: ',' (the default) for CSV, '\t'
// for TSV. ReadCSVFile picks '\t' for a .tsv file unless this is given.
func WithDelimiter(r rune) CSVOption { return func(c *csvConfig) { c.delimiter = r } }

// WithLabelClasses fixes the classes and their order instead of deriving
// them from the file: pass the training set's ClassNames when reading its
// test set, so that both index the classes alike. A label that is not
// one of names is then an error naming the line.
func WithLabelClasses(names ...string) CSVOption {
	return func(c *csvConfig) { c.classes = slices.Clone(names) }
}

// ReadCSVFile reads a CSV file (a TSV file when path ends in .tsv) with
// ReadCSV; the dataset is named after path and errors name it.
func ReadCSVFile(path string, opts ...CSVOption) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Wrap(err, "datasets: opening CSV file")
	}
	defer f.Close()
	if strings.EqualFold(fileExt(path), ".tsv") {
		opts = append([]CSVOption{WithDelimiter('\t')}, opts...)
	}
	return ReadCSV(f, path, opts...)
}

func fileExt(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 && !strings.ContainsAny(path[i:], `/\`) {
		return path[i:]
	}
	return ""
}

// ReadCSV reads a classification table: a header row naming the columns,
// then one example per row. The label column (WithLabelColumn) holds class
// labels as strings; every other column is a numeric feature, parsed as
// float32 (Go's strconv syntax, surrounding spaces allowed). The result has
// ExampleShape [features], X32 in the file's column order without the label,
// and ClassNames: the distinct labels sorted numerically when every label is
// an integer ("2" before "10"), else byte-wise ("cat" before "dog") — the
// order scikit-learn's LabelEncoder gives — unless WithLabelClasses fixes
// them. The input is read row by row, never whole, so memory holds only the
// parsed values. Blank lines are skipped (encoding/csv's rule) and a UTF-8
// byte-order mark before the header is ignored.
//
// Anything malformed is an error naming name, the line and the column, and
// the value found: a missing or repeated header name, no label column, a
// row with the wrong number of fields, an empty, non-numeric or non-finite
// feature (NaN and ±Inf are refused: standardisation and the loss cannot
// use them), an empty label, a label outside WithLabelClasses, a file with
// no data rows, or broken quoting. Nothing is ever silently skipped.
func ReadCSV(r io.Reader, name string, opts ...CSVOption) (ds *Dataset, err error) {
	defer func() {
		// encoding/csv does not panic on any input we know of, but a reader
		// is a boundary: whatever happens inside is an error, not a crash.
		if p := recover(); p != nil {
			ds, err = nil, errors.Errorf("datasets: %s: reading CSV: %v", name, p)
		}
	}()
	cfg := csvConfig{label: DefaultLabelColumn, delimiter: ','}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datasets: nil CSVOption")
		}
		o(&cfg)
	}
	if cfg.label == "" {
		return nil, errors.New("datasets: WithLabelColumn(\"\"): empty label column name")
	}
	if cfg.delimiter == '"' || cfg.delimiter == '\r' || cfg.delimiter == '\n' || cfg.delimiter == utf8.RuneError || !utf8.ValidRune(cfg.delimiter) || cfg.delimiter <= 0 {
		return nil, errors.Errorf("datasets: WithDelimiter(%q): want a printable separator such as ',' or '\\t'", cfg.delimiter)
	}
	if cfg.classes != nil {
		if err := checkClassNames(cfg.classes); err != nil {
			return nil, errors.Wrap(err, "datasets: WithLabelClasses")
		}
	}
	if r == nil {
		return nil, errors.Errorf("datasets: %s: nil reader", name)
	}

	cr := csv.NewReader(r)
	cr.Comma = cfg.delimiter
	cr.FieldsPerRecord = -1 // checked here, to name the row, its width and the header's
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.Errorf("datasets: %s: empty file, want a header row naming the columns", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	header = slices.Clone(header)
	labelCol := -1
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // the byte-order mark spreadsheets write
		}
		h = strings.TrimSpace(h)
		header[i] = h
		if h == "" {
			return nil, errors.Errorf("datasets: %s: line 1: header column %d is empty, want a name", name, i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, errors.Errorf("datasets: %s: line 1: header name %q appears in columns %d and %d", name, h, j+1, i+1)
		}
		seen[h] = i
		if h == cfg.label {
			labelCol = i
		}
	}
	if labelCol < 0 {
		return nil, errors.Errorf("datasets: %s: line 1: no label column %q among %q (choose it with WithLabelColumn / -label-column)", name, cfg.label, header)
	}
	if len(header) < 2 {
		return nil, errors.Errorf("datasets: %s: line 1: only the label column %q, want at least one feature column", name, cfg.label)
	}

	nf := len(header) - 1
	fixed := make(map[string]int, len(cfg.classes))
	for i, c := range cfg.classes {
		fixed[c] = i
	}
	var (
		xs     []float32
		labels []int              // first-appearance ids until remapped, or fixed indices
		ids    = map[string]int{} // label string -> first-appearance id
		names  []string           // first-appearance order
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, errors.Errorf("datasets: %s: line %d has %d fields, want %d as in the header %q", name, line, len(rec), len(header), header)
		}
		for i, field := range rec {
			if i == labelCol {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				why := "is not a number"
				switch {
				case strings.TrimSpace(field) == "":
					why = "is empty (missing value)"
				case err == nil:
					why = "is not finite"
				case errors.Is(err, strconv.ErrRange):
					why = "is out of float32 range"
				}
				return nil, errors.Errorf("datasets: %s: line %d, column %q: %q %s", name, line, header[i], field, why)
			}
			xs = append(xs, float32(v))
		}
		lab := strings.TrimSpace(rec[labelCol])
		if lab == "" {
			return nil, errors.Errorf("datasets: %s: line %d, label column %q is empty", name, line, header[labelCol])
		}
		if cfg.classes != nil {
			k, ok := fixed[lab]
			if !ok {
				return nil, errors.Errorf("datasets: %s: line %d, label column %q: %q is not one of the %d classes %q", name, line, header[labelCol], lab, len(cfg.classes), cfg.classes)
			}
			labels = append(labels, k)
			continue
		}
		k, ok := ids[lab]
		if !ok {
			k = len(names)
			ids[lab] = k
			names = append(names, lab)
		}
		labels = append(labels, k)
	}
	if len(labels) == 0 {
		return nil, errors.Errorf("datasets: %s: a header and no data rows, want at least one example", name)
	}
	classes := cfg.classes
	if classes == nil {
		classes = sortedClassNames(names)
		index := make([]int, len(names))
		for i, n := range names {
			index[i], _ = slices.BinarySearchFunc(classes, n, compareClassNames(classes))
		}
		for i, k := range labels {
			labels[i] = index[k]
		}
	}
	return &Dataset{
		Name:         name,
		ExampleShape: []int{nf},
		X32:          xs,
		Labels:       labels,
		Classes:      len(classes),
		ClassNames:   classes,
	}, nil
}

// csvError reports an encoding/csv error with the file's name; its
// ParseError already says line and column.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errors.Errorf("datasets: %s: line %d, column %d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return errors.Wrapf(err, "datasets: reading %s", name)
}

// sortedClassNames returns the names in the documented class order:
// numerically when every name is an integer, byte-wise otherwise.
func sortedClassNames(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, compareClassNames(out))
	return out
}

// compareClassNames returns the comparison sortedClassNames uses for the
// set of names given: numeric when all are integers.
func compareClassNames(all []string) func(a, b string) int {
	for _, n := range all {
		if _, err := strconv.ParseInt(n, 10, 64); err != nil {
			return strings.Compare
		}
	}
	return func(a, b string) int {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b) // "7" and "07"
	}
}

// checkClassNames rejects an empty list, empty names and repeats.
func checkClassNames(names []string) error {
	if len(names) == 0 {
		return errors.New("no class names")
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			return errors.Errorf("class %d has an empty name", i)
		}
		if seen[n] {
			return errors.Errorf("class name %q repeats", n)
		}
		seen[n] = true
	}
	return nil
}
