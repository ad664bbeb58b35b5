package callbacks_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

func epochLogs(e int) callbacks.Logs {
	return callbacks.Logs{"loss": 1 / float64(e+1), "val_loss": 2 / float64(e+1), "lr": 0.001}
}

func TestCSVLogger(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.csv")
	newLoop := func(c callbacks.Callback, logs func(int) callbacks.Logs) *loop {
		return &loop{t: &fakeTrainer{lr: 0.1}, cbs: []callbacks.Callback{c}, epochs: 5, batches: 1, epochLogs: logs}
	}
	read := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A fresh file: header once, sorted columns, one row per epoch.
	c, err := callbacks.NewCSVLogger(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := newLoop(c, epochLogs).run(0, 2); err != nil {
		t.Fatal(err)
	}
	want := "epoch,loss,lr,val_loss\n1,1,0.001,2\n2,0.5,0.001,1\n"
	if got := read(); got != want {
		t.Fatalf("fresh file:\n%s\nwant\n%s", got, want)
	}

	// Appending: the existing header's column order is kept, no second
	// header, a missing column is NA.
	if err := os.WriteFile(path, []byte("epoch,val_loss,loss,lr\n1,2,1,0.001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ = callbacks.NewCSVLogger(path, callbacks.WithAppend(true))
	logs := func(e int) callbacks.Logs {
		l := epochLogs(e)
		if e == 2 {
			delete(l, "val_loss")
		}
		return l
	}
	if err := newLoop(c, logs).run(1, 3); err != nil {
		t.Fatal(err)
	}
	want = "epoch,val_loss,loss,lr\n1,2,1,0.001\n2,1,0.5,0.001\n3,NA,0.3333333333333333,0.001\n"
	if got := read(); got != want {
		t.Fatalf("appended:\n%s\nwant\n%s", got, want)
	}

	// A last line cut short by a crash is ended before the next row.
	if err := os.WriteFile(path, []byte("epoch,loss,lr,val_loss\n1,1,0.001,2\n2,0.5,0.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newLoop(c, epochLogs).run(1, 2); err != nil {
		t.Fatal(err)
	}
	want = "epoch,loss,lr,val_loss\n1,1,0.001,2\n2,0.5,0.0\n2,0.5,0.001,1\n"
	if got := read(); got != want {
		t.Fatalf("after a torn line:\n%s\nwant\n%s", got, want)
	}

	// Appending to an empty or missing file writes the header.
	os.Remove(path)
	if err := newLoop(c, epochLogs).run(0, 1); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "epoch,loss,lr,val_loss\n1,1,0.001,2\n" {
		t.Fatalf("append to a new file: %q", got)
	}

	// A key the existing columns lack is an error, not a dropped value.
	err = newLoop(c, func(e int) callbacks.Logs { l := epochLogs(e); l["grad_norm"] = 3; return l }).run(1, 2)
	if err == nil || !strings.Contains(err.Error(), "log keys grad_norm are not columns") {
		t.Fatalf("new key: %v", err)
	}

	// Without append, the file is truncated.
	c, _ = callbacks.NewCSVLogger(path, callbacks.WithSeparator(';'))
	if err := newLoop(c, epochLogs).run(0, 1); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "epoch;loss;lr;val_loss\n1;1;0.001;2\n" {
		t.Fatalf("truncated with ';': %q", got)
	}

	// Appending to a file that is not ours is refused.
	os.WriteFile(path, []byte("step,loss\n"), 0o644)
	c, _ = callbacks.NewCSVLogger(path, callbacks.WithAppend(true))
	if err := newLoop(c, epochLogs).run(0, 1); err == nil || !strings.Contains(err.Error(), `first column is "epoch"`) {
		t.Fatalf("foreign file: %v", err)
	}
}

func TestHistory(t *testing.T) {
	h := &callbacks.History{}
	logs := func(e int) callbacks.Logs {
		l := callbacks.Logs{"loss": float64(10 - e)}
		if e > 0 {
			l["val_loss"] = float64(20 - e)
		}
		return l
	}
	l := &loop{t: &fakeTrainer{lr: 0.1}, cbs: []callbacks.Callback{h}, epochs: 3, batches: 1, epochLogs: logs}
	if err := l.run(0, 2); err != nil {
		t.Fatal(err)
	}
	state, err := h.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	h2 := &callbacks.History{}
	if err := h2.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	l.cbs = []callbacks.Callback{h2}
	if err := l.run(2, 3); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h2.Epoch, []int{0, 1, 2}) || !reflect.DeepEqual(h2.History["loss"], []float64{10, 9, 8}) ||
		!math.IsNaN(h2.History["val_loss"][0]) || !reflect.DeepEqual(h2.History["val_loss"][1:], []float64{19, 18}) ||
		!reflect.DeepEqual(h2.Keys(), []string{"loss", "val_loss"}) {
		t.Errorf("history %v %v", h2.Epoch, h2.History)
	}
}

func TestModelCheckpoint(t *testing.T) {
	values := []float64{0.5, 0.4, 0.45, 0.3}
	logs := func(e int) callbacks.Logs { return callbacks.Logs{"val_loss": values[e], "loss": 1} }
	cases := []struct {
		path string
		opts []callbacks.ModelCheckpointOption
		want []string
	}{
		{"m-{epoch}.ckpt", nil, []string{"m-1.ckpt", "m-2.ckpt", "m-3.ckpt", "m-4.ckpt"}},
		{"m-{epoch:03d}-{val_loss:.2f}.ckpt", []callbacks.ModelCheckpointOption{callbacks.WithSaveBestOnly(true)},
			[]string{"m-001-0.50.ckpt", "m-002-0.40.ckpt", "m-004-0.30.ckpt"}},
		{"best.ckpt", []callbacks.ModelCheckpointOption{callbacks.WithSaveBestOnly(true), callbacks.WithMode(callbacks.ModeMax)},
			[]string{"best.ckpt"}},
		{"{loss}", nil, []string{"1", "1", "1", "1"}},
	}
	for _, tc := range cases {
		mc, err := callbacks.NewModelCheckpoint(tc.path, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		tr := &fakeTrainer{lr: 0.1}
		l := &loop{t: tr, cbs: []callbacks.Callback{mc}, epochs: 4, batches: 1, epochLogs: logs}
		if err := l.run(0, 4); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tr.saved, tc.want) {
			t.Errorf("%s: saved %v, want %v", tc.path, tr.saved, tc.want)
		}
	}

	// Resumed, the best value carries over: epoch 3 (0.45) is not saved.
	mc, _ := callbacks.NewModelCheckpoint("m{epoch}", callbacks.WithSaveBestOnly(true))
	tr := &fakeTrainer{}
	l := &loop{t: tr, cbs: []callbacks.Callback{mc}, epochs: 4, batches: 1, epochLogs: logs}
	_ = l.run(0, 2)
	state, _ := mc.MarshalState()
	mc2, _ := callbacks.NewModelCheckpoint("m{epoch}", callbacks.WithSaveBestOnly(true))
	if err := mc2.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	l.cbs = []callbacks.Callback{mc2}
	_ = l.run(2, 4)
	if !reflect.DeepEqual(tr.saved, []string{"m1", "m2", "m4"}) || mc2.Best() != 0.3 || mc2.LastPath() != "m4" {
		t.Errorf("resumed: saved %v, best %v", tr.saved, mc2.Best())
	}

	for _, tc := range []struct{ path, want string }{
		{"", "path is empty"},
		{"m-{epoch:.2f}", "want an integer spec"},
		{"m-{val_loss:x}", "want a float spec"},
		{"m-{epoch", "unbalanced"},
	} {
		if _, err := callbacks.NewModelCheckpoint(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.path, err, tc.want)
		}
	}
	mc, _ = callbacks.NewModelCheckpoint("m-{val_acc}")
	err := (&loop{t: &fakeTrainer{}, cbs: []callbacks.Callback{mc}, epochs: 1, batches: 1, epochLogs: logs}).run(0, 1)
	if err == nil || !strings.Contains(err.Error(), `"val_acc" is not in the logs`) {
		t.Errorf("template key missing from the logs: %v", err)
	}
}

func TestProgressBarPlain(t *testing.T) {
	var out bytes.Buffer
	p, err := callbacks.NewProgressBar(callbacks.WithWriter(&out))
	if err != nil {
		t.Fatal(err)
	}
	logs := func(e int) callbacks.Logs {
		return callbacks.Logs{"loss": 0.5 / float64(e+1), "accuracy": 0.8, "val_loss": 0.61, "val_accuracy": 0.79,
			"lr": 1e-4, "grad_norm": 3.25, "epoch_seconds": 12.34 + 60*float64(e)}
	}
	l := &loop{t: &fakeTrainer{lr: 0.1}, cbs: []callbacks.Callback{p}, epochs: 2, batches: 469, epochLogs: logs}
	if err := l.run(0, 2); err != nil {
		t.Fatal(err)
	}
	want := "Epoch 1/2 - 469 batches - 12.3s - loss: 0.5000 - accuracy: 0.8000 - grad_norm: 3.2500 - val_loss: 0.6100 - val_accuracy: 0.7900 - lr: 1.0000e-04\n" +
		"Epoch 2/2 - 469 batches - 1:12 - loss: 0.2500 - accuracy: 0.8000 - grad_norm: 3.2500 - val_loss: 0.6100 - val_accuracy: 0.7900 - lr: 1.0000e-04\n"
	if out.String() != want {
		t.Errorf("output\n%q\nwant\n%q", out.String(), want)
	}
}

func TestTerminateOnNaN(t *testing.T) {
	var out bytes.Buffer
	c, err := callbacks.NewTerminateOnNaN(callbacks.WithWriter(&out))
	if err != nil {
		t.Fatal(err)
	}
	tr := &fakeTrainer{lr: 0.1}
	l := &loop{t: tr, cbs: []callbacks.Callback{c}, epochs: 3, batches: 4}
	l.batchLoss = func(e, b int) float64 {
		if e == 1 && b == 2 {
			return math.Inf(1)
		}
		return 1
	}
	if err := l.run(0, 3); err != nil {
		t.Fatal(err)
	}
	e, b, ok := c.Terminated()
	if !ok || e != 1 || b != 2 || !tr.stopped || len(l.lrs) != 2 || len(l.lrs[1]) != 3 {
		t.Errorf("terminated %v at %d/%d, trained %v", ok, e, b, l.lrs)
	}
	if out.String() != "Epoch 2, batch 3: invalid loss +Inf, terminating training\n" {
		t.Errorf("message %q", out.String())
	}
}

func TestLambda(t *testing.T) {
	var calls []string
	note := func(name string) func(*callbacks.State) error {
		return func(*callbacks.State) error { calls = append(calls, name); return nil }
	}
	c := callbacks.Lambda{TrainBegin: note("train_begin"), EpochEnd: note("epoch_end"), BatchEnd: note("batch_end"), TrainEnd: note("train_end")}
	l := &loop{t: &fakeTrainer{}, cbs: []callbacks.Callback{c, callbacks.Lambda{}}, epochs: 2, batches: 2}
	if err := l.run(0, 2); err != nil {
		t.Fatal(err)
	}
	want := []string{"train_begin", "batch_end", "batch_end", "epoch_end", "batch_end", "batch_end", "epoch_end", "train_end"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}
