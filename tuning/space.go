package tuning

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// Dimension is one hyperparameter of a search space: its name and the values
// it may take. Build one with Choice, Uniform, LogUniform or IntRange; the
// set is closed because Grid and Random need to know how to enumerate and
// sample each kind.
type Dimension interface {
	// Name is the key of the dimension's value in Params.
	Name() string
	// String is the dimension in ParseSpace's syntax, "lr=log:0.0001:0.01".
	String() string

	check() error
	sample(r *rand.Rand) any
	grid(points int) []any
	// extremes are the values that bound what the dimension yields: every
	// value of a choice, both ends of a range.
	extremes() []any
}

// namePattern keeps names usable as CSV headers, command-line flags and
// Katib parameter names.
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return errors.Errorf("tuning: dimension name %q is invalid (want a letter or '_' followed by letters, digits, '_' or '-')", name)
	}
	return nil
}

// choice is a discrete set of values.
type choice struct {
	name   string
	values []any
	err    error // found while normalising the values, reported by NewSpace
}

// Choice is a dimension taking one of the given values, each equally likely
// under Random and all of them under Grid. Values may be float64, int or
// string; other integer kinds are stored as int and float32 as float64.
// NewSpace rejects an empty list, duplicates, non-finite floats and values of
// other types.
func Choice(name string, values ...any) Dimension {
	c := &choice{name: name}
	for i, v := range values {
		nv, err := normalizeValue(v)
		if err != nil && c.err == nil {
			c.err = errors.Wrapf(err, "tuning: dimension %q: value %d", name, i)
		}
		c.values = append(c.values, nv)
	}
	return c
}

func normalizeValue(v any) (any, error) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.Errorf("%v is not a finite number", v)
		}
		return v, nil
	case float32:
		return normalizeValue(float64(v))
	case int:
		return v, nil
	case int8:
		return int(v), nil
	case int16:
		return int(v), nil
	case int32:
		return int(v), nil
	case int64:
		return int(v), nil
	case uint8:
		return int(v), nil
	case uint16:
		return int(v), nil
	case uint32:
		return int(v), nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return nil, errors.Errorf("%d overflows int", v)
		}
		return int(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return nil, errors.Errorf("%d overflows int", v)
		}
		return int(v), nil
	case string:
		return v, nil
	}
	return nil, errors.Errorf("%v has type %T (want float64, int or string)", v, v)
}

func (c *choice) Name() string { return c.name }

func (c *choice) String() string {
	parts := make([]string, len(c.values))
	for i, v := range c.values {
		parts[i] = formatValue(v)
	}
	return c.name + "=" + strings.Join(parts, "|")
}

func (c *choice) check() error {
	if err := checkName(c.name); err != nil {
		return err
	}
	if c.err != nil {
		return c.err
	}
	if len(c.values) == 0 {
		return errors.Errorf("tuning: dimension %q: a choice needs at least one value", c.name)
	}
	seen := make(map[string]bool, len(c.values))
	for _, v := range c.values {
		k := canonical(v)
		if seen[k] {
			return errors.Errorf("tuning: dimension %q: value %s appears twice", c.name, formatValue(v))
		}
		seen[k] = true
	}
	return nil
}

func (c *choice) sample(r *rand.Rand) any { return c.values[r.IntN(len(c.values))] }

func (c *choice) grid(int) []any { return append([]any(nil), c.values...) }

func (c *choice) extremes() []any { return c.grid(0) }

// uniform is a continuous range, linear or logarithmic.
type uniform struct {
	name   string
	lo, hi float64
	log    bool
}

// Uniform is a float64 dimension drawn uniformly from [lo, hi]; Grid takes
// evenly spaced points including both ends. NewSpace requires finite
// lo < hi.
func Uniform(name string, lo, hi float64) Dimension {
	return &uniform{name: name, lo: lo, hi: hi}
}

// LogUniform is a float64 dimension whose logarithm is uniform on
// [log lo, log hi]: every decade between lo and hi is equally likely, which is
// how learning rates and epsilons are searched (Bergstra & Bengio 2012,
// "Random Search for Hyper-Parameter Optimization"). Grid takes
// geometrically spaced points including both ends. NewSpace requires
// 0 < lo < hi, both finite.
func LogUniform(name string, lo, hi float64) Dimension {
	return &uniform{name: name, lo: lo, hi: hi, log: true}
}

func (u *uniform) Name() string { return u.name }

func (u *uniform) String() string {
	kind := "uniform:"
	if u.log {
		kind = "log:"
	}
	return u.name + "=" + kind + formatValue(u.lo) + ":" + formatValue(u.hi)
}

func (u *uniform) check() error {
	if err := checkName(u.name); err != nil {
		return err
	}
	kind := "uniform"
	if u.log {
		kind = "log-uniform"
	}
	for _, b := range []struct {
		what string
		v    float64
	}{{"lower bound", u.lo}, {"upper bound", u.hi}} {
		if math.IsNaN(b.v) || math.IsInf(b.v, 0) {
			return errors.Errorf("tuning: dimension %q: %s range %s %v is not finite", u.name, kind, b.what, b.v)
		}
	}
	if u.log && u.lo <= 0 {
		return errors.Errorf("tuning: dimension %q: log-uniform range needs lo > 0, got lo = %v", u.name, u.lo)
	}
	if !(u.lo < u.hi) {
		return errors.Errorf("tuning: dimension %q: %s range needs lo < hi, got lo = %v, hi = %v", u.name, kind, u.lo, u.hi)
	}
	if math.IsInf(u.hi-u.lo, 0) {
		return errors.Errorf("tuning: dimension %q: %s range [%v, %v] is wider than float64 can represent", u.name, kind, u.lo, u.hi)
	}
	return nil
}

// Every product added to something is converted with float64(...), as in
// solvers and callbacks: Go may otherwise fuse it into an FMA (amd64 built
// for GOAMD64=v3, arm64), which rounds once instead of twice and makes a
// search draw other values on another build.
func (u *uniform) sample(r *rand.Rand) any {
	t := r.Float64()
	var v float64
	if u.log {
		l0, l1 := math.Log(u.lo), math.Log(u.hi)
		v = math.Exp(l0 + float64(t*(l1-l0)))
	} else {
		v = u.lo + float64(t*(u.hi-u.lo))
	}
	// exp(log(x)) and lo+t*(hi-lo) may round a hair outside the range.
	return math.Min(math.Max(v, u.lo), u.hi)
}

func (u *uniform) extremes() []any { return []any{u.lo, u.hi} }

func (u *uniform) grid(points int) []any {
	if points == 1 {
		if u.log {
			return []any{math.Sqrt(u.lo) * math.Sqrt(u.hi)}
		}
		return []any{u.lo + float64((u.hi-u.lo)/2)}
	}
	out := make([]any, points)
	for i := range points {
		t := float64(i) / float64(points-1)
		var v float64
		switch {
		case i == 0:
			v = u.lo
		case i == points-1:
			v = u.hi
		case u.log:
			// Computing in base 10 and snapping exponents that are integers
			// up to rounding makes a grid over decades hit 1e-3 exactly
			// rather than 0.0009999999999999998. float64() keeps Log10's
			// inlined product from fusing with the addition.
			lo, hi := float64(math.Log10(u.lo)), float64(math.Log10(u.hi))
			e := lo + float64(t*(hi-lo))
			if r := math.Round(e); math.Abs(e-r) < 1e-12 {
				e = r
			}
			v = math.Pow(10, e)
		default:
			v = u.lo + float64(t*(u.hi-u.lo))
		}
		out[i] = math.Min(math.Max(v, u.lo), u.hi)
	}
	return out
}

// intRange is an inclusive integer range.
type intRange struct {
	name   string
	lo, hi int
}

// IntRange is an int dimension drawn uniformly from lo to hi inclusive
// (batch sizes, layer widths). Grid takes every integer when there are at
// most pointsPerRange of them and otherwise pointsPerRange evenly spaced
// integers including both ends. NewSpace requires lo < hi; a fixed value is
// a one-value Choice.
func IntRange(name string, lo, hi int) Dimension {
	return &intRange{name: name, lo: lo, hi: hi}
}

func (d *intRange) Name() string { return d.name }

func (d *intRange) String() string {
	return d.name + "=int:" + strconv.Itoa(d.lo) + ":" + strconv.Itoa(d.hi)
}

func (d *intRange) check() error {
	if err := checkName(d.name); err != nil {
		return err
	}
	if d.lo >= d.hi {
		return errors.Errorf("tuning: dimension %q: integer range needs lo < hi, got lo = %d, hi = %d", d.name, d.lo, d.hi)
	}
	return nil
}

// span is the number of integers in the range; 0 means all 2^64 of them.
func (d *intRange) span() uint64 { return uint64(d.hi) - uint64(d.lo) + 1 }

func (d *intRange) sample(r *rand.Rand) any {
	n := d.span()
	if n == 0 {
		return int(r.Uint64())
	}
	return int(uint64(d.lo) + r.Uint64N(n))
}

func (d *intRange) extremes() []any { return []any{d.lo, d.hi} }

func (d *intRange) grid(points int) []any {
	if n := d.span(); n != 0 && n <= uint64(points) {
		out := make([]any, 0, n)
		for v := d.lo; ; v++ {
			out = append(out, v)
			if v == d.hi {
				return out
			}
		}
	}
	if points == 1 {
		return []any{int(uint64(d.lo) + (uint64(d.hi)-uint64(d.lo))/2)}
	}
	// More integers than points: the spacing exceeds 1, so rounding keeps
	// the points distinct.
	out := make([]any, points)
	width := float64(uint64(d.hi) - uint64(d.lo))
	for i := range points {
		switch i {
		case 0:
			out[i] = d.lo
		case points - 1:
			out[i] = d.hi
		default:
			off := math.Round(width * float64(i) / float64(points-1))
			out[i] = int(uint64(d.lo) + uint64(off))
		}
	}
	return out
}

// Space is a validated set of dimensions with distinct names, in the order
// given; that order fixes how Random draws and how Grid enumerates, so it is
// part of what makes a seeded search reproducible.
type Space struct {
	dims []Dimension
}

// NewSpace validates the dimensions (names, bounds, choices) and that no two
// share a name.
func NewSpace(dims ...Dimension) (*Space, error) {
	if len(dims) == 0 {
		return nil, errors.New("tuning: a search space needs at least one dimension")
	}
	seen := make(map[string]bool, len(dims))
	for i, d := range dims {
		if d == nil {
			return nil, errors.Errorf("tuning: dimension %d is nil", i)
		}
		if err := d.check(); err != nil {
			return nil, err
		}
		if seen[d.Name()] {
			return nil, errors.Errorf("tuning: dimension %q is defined twice", d.Name())
		}
		seen[d.Name()] = true
	}
	return &Space{dims: append([]Dimension(nil), dims...)}, nil
}

// sample draws one configuration, each dimension uniformly on its own scale,
// in the space's order.
func (s *Space) sample(r *rand.Rand) Params {
	p := make(Params, len(s.dims))
	for _, d := range s.dims {
		p[d.Name()] = d.sample(r)
	}
	return p
}

// discreteSize is the number of configurations of a space of Choice and
// IntRange dimensions only (discrete true), capped at math.MaxInt32 so that
// it cannot overflow.
func (s *Space) discreteSize() (size int, discrete bool) {
	size = 1
	for _, d := range s.dims {
		var n uint64
		switch d := d.(type) {
		case *choice:
			n = uint64(len(d.values))
		case *intRange:
			n = d.span()
			if n == 0 {
				n = math.MaxUint64
			}
		default:
			return 0, false
		}
		if n > uint64(math.MaxInt32/size) {
			size = math.MaxInt32
		} else {
			size *= int(n)
		}
	}
	return size, true
}

// Dimensions returns the space's dimensions in order.
func (s *Space) Dimensions() []Dimension { return append([]Dimension(nil), s.dims...) }

// CheckValues calls check with every value of every Choice and with both
// bounds of every range, in the order of the dimensions, and returns the
// first error, naming the dimension and the value. Since a range's values
// lie between its bounds, this validates every value a search can draw
// against a constraint that is an interval (a learning rate ≥ 0, β1 in
// [0, 1)) before any trial runs.
func (s *Space) CheckValues(check func(name string, value any) error) error {
	for _, d := range s.dims {
		for _, v := range d.extremes() {
			if err := check(d.Name(), v); err != nil {
				return errors.Wrapf(err, "%s=%s", d.Name(), formatValue(v))
			}
		}
	}
	return nil
}

// Names returns the dimension names in order, for table and CSV columns.
func (s *Space) Names() []string {
	names := make([]string, len(s.dims))
	for i, d := range s.dims {
		names[i] = d.Name()
	}
	return names
}

// String writes the space in ParseSpace's syntax. It parses back to the same
// space, except that a string choice that looks like a number ("1") comes back
// as a number.
func (s *Space) String() string {
	parts := make([]string, len(s.dims))
	for i, d := range s.dims {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// ParseSpace reads a space from its command-line form: comma-separated
// name=spec items, where spec is
//
//	log:LO:HI        LogUniform(name, LO, HI)
//	uniform:LO:HI    Uniform(name, LO, HI)
//	int:LO:HI        IntRange(name, LO, HI), inclusive
//	A|B|C            Choice(name, A, B, C); a single value fixes the parameter
//
// A spec that starts with a word and a colon but names no kind above
// ("lgo:1e-4:1e-2") is an error rather than a one-value choice, so a typo
// does not silently fix the parameter to a string.
//
// Choice values that parse as integers (strconv.Atoi) are ints, those that
// parse as floats are float64, others are strings. Spaces around items and
// values are ignored. Example:
//
//	lr=log:1e-4:1e-2,beta1=0.8|0.9|0.95,batch-size=int:32:256,schedule=none|cosine
//
// Errors name the item and what is wrong with it.
func ParseSpace(spec string) (*Space, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("tuning: the search space is empty (want name=spec items separated by commas)")
	}
	var dims []Dimension
	for i, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, errors.Errorf("tuning: item %d of the search space is empty", i+1)
		}
		name, body, ok := strings.Cut(item, "=")
		name, body = strings.TrimSpace(name), strings.TrimSpace(body)
		if !ok {
			return nil, errors.Errorf("tuning: item %q: want name=spec", item)
		}
		if err := checkName(name); err != nil {
			return nil, err
		}
		if body == "" {
			return nil, errors.Errorf("tuning: dimension %q: empty spec (want log:LO:HI, uniform:LO:HI, int:LO:HI or A|B|...)", name)
		}
		d, err := parseDimension(name, body)
		if err != nil {
			return nil, err
		}
		dims = append(dims, d)
	}
	return NewSpace(dims...)
}

func parseDimension(name, body string) (Dimension, error) {
	kind, rest, _ := strings.Cut(body, ":")
	switch strings.TrimSpace(kind) {
	case "log", "uniform":
		lo, hi, err := parseBounds(name, kind, rest, func(s string) (float64, error) {
			return strconv.ParseFloat(s, 64)
		})
		if err != nil {
			return nil, err
		}
		if kind == "log" {
			return LogUniform(name, lo, hi), nil
		}
		return Uniform(name, lo, hi), nil
	case "int":
		lo, hi, err := parseBounds(name, kind, rest, strconv.Atoi)
		if err != nil {
			return nil, err
		}
		return IntRange(name, lo, hi), nil
	}
	if rangeKind.MatchString(kind) && rest != "" {
		return nil, errors.Errorf("tuning: dimension %q: unknown range kind %q in %q (want log:LO:HI, uniform:LO:HI, int:LO:HI, or a choice A|B|C)", name, kind, body)
	}
	var values []any
	for _, tok := range strings.Split(body, "|") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, errors.Errorf("tuning: dimension %q: empty value in choice %q", name, body)
		}
		if i, err := strconv.Atoi(tok); err == nil {
			values = append(values, i)
		} else if f, err := strconv.ParseFloat(tok, 64); err == nil {
			values = append(values, f)
		} else {
			values = append(values, tok)
		}
	}
	return Choice(name, values...), nil
}

// rangeKind is what the word before a range spec's first colon looks like.
var rangeKind = regexp.MustCompile(`^\s*[A-Za-z]+\s*$`)

func parseBounds[T any](name, kind, rest string, parse func(string) (T, error)) (lo, hi T, err error) {
	a, b, ok := strings.Cut(rest, ":")
	if !ok || strings.Contains(b, ":") {
		return lo, hi, errors.Errorf("tuning: dimension %q: want %s:LO:HI, got %s:%s", name, kind, kind, rest)
	}
	if lo, err = parse(strings.TrimSpace(a)); err != nil {
		return lo, hi, errors.Errorf("tuning: dimension %q: %s lower bound %q is not a number", name, kind, a)
	}
	if hi, err = parse(strings.TrimSpace(b)); err != nil {
		return lo, hi, errors.Errorf("tuning: dimension %q: %s upper bound %q is not a number", name, kind, b)
	}
	return lo, hi, nil
}

// index is the position of v among the choice's values, -1 if absent;
// values compare as canonical does, so a value read back from JSON
// matches.
func (c *choice) index(v any) int {
	k := canonical(v)
	for i, w := range c.values {
		if canonical(w) == k {
			return i
		}
	}
	return -1
}
