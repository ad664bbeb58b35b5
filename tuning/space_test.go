package tuning

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseSpace(t *testing.T) {
	s, err := ParseSpace(" lr=log:1e-4:1e-2 , beta1=0.8|0.9|0.95,batch-size=int:32:256,eps=1e-8|1e-7,schedule=none|cosine,dropout=uniform:0:0.5,layers=1|2 ")
	if err != nil {
		t.Fatal(err)
	}
	want := "lr=log:0.0001:0.01,beta1=0.8|0.9|0.95,batch-size=int:32:256,eps=1e-08|1e-07,schedule=none|cosine,dropout=uniform:0:0.5,layers=1|2"
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	again, err := ParseSpace(s.String())
	if err != nil || again.String() != want {
		t.Errorf("round trip: %v, %q", err, again)
	}
	c := s.dims[6].(*choice)
	if _, ok := c.values[0].(int); !ok {
		t.Errorf("layers=1|2: value type %T, want int", c.values[0])
	}
	if _, ok := s.dims[1].(*choice).values[0].(float64); !ok {
		t.Errorf("beta1 value type %T, want float64", s.dims[1].(*choice).values[0])
	}
	if _, ok := s.dims[4].(*choice).values[0].(string); !ok {
		t.Errorf("schedule value type %T, want string", s.dims[4].(*choice).values[0])
	}
}

func TestParseSpaceErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "empty"},
		{"  ", "empty"},
		{"lr=log:1e-4:1e-2,,beta1=0.9", "item 2 of the search space is empty"},
		{"lr", `item "lr": want name=spec`},
		{"=1|2", `dimension name "" is invalid`},
		{"1lr=1|2", `dimension name "1lr" is invalid`},
		{"l r=1|2", `dimension name "l r" is invalid`},
		{"lr=", `dimension "lr": empty spec`},
		{"lr=log:0:1e-2", `dimension "lr": log-uniform range needs lo > 0, got lo = 0`},
		{"lr=log:-1:1e-2", `dimension "lr": log-uniform range needs lo > 0`},
		{"lr=log:1e-2:1e-4", `dimension "lr": log-uniform range needs lo < hi`},
		{"lr=log:1e-4", `dimension "lr": want log:LO:HI, got log:1e-4`},
		{"lr=log:1e-4:1e-2:3", `dimension "lr": want log:LO:HI`},
		{"lr=log:x:1e-2", `dimension "lr": log lower bound "x" is not a number`},
		{"lr=log:1e-4:y", `dimension "lr": log upper bound "y" is not a number`},
		{"lr=log:1e-4:inf", `dimension "lr": log-uniform range upper bound +Inf is not finite`},
		{"p=uniform:0.5:0.5", `dimension "p": uniform range needs lo < hi, got lo = 0.5, hi = 0.5`},
		{"p=uniform:nan:1", `dimension "p": uniform range lower bound NaN is not finite`},
		{"p=uniform:-1.7e308:1.7e308", `dimension "p": uniform range [-1.7e+308, 1.7e+308] is wider than float64`},
		{"bs=int:256:32", `dimension "bs": integer range needs lo < hi, got lo = 256, hi = 32`},
		{"bs=int:32.5:64", `dimension "bs": int lower bound "32.5" is not a number`},
		{"beta1=0.9||0.95", `dimension "beta1": empty value in choice`},
		{"beta1=0.9|0.90", `dimension "beta1": value 0.9 appears twice`},
		{"n=1|1.0", `dimension "n": value 1 appears twice`},
		{"lr=1e-3,lr=1e-2", `dimension "lr" is defined twice`},
		{"lr=lgo:1e-4:1e-2", `dimension "lr": unknown range kind "lgo" in "lgo:1e-4:1e-2"`},
		{"bs=Int:32:64", `dimension "bs": unknown range kind "Int"`},
	} {
		_, err := ParseSpace(tc.spec)
		if err == nil {
			t.Errorf("ParseSpace(%q) succeeded, want error containing %q", tc.spec, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tuning: ") {
			t.Errorf("ParseSpace(%q) error %q, want it to start with \"tuning: \" and contain %q", tc.spec, err, tc.want)
		}
	}
}

func TestCheckValues(t *testing.T) {
	s, err := ParseSpace("lr=log:1e-4:1e-2,beta1=0.9|0.95,bs=int:32:256,act=relu|elu")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = s.CheckValues(func(name string, v any) error {
		seen = append(seen, name+"="+formatValue(v))
		return nil
	})
	want := "lr=0.0001 lr=0.01 beta1=0.9 beta1=0.95 bs=32 bs=256 act=relu act=elu"
	if err != nil || strings.Join(seen, " ") != want {
		t.Errorf("checked %v (err %v), want %s", seen, err, want)
	}
	for _, tc := range []struct{ spec, want string }{
		{"beta1=0.9|1.0", "beta1=1: want [0, 1)"},
		{"beta1=uniform:0.5:1", "beta1=1: want [0, 1)"},
		{"lr=log:1e-4:1e-2,beta1=0.8|0.9", ""},
	} {
		s, err := ParseSpace(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckValues(func(name string, v any) error {
			if f, ok := v.(float64); ok && name == "beta1" && f >= 1 {
				return errors.New("want [0, 1)")
			}
			return nil
		})
		if (tc.want == "") != (err == nil) || err != nil && err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.spec, err, tc.want)
		}
	}
}

func TestNewSpaceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		dims []Dimension
		want string
	}{
		{"no dimensions", nil, "at least one dimension"},
		{"nil dimension", []Dimension{Uniform("a", 0, 1), nil}, "dimension 1 is nil"},
		{"empty choice", []Dimension{Choice("act")}, `dimension "act": a choice needs at least one value`},
		{"bad type", []Dimension{Choice("act", "relu", []int{1})}, `dimension "act": value 1: [1] has type []int`},
		{"nan choice", []Dimension{Choice("x", 1.0, math.NaN())}, `dimension "x": value 1: NaN is not a finite number`},
		{"uint64 overflow", []Dimension{Choice("x", uint64(math.MaxUint64))}, "overflows int"},
		{"duplicate across kinds", []Dimension{Choice("x", int64(2), 2.0)}, `dimension "x": value 2 appears twice`},
		{"duplicate name", []Dimension{Uniform("x", 0, 1), IntRange("x", 0, 1)}, `dimension "x" is defined twice`},
		{"int lo == hi", []Dimension{IntRange("n", 3, 3)}, `dimension "n": integer range needs lo < hi`},
		{"log lo = 0", []Dimension{LogUniform("lr", 0, 1)}, "needs lo > 0"},
		{"bad name", []Dimension{Uniform("a.b", 0, 1)}, `dimension name "a.b" is invalid`},
	} {
		_, err := NewSpace(tc.dims...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewSpace error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	s, err := NewSpace(Choice("act", "relu", int32(3), float32(0.5), uint8(7)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "act=relu|3|0.5|7" {
		t.Errorf("normalised choice = %q", got)
	}
}

func TestParams(t *testing.T) {
	p := Params{"f": 0.25, "i": 64, "s": "cosine", "sn": "1e-3", "si": "32", "half": 2.5, "neg": -2.5, "huge": 1e300}
	for _, tc := range []struct {
		name  string
		float float64
		int   int
		str   string
	}{
		{"f", 0.25, 0, "0.25"},
		{"i", 64, 64, "64"},
		{"s", math.NaN(), 0, "cosine"},
		{"sn", 1e-3, 0, "1e-3"},
		{"si", 32, 32, "32"},
		{"half", 2.5, 3, "2.5"},
		{"neg", -2.5, -3, "-2.5"},
		{"huge", 1e300, 0, "1e+300"},
		{"missing", math.NaN(), 0, ""},
	} {
		if got := p.Float(tc.name); got != tc.float && !(math.IsNaN(got) && math.IsNaN(tc.float)) {
			t.Errorf("Float(%q) = %v, want %v", tc.name, got, tc.float)
		}
		if got := p.Int(tc.name); got != tc.int {
			t.Errorf("Int(%q) = %v, want %v", tc.name, got, tc.int)
		}
		if got := p.String(tc.name); got != tc.str {
			t.Errorf("String(%q) = %q, want %q", tc.name, got, tc.str)
		}
	}
}
