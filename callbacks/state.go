package callbacks

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/pkg/errors"
)

// num is a float64 that survives JSON exactly, including ±Inf and NaN
// (a plateau's "best" starts at +Inf), which encoding/json refuses.
type num float64

// MarshalJSON writes the shortest decimal that reads back to the same bits,
// or a string for the values JSON has no number for.
func (n num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *num) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*n = num(math.NaN())
		case "+Inf":
			*n = num(math.Inf(1))
		case "-Inf":
			*n = num(math.Inf(-1))
		default:
			return errors.Errorf("callbacks: state number %q, want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.Wrap(err, "callbacks: state number")
	}
	*n = num(v)
	return nil
}

// unmarshalState decodes b into v and checks that the state was written by
// the same kind of callback (kind is stored in every state).
func unmarshalState(who string, b []byte, kind *string, v any) error {
	want := *kind
	if err := json.Unmarshal(b, v); err != nil {
		return errors.Wrapf(err, "%s: state", who)
	}
	if *kind != want {
		return errors.Errorf("%s: state was written by %q, not %q", who, *kind, want)
	}
	return nil
}
