package golden

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSchedulerFiles runs every sched-*.json in Dir through the registered
// checker: both the uninterrupted and the resumed run must stay within
// 1e-12 of PyTorch.
func TestSchedulerFiles(t *testing.T) {
	checkFiles(t, "sched-*.json", 1, "float64", "float64-resumed")
}

// schedCase builds a synthetic scheduler file in memory.
func schedCase(t *testing.T, scheduler, options, stepsPer string, lrs []float64, metrics []float64) *File {
	t.Helper()
	m := map[string]any{"kind": "scheduler", "dtype": "float64", "scheduler": scheduler, "options": json.RawMessage(options),
		"initial_lr": 0.1, "steps_per": stepsPer, "lrs": lrs}
	if metrics != nil {
		m["metrics"] = metrics
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	f := &File{Path: "synthetic-" + scheduler}
	if err := json.Unmarshal(b, &f.Raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSchedulerArguments checks that arguments the current files do not use
// are understood (results computed by hand from PyTorch's formulas) and that
// unknown classes, arguments and invalid values are errors naming them.
func TestSchedulerArguments(t *testing.T) {
	ok := []struct {
		name, scheduler, options, stepsPer string
		lrs                                []float64
		metrics                            []float64
	}{
		{"StepLR default gamma", "StepLR", `{"step_size": 2, "last_epoch": -1, "verbose": false}`, "epoch",
			[]float64{0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1}, nil},
		{"ConstantLR defaults", "ConstantLR", `{}`, "batch",
			[]float64{0.1 * (1.0 / 3), 0.1 * (1.0 / 3), 0.1 * (1.0 / 3), 0.1 * (1.0 / 3), 0.1 * (1.0 / 3), 0.1 * (1.0 / 3) * 3, 0.1 * (1.0 / 3) * 3}, nil},
		{"MultiStepLR repeated milestone", "MultiStepLR", `{"milestones": [1, 3, 3], "gamma": 0.5}`, "epoch",
			[]float64{0.1, 0.05, 0.05, 0.0125}, nil},
		{"OneCycleLR epochs×steps, linear, three phase", "OneCycleLR",
			`{"max_lr": [1.0], "epochs": 2, "steps_per_epoch": 5, "pct_start": 0.2, "anneal_strategy": "linear", "three_phase": true, "div_factor": 10.0, "final_div_factor": 100.0, "cycle_momentum": true, "base_momentum": 0.8, "max_momentum": 0.9}`, "batch",
			// phases end at steps 1, 2 and 9: 0.1→1, 1→0.1, 0.1→0.001
			[]float64{0.1, 1, 0.1, 0.1 + (0.001-0.1)*(1.0/7), 0.1 + (0.001-0.1)*(2.0/7), 0.1 + (0.001-0.1)*(3.0/7), 0.1 + (0.001-0.1)*(4.0/7), 0.1 + (0.001-0.1)*(5.0/7), 0.1 + (0.001-0.1)*(6.0/7), 0.001}, nil},
		{"SequentialLR warm-up then exponential", "SequentialLR",
			`{"schedulers": [{"scheduler": "LinearLR", "options": {"start_factor": 0.5, "total_iters": 2}}, {"scheduler": "ExponentialLR", "options": {"gamma": 0.5}}], "milestones": [2]}`, "epoch",
			[]float64{0.05, 0.1 * 0.5 * (1 + 0.5/(2*0.5)), 0.1, 0.05, 0.025}, nil},
		{"ChainedScheduler", "ChainedScheduler",
			`{"schedulers": [{"scheduler": "ConstantLR", "options": {"factor": 0.5, "total_iters": 2}}, {"scheduler": "ExponentialLR", "options": {"gamma": 0.5}}]}`, "epoch",
			[]float64{0.05, 0.025, 0.025, 0.0125}, nil},
		{"ReduceLROnPlateau list min_lr, rel max", "ReduceLROnPlateau", `{"mode": "max", "patience": 0, "min_lr": [0.04], "eps": 0}`, "epoch",
			// factor 0.1: 0.1 → max(0.01, 0.04); then 0.04 − 0.04 is not > eps.
			[]float64{0.1, 0.1, 0.04, 0.04}, []float64{1, 0.5, 0.5, 0.5}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			results, err := Check(schedCase(t, tc.scheduler, tc.options, tc.stepsPer, tc.lrs, tc.metrics))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if !r.OK() {
					t.Errorf("%s: max rel err %.3g", r.Variant, r.MaxRelErr)
				}
			}
		})
	}

	bad := []struct {
		scheduler, options, want string
	}{
		{"CyclicLR", `{}`, `unknown scheduler class "CyclicLR"`},
		{"StepLR", `{"step_size": 3, "gama": 0.5}`, "unknown argument(s) gama"},
		{"StepLR", `{"gamma": 0.5}`, "argument step_size is required"},
		{"StepLR", `{"step_size": 0}`, "step_size 0, want ≥ 1"},
		{"StepLR", `{"step_size": 2.5}`, "step_size = 2.5, want an integer"},
		{"StepLR", `{"step_size": 2, "last_epoch": 4}`, "last_epoch 4"},
		{"MultiStepLR", `{"milestones": []}`, "milestones is empty"},
		{"MultiStepLR", `{"milestones": [5, 2]}`, "not sorted"},
		{"CosineAnnealingLR", `{"T_max": 0}`, "T_max 0, want ≥ 1"},
		{"ExponentialLR", `{"gamma": -1}`, "gamma -1"},
		{"LambdaLR", `{}`, "Python function"},
		{"OneCycleLR", `{"max_lr": 0.1}`, "give total_steps, or epochs and steps_per_epoch"},
		{"OneCycleLR", `{"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "cosine"}`, `anneal_strategy "cosine"`},
		{"SequentialLR", `{"schedulers": [{"scheduler": "StepLR", "options": {"step_size": 1}}], "milestones": [3]}`, "1 schedules need 0 milestones"},
		{"ReduceLROnPlateau", `{"factor": 1.0}`, "factor 1, want a value in (0, 1)"},
		{"ReduceLROnPlateau", `{"mode": "auto"}`, `mode "auto"`},
		{"ReduceLROnPlateau", `{"threshold_mode": "relative"}`, `threshold_mode "relative"`},
		{"ReduceLROnPlateau", `{"patience": -1}`, "patience -1, want ≥ 0"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.scheduler+" "+tc.options, func(t *testing.T) {
			metrics := []float64{1}
			_, err := Check(schedCase(t, tc.scheduler, tc.options, "epoch", []float64{0.1}, metrics))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
