package callbacks_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

// runMonitored runs the callbacks over len(values) epochs whose logs hold
// values[e] under key (and a loss), and the weights [e, e+0.5] during epoch
// e. It returns the trainer and the number of epochs trained.
func runMonitored(t *testing.T, key string, values []float64, cbs ...callbacks.Callback) (*fakeTrainer, int) {
	t.Helper()
	tr := &fakeTrainer{lr: 0.1, weights: make([]float64, 2)}
	l := &loop{t: tr, cbs: cbs, epochs: len(values), batches: 2}
	l.beforeEpochEnd = func(e int) { tr.weights[0], tr.weights[1] = float64(e), float64(e)+0.5 }
	l.epochLogs = func(e int) callbacks.Logs {
		return callbacks.Logs{callbacks.KeyLoss: 1, key: values[e]}
	}
	if err := l.run(0, len(values)); err != nil {
		t.Fatal(err)
	}
	return tr, len(l.lrs)
}

// TestEarlyStoppingRules checks each of Keras' rules on a hand-traced
// sequence of values.
func TestEarlyStoppingRules(t *testing.T) {
	cases := []struct {
		name        string
		key         string
		values      []float64
		opts        []callbacks.EarlyStoppingOption
		wantEpochs  int // epochs trained
		wantStopped int // StoppedEpoch (0: not stopped)
		wantBest    int // BestEpoch
	}{
		{"patience 0 stops at the first non-improving epoch", "val_loss", []float64{3, 2, 2, 1},
			nil, 3, 2, 1},
		{"an improving epoch never stops, even with patience 0", "val_loss", []float64{3, 2, 1, 0.5},
			nil, 4, 0, 3},
		{"patience counts epochs without improvement", "val_loss", []float64{3, 2, 2.5, 2.5, 1},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2)}, 4, 3, 1},
		{"min_delta: smaller improvements do not count", "val_loss", []float64{1, 0.95, 0.92, 0.91},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2), callbacks.WithMinDelta(0.1)}, 3, 2, 0},
		{"min_delta sign is ignored", "val_loss", []float64{1, 0.95, 0.92, 0.91},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2), callbacks.WithMinDelta(-0.1)}, 3, 2, 0},
		{"without min_delta the same values improve", "val_loss", []float64{1, 0.95, 0.92, 0.91},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2)}, 4, 0, 3},
		{"baseline never beaten: improving epochs use up patience", "val_loss", []float64{1, 0.9, 0.9, 0.9},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2), callbacks.WithBaseline(0.5)}, 3, 2, 1},
		{"no baseline: same values stop later", "val_loss", []float64{1, 0.9, 0.9, 0.9},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2)}, 4, 3, 1},
		{"baseline beaten resets the wait", "val_loss", []float64{1, 0.4, 0.4, 0.4, 0.4},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(2), callbacks.WithBaseline(0.5)}, 4, 3, 1},
		{"start_from_epoch ignores the first epochs", "val_loss", []float64{0.1, 1, 0.9, 0.95, 0.95},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(1), callbacks.WithStartFromEpoch(1)}, 4, 3, 2},
		{"without start_from_epoch the early value wins", "val_loss", []float64{0.1, 1, 0.9, 0.95, 0.95},
			[]callbacks.EarlyStoppingOption{callbacks.WithPatience(1)}, 2, 1, 0},
		{"mode auto maximises accuracy", "val_accuracy", []float64{0.5, 0.6, 0.55, 0.7},
			[]callbacks.EarlyStoppingOption{callbacks.WithMonitor("val_accuracy")}, 3, 2, 1},
		{"mode min forced on an accuracy", "val_accuracy", []float64{0.5, 0.6, 0.55, 0.7},
			[]callbacks.EarlyStoppingOption{callbacks.WithMonitor("val_accuracy"), callbacks.WithMode(callbacks.ModeMin)}, 2, 1, 0},
		{"mode max", "score", []float64{1, 2, 2, 3},
			[]callbacks.EarlyStoppingOption{callbacks.WithMonitor("score"), callbacks.WithMode(callbacks.ModeMax)}, 3, 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es, err := callbacks.NewEarlyStopping(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			tr, epochs := runMonitored(t, tc.key, tc.values, es)
			if epochs != tc.wantEpochs || es.StoppedEpoch() != tc.wantStopped || es.BestEpoch() != tc.wantBest {
				t.Errorf("trained %d epochs, stopped at %d, best %d; want %d, %d, %d",
					epochs, es.StoppedEpoch(), es.BestEpoch(), tc.wantEpochs, tc.wantStopped, tc.wantBest)
			}
			if tr.stopped != (tc.wantStopped > 0) || es.Stopped() != tr.stopped {
				t.Errorf("StopTraining called: %v, Stopped(): %v", tr.stopped, es.Stopped())
			}
			if tr.restore != 0 {
				t.Errorf("weights restored without restore_best_weights")
			}
		})
	}
}

func TestEarlyStoppingRestoreBestWeights(t *testing.T) {
	cases := []struct {
		name     string
		values   []float64
		opts     []callbacks.EarlyStoppingOption
		wantBest int
	}{
		{"after an early stop", []float64{3, 1, 2, 2, 2, 0}, []callbacks.EarlyStoppingOption{callbacks.WithPatience(2)}, 1},
		{"at the end without a stop", []float64{3, 1, 2}, []callbacks.EarlyStoppingOption{callbacks.WithPatience(5)}, 1},
		{"first monitored epoch when none improves", []float64{3, 4, 5, 6}, []callbacks.EarlyStoppingOption{callbacks.WithPatience(1), callbacks.WithStartFromEpoch(1)}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es, err := callbacks.NewEarlyStopping(append(tc.opts, callbacks.WithRestoreBestWeights(true))...)
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := runMonitored(t, "val_loss", tc.values, es)
			want := []float64{float64(tc.wantBest), float64(tc.wantBest) + 0.5}
			if !reflect.DeepEqual(tr.weights, want) || tr.restore != 1 || es.BestEpoch() != tc.wantBest {
				t.Errorf("weights %v after %d restores, best epoch %d; want %v from epoch %d", tr.weights, tr.restore, es.BestEpoch(), want, tc.wantBest)
			}
		})
	}
}

// TestEarlyStoppingResume interrupts a run after each epoch, carries the
// state over and checks that the verdict equals the uninterrupted one.
func TestEarlyStoppingResume(t *testing.T) {
	values := []float64{3, 2, 2.5, 1.5, 1.6, 1.7, 1.8, 1.9}
	opts := []callbacks.EarlyStoppingOption{callbacks.WithPatience(3), callbacks.WithMinDelta(0.01)}
	ref, _ := callbacks.NewEarlyStopping(opts...)
	_, refEpochs := runMonitored(t, "val_loss", values, ref)
	for cut := 1; cut < refEpochs; cut++ {
		first, _ := callbacks.NewEarlyStopping(opts...)
		tr := &fakeTrainer{weights: make([]float64, 2)}
		logs := func(e int) callbacks.Logs { return callbacks.Logs{"val_loss": values[e]} }
		l := &loop{t: tr, cbs: []callbacks.Callback{first}, epochs: len(values), batches: 1, epochLogs: logs}
		if err := l.run(0, cut); err != nil {
			t.Fatal(err)
		}
		state, err := first.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		second, _ := callbacks.NewEarlyStopping(opts...)
		if err := second.UnmarshalState(state); err != nil {
			t.Fatal(err)
		}
		l2 := &loop{t: &fakeTrainer{weights: make([]float64, 2)}, cbs: []callbacks.Callback{second}, epochs: len(values), batches: 1, epochLogs: logs}
		if err := l2.run(cut, len(values)); err != nil {
			t.Fatal(err)
		}
		if got := cut + len(l2.lrs); got != refEpochs || second.StoppedEpoch() != ref.StoppedEpoch() || second.BestEpoch() != ref.BestEpoch() || second.Best() != ref.Best() {
			t.Errorf("cut after %d: %d epochs, stopped %d, best %d (%v); uninterrupted: %d, %d, %d (%v)", cut,
				got, second.StoppedEpoch(), second.BestEpoch(), second.Best(), refEpochs, ref.StoppedEpoch(), ref.BestEpoch(), ref.Best())
		}
	}
}

// snapTrainer can write its snapshots into a checkpoint.
type snapTrainer struct{ fakeTrainer }

func (t *snapTrainer) MarshalSnapshot(s callbacks.Snapshot) ([]byte, error) {
	w := s.([]float64)
	b := make([]byte, 0, 8*len(w))
	for _, v := range w {
		bits := math.Float64bits(v)
		for i := 0; i < 8; i++ {
			b = append(b, byte(bits>>(8*i)))
		}
	}
	return b, nil
}

func (t *snapTrainer) UnmarshalSnapshot(b []byte) (callbacks.Snapshot, error) {
	w := make([]float64, len(b)/8)
	for i := range w {
		var bits uint64
		for j := 0; j < 8; j++ {
			bits |= uint64(b[8*i+j]) << (8 * j)
		}
		w[i] = math.Float64frombits(bits)
	}
	return w, nil
}

func TestEarlyStoppingBestWeightsCheckpoint(t *testing.T) {
	es, _ := callbacks.NewEarlyStopping(callbacks.WithRestoreBestWeights(true), callbacks.WithPatience(5))
	plain := &fakeTrainer{weights: []float64{1, 2}}
	if err := es.OnTrainBegin(&callbacks.State{Trainer: plain}); err != nil {
		t.Fatal(err)
	}
	if err := es.OnEpochEnd(&callbacks.State{Trainer: plain, Logs: callbacks.Logs{"val_loss": 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := es.MarshalState(); err == nil || !strings.Contains(err.Error(), "SnapshotMarshaler") {
		t.Fatalf("MarshalState with a Trainer that cannot encode snapshots: %v", err)
	}

	tr := &snapTrainer{fakeTrainer{weights: []float64{1, math.Pi}}}
	es, _ = callbacks.NewEarlyStopping(callbacks.WithRestoreBestWeights(true), callbacks.WithPatience(5))
	_ = es.OnTrainBegin(&callbacks.State{Trainer: tr})
	if err := es.OnEpochEnd(&callbacks.State{Trainer: tr, Logs: callbacks.Logs{"val_loss": 1}}); err != nil {
		t.Fatal(err)
	}
	state, err := es.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	resumed, _ := callbacks.NewEarlyStopping(callbacks.WithRestoreBestWeights(true), callbacks.WithPatience(5))
	if err := resumed.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	tr2 := &snapTrainer{fakeTrainer{weights: []float64{7, 7}}}
	s := &callbacks.State{Trainer: tr2, Epoch: 1, Logs: callbacks.Logs{"val_loss": 2}}
	for _, hook := range []func(*callbacks.State) error{resumed.OnTrainBegin, resumed.OnEpochEnd, resumed.OnTrainEnd} {
		if err := hook(s); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(tr2.weights, []float64{1, math.Pi}) {
		t.Errorf("restored weights %v, want the checkpointed best [1 π]", tr2.weights)
	}
}
