package tuning

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Params holds one trial's hyperparameters by dimension name. Values are
// float64 (Uniform, LogUniform and float choices), int (IntRange and integer
// choices) or string (string choices). Read them with Float, Int and String,
// which convert between the three so that an objective does not depend on
// how a search space spelled a value ("beta1=0.9|1" has an int 1).
type Params map[string]any

// Float returns the parameter as a float64: an int is converted, a string is
// parsed with strconv.ParseFloat. A missing parameter, or a string that is
// not a number, gives NaN, so that a typo in a parameter name fails loudly
// in whatever validates the value (a solver rejects a NaN learning rate)
// instead of silently training with 0.
func (p Params) Float(name string) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// Int returns the parameter as an int: a float64 is rounded to the nearest
// integer (halves away from zero), a string is parsed as an integer or, if
// that fails, as a float and rounded. A missing parameter, a non-numeric
// string or a float outside int's range gives 0.
func (p Params) Int(name string) int {
	switch v := p[name].(type) {
	case int:
		return v
	case float64:
		return roundToInt(v)
	case string:
		s := strings.TrimSpace(v)
		if i, err := strconv.Atoi(s); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return roundToInt(f)
		}
	}
	return 0
}

func roundToInt(f float64) int {
	r := math.Round(f)
	if math.IsNaN(r) || r > math.MaxInt64 || r < math.MinInt64 {
		return 0
	}
	return int(r)
}

// String returns the parameter as a string: numbers are formatted the way
// ParseSpace reads them (strconv 'g', shortest exact form). A missing
// parameter gives "".
func (p Params) String(name string) string {
	v, ok := p[name]
	if !ok {
		return ""
	}
	return formatValue(v)
}

// formatValue writes a parameter value as ParseSpace reads it back.
func formatValue(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.Itoa(v)
	case string:
		return v
	}
	return ""
}

// canonical identifies a value regardless of whether it went through JSON,
// which turns ints into float64: numbers compare by their float64 value,
// strings are quoted so that the string "1" differs from the number 1.
func canonical(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.FormatFloat(float64(v), 'g', -1, 64)
	case string:
		return strconv.Quote(v)
	}
	return "?"
}

// key identifies a parameter set independently of map order.
func (p Params) key() string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(canonical(p[n]))
	}
	return b.String()
}

// clone returns a copy so that an objective that writes into its Params
// cannot change another trial's, or the leaderboard's.
func (p Params) clone() Params {
	c := make(Params, len(p))
	for k, v := range p {
		c[k] = v
	}
	return c
}
