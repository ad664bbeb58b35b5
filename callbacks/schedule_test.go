package callbacks_test

import (
	"math"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

// rates runs a fresh LRScheduler over n steps (per batch, epochs of 4
// batches) from base and returns the rate during each.
func rates(t *testing.T, s callbacks.Schedule, base float64, n int) []float64 {
	t.Helper()
	c, err := callbacks.NewLRScheduler(s, callbacks.PerBatch)
	if err != nil {
		t.Fatal(err)
	}
	l := &loop{t: &fakeTrainer{lr: base}, cbs: []callbacks.Callback{c}, batches: 4, epochs: (n + 3) / 4, maxSteps: n}
	if err := l.run(0, l.epochs); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, row := range l.lrs {
		out = append(out, row...)
	}
	return out
}

func relErr(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.Inf(1)
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-3)
}

func closeTo(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if relErr(a[i], b[i]) > tol {
			return false
		}
	}
	return true
}

// TestScheduleRates checks the schedules and combinators no golden file
// covers against PyTorch's formulas worked by hand.
func TestScheduleRates(t *testing.T) {
	cosine := func(base, etaMin float64, tMax, k int) float64 {
		return etaMin + (base-etaMin)*(1+math.Cos(math.Pi*float64(k)/float64(tMax)))/2
	}
	warmCos := []float64{0.01, 0.028, 0.046, 0.064, 0.082} // LinearLR(0.1, 1, 5) from 0.1, as in sched-LinearLR.json
	for k := 0; k <= 10; k++ {
		warmCos = append(warmCos, cosine(0.1, 0.001, 10, k))
	}
	cases := []struct {
		name string
		s    callbacks.Schedule
		want []float64
	}{
		{"LambdaLR", callbacks.LambdaLR(func(step int) float64 { return 1 / float64(step+1) }),
			[]float64{0.1, 0.1 / 2, 0.1 / 3, 0.1 / 4}},
		{"MultiplicativeLR", callbacks.MultiplicativeLR(func(int) float64 { return 0.5 }),
			[]float64{0.1, 0.05, 0.025, 0.0125}},
		{"ConstantLR", callbacks.ConstantLR(0.5, 2), []float64{0.05, 0.05, 0.1, 0.1}},
		{"SequentialLR warm-up then cosine", callbacks.SequentialLR([]callbacks.Schedule{
			callbacks.LinearLR(0.1, 1, 5), callbacks.CosineAnnealingLR(10, 0.001)}, []int{5}), warmCos},
		{"SequentialLR hands over from a shrunken rate", callbacks.SequentialLR([]callbacks.Schedule{
			callbacks.ExponentialLR(0.5), callbacks.StepLR(2, 0.1), callbacks.ConstantLR(0.5, 1)}, []int{3, 6}),
			// the milestone steps restart from the closed form at 0: the initial rate
			[]float64{0.1, 0.05, 0.025, 0.1, 0.1, 0.01, 0.05, 0.1, 0.1}},
		{"ChainedScheduler", callbacks.ChainedScheduler(callbacks.ConstantLR(0.5, 2), callbacks.ExponentialLR(0.9)),
			[]float64{0.05, 0.05 * 0.9, 0.05 * 0.9 * 0.9 * 2, 0.05 * 0.9 * 0.9 * 2 * 0.9}},
		{"CosineAnnealingLR with restarts branch", callbacks.CosineAnnealingLR(2, 0),
			[]float64{0.1, cosine(0.1, 0, 2, 1), 0, cosine(0.1, 0, 2, 3), 0.1, cosine(0.1, 0, 2, 5)}},
		{"OneCycleLR three-phase cos", callbacks.OneCycleLR(1, 10, callbacks.WithPctStart(0.2), callbacks.WithThreePhase(true), callbacks.WithDivFactor(10), callbacks.WithFinalDivFactor(100)),
			[]float64{0.1, 1, 0.1, 0.001 + (0.1-0.001)/2*(math.Cos(math.Pi/7)+1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rates(t, tc.s, 0.1, len(tc.want))
			if !closeTo(got, tc.want, 1e-13) {
				t.Errorf("rates %v\nwant      %v", got, tc.want)
			}
		})
	}
}

// TestScheduleResume cuts a run after every step, carries the state to a
// fresh schedule and checks the rates are bit for bit the uninterrupted
// ones.
func TestScheduleResume(t *testing.T) {
	builds := map[string]func() callbacks.Schedule{
		"StepLR":            func() callbacks.Schedule { return callbacks.StepLR(3, 0.5) },
		"MultiStepLR":       func() callbacks.Schedule { return callbacks.MultiStepLR([]int{2, 5, 5, 9}, 0.3) },
		"ConstantLR":        func() callbacks.Schedule { return callbacks.ConstantLR(0.25, 4) },
		"LinearLR":          func() callbacks.Schedule { return callbacks.LinearLR(0.2, 0.9, 6) },
		"ExponentialLR":     func() callbacks.Schedule { return callbacks.ExponentialLR(0.93) },
		"CosineAnnealingLR": func() callbacks.Schedule { return callbacks.CosineAnnealingLR(5, 1e-4) },
		"WarmRestarts":      func() callbacks.Schedule { return callbacks.CosineAnnealingWarmRestarts(2, 3, 1e-3) },
		"PolynomialLR":      func() callbacks.Schedule { return callbacks.PolynomialLR(7, 1.5) },
		"OneCycleLR": func() callbacks.Schedule {
			return callbacks.OneCycleLR(0.5, 16, callbacks.WithAnnealStrategy(callbacks.AnnealLinear))
		},
		"LambdaLR": func() callbacks.Schedule {
			return callbacks.LambdaLR(func(s int) float64 { return math.Exp(-0.1 * float64(s)) })
		},
		"SequentialLR": func() callbacks.Schedule {
			return callbacks.SequentialLR([]callbacks.Schedule{callbacks.LinearLR(0.1, 1, 3), callbacks.CosineAnnealingWarmRestarts(3, 1, 0)}, []int{3})
		},
		"ChainedScheduler": func() callbacks.Schedule {
			return callbacks.ChainedScheduler(callbacks.LinearLR(0.5, 1, 4), callbacks.StepLR(2, 0.8))
		},
		"user's schedule": func() callbacks.Schedule { return &InverseSqrtLR{Warmup: 4} },
		"SequentialLR around a user's schedule": func() callbacks.Schedule {
			return callbacks.SequentialLR([]callbacks.Schedule{callbacks.LinearLR(0.5, 1, 2), &InverseSqrtLR{Warmup: 3}, callbacks.ExponentialLR(0.9)}, []int{3, 9})
		},
		"ChainedScheduler around a user's schedule": func() callbacks.Schedule {
			return callbacks.ChainedScheduler(&InverseSqrtLR{Warmup: 5}, callbacks.StepLR(3, 0.5))
		},
	}
	const n = 16
	for name, build := range builds {
		t.Run(name, func(t *testing.T) {
			want := rates(t, build(), 0.1, n)
			for cut := 1; cut < n; cut++ {
				first, _ := callbacks.NewLRScheduler(build(), callbacks.PerBatch)
				tr := &fakeTrainer{lr: 0.1}
				l := &loop{t: tr, cbs: []callbacks.Callback{first}, batches: 4, epochs: 4, maxSteps: cut}
				if err := l.run(0, 4); err != nil {
					t.Fatal(err)
				}
				state, err := first.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				second, _ := callbacks.NewLRScheduler(build(), callbacks.PerBatch)
				if err := second.UnmarshalState(state); err != nil {
					t.Fatal(err)
				}
				l2 := &loop{t: &fakeTrainer{lr: tr.lr}, cbs: []callbacks.Callback{second}, batches: n - cut, epochs: 1}
				if err := l2.run(0, 1); err != nil {
					t.Fatal(err)
				}
				var all []float64
				for _, row := range append(l.lrs, l2.lrs...) {
					all = append(all, row...)
				}
				for i := range want {
					if all[i] != want[i] {
						t.Fatalf("cut after %d steps: step %d rate %v, uninterrupted %v", cut, i, all[i], want[i])
					}
				}
			}
		})
	}
}

func TestScheduleStateMismatch(t *testing.T) {
	a, _ := callbacks.NewLRScheduler(callbacks.StepLR(3, 0.5), callbacks.PerEpoch)
	_ = a.OnTrainBegin(&callbacks.State{Trainer: &fakeTrainer{lr: 0.1}})
	state, err := a.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		s     callbacks.Schedule
		every callbacks.Interval
		want  string
	}{
		{"other class", callbacks.ExponentialLR(0.5), callbacks.PerEpoch, "state is for StepLR, not ExponentialLR"},
		{"other interval", callbacks.StepLR(3, 0.5), callbacks.PerBatch, "stepped per epoch"},
	} {
		b, _ := callbacks.NewLRScheduler(tc.s, tc.every)
		if err := b.UnmarshalState(state); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	h := &callbacks.History{}
	if err := h.UnmarshalState(state); err == nil || !strings.Contains(err.Error(), `written by "LRScheduler"`) {
		t.Errorf("History given a scheduler's state: %v", err)
	}
}

// TestInvalidSettings lists settings that must be refused, with the field
// and valid range in the message.
func TestInvalidSettings(t *testing.T) {
	sched := func(s callbacks.Schedule) error {
		_, err := callbacks.NewLRScheduler(s, callbacks.PerEpoch)
		return err
	}
	plateau := func(opts ...callbacks.ReduceLROnPlateauOption) error {
		_, err := callbacks.NewReduceLROnPlateau(opts...)
		return err
	}
	early := func(opts ...callbacks.EarlyStoppingOption) error {
		_, err := callbacks.NewEarlyStopping(opts...)
		return err
	}
	cases := []struct {
		err  error
		want string
	}{
		{sched(callbacks.StepLR(0, 0.5)), "StepLR: step_size 0, want ≥ 1"},
		{sched(callbacks.StepLR(3, 0)), "StepLR: gamma 0, want a finite value > 0"},
		{sched(callbacks.MultiStepLR(nil, 0.1)), "MultiStepLR: milestones is empty"},
		{sched(callbacks.MultiStepLR([]int{5, 3}, 0.1)), "MultiStepLR: milestones [5 3] are not sorted"},
		{sched(callbacks.MultiStepLR([]int{-1, 3}, 0.1)), "MultiStepLR: milestones[0] = -1, want ≥ 0"},
		{sched(callbacks.ExponentialLR(-0.5)), "ExponentialLR: gamma -0.5"},
		{sched(callbacks.CosineAnnealingLR(0, 0)), "CosineAnnealingLR: T_max 0, want ≥ 1"},
		{sched(callbacks.CosineAnnealingLR(10, -1)), "CosineAnnealingLR: eta_min -1, want a finite value ≥ 0"},
		{sched(callbacks.CosineAnnealingWarmRestarts(0, 1, 0)), "T_0 0, want ≥ 1"},
		{sched(callbacks.CosineAnnealingWarmRestarts(2, 0, 0)), "T_mult 0, want ≥ 1"},
		{sched(callbacks.LinearLR(0, 1, 5)), "LinearLR: start_factor 0, want a value in (0, 1]"},
		{sched(callbacks.LinearLR(0.5, 1.5, 5)), "LinearLR: end_factor 1.5, want a value in [0, 1]"},
		{sched(callbacks.LinearLR(0.5, 1, 0)), "LinearLR: total_iters 0, want ≥ 1"},
		{sched(callbacks.ConstantLR(1.5, 2)), "ConstantLR: factor 1.5, want a value in (0, 1]"},
		{sched(callbacks.PolynomialLR(0, 1)), "PolynomialLR: total_iters 0, want ≥ 1"},
		{sched(callbacks.PolynomialLR(5, -1)), "PolynomialLR: power -1"},
		{sched(callbacks.LambdaLR(nil)), "LambdaLR: lr_lambda is nil"},
		{sched(callbacks.OneCycleLR(0, 10)), "OneCycleLR: max_lr 0"},
		{sched(callbacks.OneCycleLR(0.1, 0)), "OneCycleLR: total_steps 0, want ≥ 1"},
		{sched(callbacks.OneCycleLR(0.1, 10, callbacks.WithPctStart(1.5))), "pct_start 1.5, want a value in [0, 1]"},
		{sched(callbacks.OneCycleLR(0.1, 10, callbacks.WithAnnealStrategy("cosine"))), `anneal_strategy "cosine"`},
		{sched(callbacks.OneCycleLR(0.1, 10, nil)), "OneCycleLR: option 0 is nil"},
		{sched(callbacks.SequentialLR([]callbacks.Schedule{callbacks.StepLR(1, 0.5)}, []int{3})), "1 schedules need 0 milestones, got 1"},
		{sched(callbacks.SequentialLR([]callbacks.Schedule{callbacks.StepLR(1, 0.5), callbacks.StepLR(0, 1)}, []int{3})), "schedules[1]: StepLR: step_size 0"},
		{sched(callbacks.SequentialLR(nil, nil)), "SequentialLR: no schedules"},
		{sched(callbacks.ChainedScheduler(callbacks.StepLR(1, 0.5), nil)), "ChainedScheduler: schedules[1] is nil"},
		{sched(nil), "LRScheduler: schedule is nil"},
		{plateau(callbacks.WithFactor(1)), "ReduceLROnPlateau: factor 1, want a value in (0, 1)"},
		{plateau(callbacks.WithFactor(0)), "ReduceLROnPlateau: factor 0, want a value in (0, 1)"},
		{plateau(callbacks.WithPatience(-1)), "ReduceLROnPlateau: patience -1, want ≥ 0"},
		{plateau(callbacks.WithMode(callbacks.ModeAuto)), `ReduceLROnPlateau: mode "auto", want "min" or "max"`},
		{plateau(callbacks.WithThresholdMode("relative")), `threshold_mode "relative", want "rel" or "abs"`},
		{plateau(callbacks.WithCooldown(-2)), "cooldown -2, want ≥ 0"},
		{plateau(callbacks.WithMinLR(-1)), "min_lr -1"},
		{plateau(callbacks.WithFactor(0.5), nil), "ReduceLROnPlateau: option 1 is nil"},
		{early(callbacks.WithPatience(-1)), "EarlyStopping: patience -1, want ≥ 0"},
		{early(callbacks.WithMode("mx")), `EarlyStopping: mode "mx", want "auto", "min" or "max"`},
		{early(callbacks.WithStartFromEpoch(-1)), "start_from_epoch -1, want ≥ 0"},
		{early(callbacks.WithMonitor("")), "monitor is empty"},
		{early(nil), "EarlyStopping: option 0 is nil"},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", tc.err, tc.want)
		}
	}
}

// TestMissingMonitor: a monitored key absent from the logs is an error at
// the first epoch end, naming the key and the keys present.
func TestMissingMonitor(t *testing.T) {
	es, _ := callbacks.NewEarlyStopping(callbacks.WithMonitor("val_los"))
	rp, _ := callbacks.NewReduceLROnPlateau()
	mc, _ := callbacks.NewModelCheckpoint("m.ckpt", callbacks.WithSaveBestOnly(true), callbacks.WithMonitor("val_acc"))
	for _, c := range []callbacks.Callback{es, rp, mc} {
		l := &loop{t: &fakeTrainer{lr: 0.1}, cbs: []callbacks.Callback{c}, epochs: 3, batches: 1}
		err := l.run(0, 3)
		if err == nil || !strings.Contains(err.Error(), "is not in the logs (they have: loss, lr)") || len(l.lrs) != 1 {
			t.Errorf("%T: %v after %d epochs", c, err, len(l.lrs))
		}
	}
}

// TestPerBatchAllocs: stepping a schedule per batch allocates nothing.
func TestPerBatchAllocs(t *testing.T) {
	for _, s := range []callbacks.Schedule{
		callbacks.StepLR(100, 0.98),
		callbacks.MultiStepLR([]int{10, 20}, 0.5),
		callbacks.CosineAnnealingLR(1000, 0),
		callbacks.OneCycleLR(0.1, 1<<30),
		callbacks.SequentialLR([]callbacks.Schedule{callbacks.LinearLR(0.1, 1, 50), callbacks.CosineAnnealingWarmRestarts(100, 2, 0)}, []int{50}),
	} {
		c, _ := callbacks.NewLRScheduler(s, callbacks.PerBatch)
		st := &callbacks.State{Trainer: &fakeTrainer{lr: 0.1}, Logs: callbacks.Logs{}}
		if err := c.OnTrainBegin(st); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			_ = c.OnBatchBegin(st)
			if err := c.OnBatchEnd(st); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per batch", s, allocs)
		}
	}
}

func TestScheduleNames(t *testing.T) {
	c, _ := callbacks.NewLRScheduler(callbacks.SequentialLR([]callbacks.Schedule{callbacks.LinearLR(0.1, 1, 5), callbacks.CosineAnnealingLR(95, 0)}, []int{5}), callbacks.PerEpoch)
	want := "LRScheduler(SequentialLR(schedulers=[LinearLR(start_factor=0.1, end_factor=1, total_iters=5), CosineAnnealingLR(T_max=95, eta_min=0)], milestones=[5]), per epoch)"
	if c.Name() != want {
		t.Errorf("Name %q\nwant %q", c.Name(), want)
	}
}

// BenchmarkLRSchedulerPerBatch measures the per-batch cost of a scheduler.
func BenchmarkLRSchedulerPerBatch(b *testing.B) {
	c, _ := callbacks.NewLRScheduler(callbacks.SequentialLR([]callbacks.Schedule{
		callbacks.LinearLR(0.1, 1, 100), callbacks.CosineAnnealingLR(1<<20, 0)}, []int{100}), callbacks.PerBatch)
	st := &callbacks.State{Trainer: &fakeTrainer{lr: 0.1}, Logs: callbacks.Logs{}}
	if err := c.OnTrainBegin(st); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := c.OnBatchEnd(st); err != nil {
			b.Fatal(err)
		}
	}
}

// fixedRate is a user's schedule that always returns the same rate and has
// a state of its own choosing: neither Validator nor Restarter.
type fixedRate struct {
	rate  float64
	state []byte
	steps int
}

func (s *fixedRate) String() string                      { return "fixedRate" }
func (s *fixedRate) Start(_, _ float64) (float64, error) { return s.rate, nil }
func (s *fixedRate) Step(float64) (float64, error)       { s.steps++; return s.rate, nil }
func (s *fixedRate) MarshalState() ([]byte, error)       { return s.state, nil }
func (s *fixedRate) UnmarshalState([]byte) error         { return nil }

// TestUserSchedule checks what the contract promises a user's schedule:
// SequentialLR starts one without Restart again at its milestone, a
// Validator's error surfaces through the combinators, and a rate or a state
// the loop cannot use is an error naming the schedule.
func TestUserSchedule(t *testing.T) {
	// Start at the milestone: the warm-up's rate hands over to InverseSqrtLR
	// started afresh from the initial rate, as PyTorch's step(0) restarts a
	// class without a closed form.
	got := rates(t, callbacks.SequentialLR([]callbacks.Schedule{callbacks.ConstantLR(0.5, 5), &InverseSqrtLR{Warmup: 2}}, []int{2}), 0.1, 5)
	want := []float64{0.05, 0.05, 0.1 * 0.5, 0.1, 0.1 * math.Sqrt(2.0/3)}
	if !closeTo(got, want, 1e-15) {
		t.Errorf("rates %v, want %v", got, want)
	}

	errOf := func(s callbacks.Schedule, steps int) error {
		c, err := callbacks.NewLRScheduler(s, callbacks.PerBatch)
		if err != nil {
			return err
		}
		l := &loop{t: &fakeTrainer{lr: 0.1}, cbs: []callbacks.Callback{c}, batches: steps, epochs: 1}
		if err := l.run(0, 1); err != nil {
			return err
		}
		_, err = c.MarshalState()
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"Validator in SequentialLR", errOf(callbacks.SequentialLR([]callbacks.Schedule{callbacks.StepLR(1, 0.5), &InverseSqrtLR{}}, []int{2}), 1),
			"SequentialLR: schedules[1]: InverseSqrtLR: warmup 0, want ≥ 1"},
		{"Validator in ChainedScheduler", errOf(callbacks.ChainedScheduler(&InverseSqrtLR{Warmup: -1}), 1),
			"ChainedScheduler: schedules[0]: InverseSqrtLR: warmup -1"},
		{"NaN rate", errOf(&fixedRate{rate: math.NaN(), state: []byte("{}")}, 1), "fixedRate: rate NaN at step 0, want a finite value ≥ 0"},
		{"negative rate", errOf(&fixedRate{rate: -1, state: []byte("{}")}, 1), "fixedRate: rate -1 at step 0"},
		{"state not JSON", errOf(&fixedRate{rate: 0.1, state: []byte("step=3")}, 2), "fixedRate: the state is not JSON"},
		{"nested state not JSON", errOf(callbacks.ChainedScheduler(&fixedRate{rate: 0.1, state: []byte("step=3")}), 2),
			"ChainedScheduler: a schedule's state is not JSON"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestBuiltinContract: every built-in schedule implements the optional
// Validator and Restarter too, so SequentialLR restarts it from its closed
// form as PyTorch does, and its settings are checked before training.
func TestBuiltinContract(t *testing.T) {
	one := func(int) float64 { return 1 }
	for _, s := range []callbacks.Schedule{
		callbacks.StepLR(1, 0.5), callbacks.MultiStepLR([]int{1}, 0.5), callbacks.ExponentialLR(0.5),
		callbacks.CosineAnnealingLR(2, 0), callbacks.CosineAnnealingWarmRestarts(2, 1, 0),
		callbacks.OneCycleLR(0.1, 10), callbacks.PolynomialLR(2, 1),
		callbacks.ConstantLR(0.5, 2), callbacks.LinearLR(0.5, 1, 2), callbacks.LambdaLR(one), callbacks.MultiplicativeLR(one),
		callbacks.SequentialLR([]callbacks.Schedule{callbacks.StepLR(1, 0.5), callbacks.StepLR(1, 0.5)}, []int{1}),
		callbacks.ChainedScheduler(callbacks.StepLR(1, 0.5)),
	} {
		if _, ok := s.(callbacks.Validator); !ok {
			t.Errorf("%s is not a Validator", s)
		}
		if _, ok := s.(callbacks.Restarter); !ok {
			t.Errorf("%s is not a Restarter", s)
		}
	}
}
