package callbacks_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

// goldenSched is the part of a testdata/golden/sched-*.json file a schedule
// test needs (format: testdata/golden/README.md).
type goldenSched struct {
	Scheduler string         `json:"scheduler"`
	Options   map[string]any `json:"options"`
	InitialLR float64        `json:"initial_lr"`
	StepsPer  string         `json:"steps_per"`
	LRs       []float64      `json:"lrs"`
	Metrics   []float64      `json:"metrics"`
}

func loadGolden(t *testing.T, name string) goldenSched {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenSched
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func relErr(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.Inf(1)
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-3)
}

// runSchedule drives cb through the file's steps with a fake loop and
// returns the rate in force during every step. Per-epoch files get epochs
// of three batches (the rate must not move inside an epoch); per-batch
// files get epochs of seven, so that epoch hooks run in between.
// ReduceLROnPlateau sees metrics[i] as val_loss at the end of epoch i.
func runSchedule(t *testing.T, g goldenSched, cbs ...callbacks.Callback) []float64 {
	t.Helper()
	tr := &fakeTrainer{lr: g.InitialLR}
	l := &loop{t: tr, cbs: cbs}
	n := len(g.LRs)
	if g.StepsPer == "batch" {
		l.batches = 7
		l.epochs = (n + 6) / 7
		l.maxSteps = n
	} else {
		l.batches, l.epochs = 3, n
	}
	l.epochLogs = func(epoch int) callbacks.Logs {
		logs := callbacks.Logs{callbacks.KeyLoss: 1}
		if epoch < len(g.Metrics) {
			logs[callbacks.KeyValLoss] = g.Metrics[epoch]
		}
		return logs
	}
	if err := l.run(0, l.epochs); err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, row := range l.lrs {
		if g.StepsPer == "batch" {
			got = append(got, row...)
			continue
		}
		for _, lr := range row[1:] {
			if lr != row[0] {
				t.Fatalf("rate moved inside an epoch: %v", row)
			}
		}
		got = append(got, row[0])
	}
	return got[:n]
}

func mustSched(t *testing.T, s callbacks.Schedule, every callbacks.Interval) callbacks.Callback {
	t.Helper()
	c, err := callbacks.NewLRScheduler(s, every)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustPlateau(t *testing.T, opts ...callbacks.Option) callbacks.Callback {
	t.Helper()
	c, err := callbacks.NewReduceLROnPlateau(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGoldenSchedules builds every schedule with the Go API as a user would
// and checks it against PyTorch's rates within 1e-12. options pins the
// file's arguments, so that a regenerated file with other values fails here
// instead of silently testing something else.
func TestGoldenSchedules(t *testing.T) {
	cases := []struct {
		file    string
		options map[string]any
		build   func(t *testing.T) callbacks.Callback
	}{
		{"sched-StepLR.json", map[string]any{"step_size": 3.0, "gamma": 0.5},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.StepLR(3, 0.5), callbacks.PerEpoch)
			}},
		{"sched-StepLR-seed-per-batch.json", map[string]any{"step_size": 100.0, "gamma": 0.98},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.StepLR(100, 0.98), callbacks.PerBatch)
			}},
		{"sched-MultiStepLR.json", map[string]any{"milestones": []any{2.0, 5.0, 11.0}, "gamma": 0.1},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.MultiStepLR([]int{2, 5, 11}, 0.1), callbacks.PerEpoch)
			}},
		{"sched-ExponentialLR.json", map[string]any{"gamma": 0.9},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.ExponentialLR(0.9), callbacks.PerEpoch)
			}},
		{"sched-CosineAnnealingLR.json", map[string]any{"T_max": 10.0, "eta_min": 0.0001},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.CosineAnnealingLR(10, 0.0001), callbacks.PerEpoch)
			}},
		{"sched-CosineAnnealingWarmRestarts.json", map[string]any{"T_0": 4.0, "T_mult": 2.0, "eta_min": 0.001},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.CosineAnnealingWarmRestarts(4, 2, 0.001), callbacks.PerEpoch)
			}},
		{"sched-LinearLR.json", map[string]any{"start_factor": 0.1, "end_factor": 1.0, "total_iters": 5.0},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.LinearLR(0.1, 1, 5), callbacks.PerEpoch)
			}},
		{"sched-OneCycleLR.json", map[string]any{"max_lr": 0.1, "total_steps": 50.0},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.OneCycleLR(0.1, 50), callbacks.PerBatch)
			}},
		{"sched-PolynomialLR.json", map[string]any{"total_iters": 8.0, "power": 2.0},
			func(t *testing.T) callbacks.Callback {
				return mustSched(t, callbacks.PolynomialLR(8, 2), callbacks.PerEpoch)
			}},
		{"sched-ReduceLROnPlateau-min.json", map[string]any{"mode": "min", "patience": 3.0, "factor": 0.5},
			func(t *testing.T) callbacks.Callback {
				return mustPlateau(t, callbacks.WithMode(callbacks.ModeMin), callbacks.WithPatience(3), callbacks.WithFactor(0.5))
			}},
		{"sched-ReduceLROnPlateau-max.json", map[string]any{"mode": "max", "patience": 2.0, "factor": 0.1, "threshold": 0.05},
			func(t *testing.T) callbacks.Callback {
				return mustPlateau(t, callbacks.WithMode(callbacks.ModeMax), callbacks.WithPatience(2), callbacks.WithFactor(0.1), callbacks.WithThreshold(0.05))
			}},
		{"sched-ReduceLROnPlateau-cooldown.json", map[string]any{"mode": "min", "patience": 1.0, "factor": 0.3, "cooldown": 2.0, "min_lr": 0.005, "threshold": 0.01, "threshold_mode": "abs"},
			func(t *testing.T) callbacks.Callback {
				return mustPlateau(t, callbacks.WithPatience(1), callbacks.WithFactor(0.3), callbacks.WithCooldown(2),
					callbacks.WithMinLR(0.005), callbacks.WithThreshold(0.01), callbacks.WithThresholdMode(callbacks.ThresholdAbs))
			}},
	}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "sched-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("%d sched-*.json files, %d cases: every golden schedule needs a case", len(files), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			g := loadGolden(t, tc.file)
			if !reflect.DeepEqual(g.Options, tc.options) {
				t.Fatalf("file options %v, case built for %v", g.Options, tc.options)
			}
			got := runSchedule(t, g, tc.build(t))
			worst := 0.0
			for i := range got {
				if e := relErr(got[i], g.LRs[i]); e > worst {
					worst = e
				}
				if e := relErr(got[i], g.LRs[i]); e > 1e-12 {
					t.Errorf("step %d: lr %v, PyTorch %v", i, got[i], g.LRs[i])
				}
			}
			t.Logf("max rel err %.3g", worst)

			// Cut in half, carry the callback's state over to a fresh one
			// (and the rate, as the solver's state would): same rates.
			resumed := runScheduleResumed(t, g, tc.build)
			for i := range resumed {
				if resumed[i] != got[i] {
					t.Errorf("resumed run, step %d: lr %v, uninterrupted %v", i, resumed[i], got[i])
				}
			}
		})
	}
}

// runScheduleResumed is runSchedule cut after half the steps: the first
// callback's state goes through MarshalState into a second one, which
// finishes the run from the rate the first left.
func runScheduleResumed(t *testing.T, g goldenSched, build func(t *testing.T) callbacks.Callback) []float64 {
	t.Helper()
	n, half := len(g.LRs), len(g.LRs)/2
	logs := func(epoch int) callbacks.Logs {
		return callbacks.Logs{callbacks.KeyLoss: 1, callbacks.KeyValLoss: g.Metrics[min(epoch, len(g.Metrics)-1)]}
	}
	if len(g.Metrics) == 0 {
		logs = nil
	}
	first := build(t)
	tr := &fakeTrainer{lr: g.InitialLR}
	l := &loop{t: tr, cbs: []callbacks.Callback{first}, epochs: half, batches: 3, epochLogs: logs}
	if g.StepsPer == "batch" {
		l.epochs, l.batches = 1, half
	}
	if err := l.run(0, l.epochs); err != nil {
		t.Fatal(err)
	}
	state, err := first.(callbacks.Stateful).MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	second := build(t)
	if err := second.(callbacks.Stateful).UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	l.t, l.cbs = &fakeTrainer{lr: tr.lr}, []callbacks.Callback{second}
	from, to := half, n
	if g.StepsPer == "batch" {
		l.batches, from, to = n-half, 0, 1
	}
	l.epochs = to
	if err := l.run(from, to); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, row := range l.lrs {
		if g.StepsPer == "batch" {
			out = append(out, row...)
		} else {
			out = append(out, row[0])
		}
	}
	return out
}
