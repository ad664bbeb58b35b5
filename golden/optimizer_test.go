package golden

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/solvers"
)

// TestOptimizerFiles runs every adam*.json in Dir: float64 within 1e-8,
// a run resumed halfway from the solver's state bit-identical to the
// uninterrupted one, and float32 within 1e-3.
func TestOptimizerFiles(t *testing.T) {
	checkFiles(t, "adam*.json", 6, "float64", "float64-resumed", "float32")
}

// TestOptimizerCheckerCanFail: a trajectory nudged by 1e-6 at one step is
// caught in float64.
func TestOptimizerCheckerCanFail(t *testing.T) {
	f, err := Load(filepath.Join(Dir(), "adam-lr-changes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var params [][]float64
	if err := json.Unmarshal(f.Raw["params"], &params); err != nil {
		t.Fatal(err)
	}
	params[30][4] *= 1 + 1e-6
	f.Raw["params"], _ = json.Marshal(params)
	results, err := Check(f)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Variant != "float64" || results[0].OK() {
		t.Errorf("a wrong trajectory passed: %+v", results[0])
	}
}

func TestAdamOptions(t *testing.T) {
	cases := []struct {
		name, optimizer, options string
		want                     string // the solver's String, or the error's text
		wantErr                  bool
	}{
		{"adam defaults", "Adam", `{}`, "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)", false},
		{"adamw default decay", "AdamW", `{"lr": 0.01}`, "Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01 (decoupled))", false},
		{"lower case", "adamw", `{"weight_decay": 0}`, "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)", false},
		{"every argument", "Adam", `{"lr": 0.05, "betas": [0.8, 0.99], "eps": 1e-7, "weight_decay": 0.1, "amsgrad": true,
			"maximize": true, "foreach": null, "capturable": false, "differentiable": false, "fused": false}`,
			"Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-07, weight_decay=0.1 (L2), amsgrad, maximize)", false},
		{"null is the default", "Adam", `{"lr": null, "betas": null}`, "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)", false},
		{"unknown class", "SGD", `{}`, `optimizer "SGD" is not Adam or AdamW`, true},
		{"unknown arguments", "Adam", `{"momentum": 0.9, "nesterov": true, "lr": 0.1}`, "unknown argument(s) momentum, nesterov", true},
		{"lr not a number", "Adam", `{"lr": "fast"}`, "argument lr = fast, want a number", true},
		{"betas not a pair", "Adam", `{"betas": [0.9]}`, "argument betas = [0.9], want a list of two numbers", true},
		{"amsgrad not a bool", "Adam", `{"amsgrad": 1}`, "argument amsgrad = 1, want true or false", true},
		{"invalid value", "Adam", `{"betas": [0.9, 1.0]}`, "solvers: beta2 = 1 is out of range [0, 1)", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(c.options), &m); err != nil {
				t.Fatal(err)
			}
			opts, err := adamOptions(c.optimizer, m)
			var s *solvers.Adam
			if err == nil {
				s, err = solvers.NewAdam(opts...)
			}
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want one containing %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.String() != c.want {
				t.Errorf("solver %s, want %s", s, c.want)
			}
		})
	}
}
