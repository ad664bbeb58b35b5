package callbacks

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source advanced by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestProgressBarTerminal(t *testing.T) {
	var out bytes.Buffer
	p, err := NewProgressBar(WithWriter(&out), WithTerminal(true), WithRefresh(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(0, 0)}
	p.now = clk.now
	s := &State{Epochs: 3, BatchesPerEpoch: 10, Logs: Logs{}}
	if err := p.OnTrainBegin(s); err != nil {
		t.Fatal(err)
	}
	_ = p.OnEpochBegin(s)
	var lines []string
	for b := 0; b < 10; b++ {
		clk.t = clk.t.Add(400 * time.Millisecond) // 2.5 batch/s; a redraw every third batch
		s.Batch = b
		s.Logs[KeyLoss] = 1 / float64(b+1)
		out.Reset()
		if err := p.OnBatchEnd(s); err != nil {
			t.Fatal(err)
		}
		if out.Len() > 0 {
			lines = append(lines, out.String())
		}
	}
	want := []string{
		"\rEpoch 1/3 [==>...........................] 1/10 - 2.5 batch/s - ETA 3.6s - loss: 1.0000\x1b[K",
		"\rEpoch 1/3 [===========>..................] 4/10 - 2.5 batch/s - ETA 2.4s - loss: 0.2500\x1b[K",
		"\rEpoch 1/3 [====================>.........] 7/10 - 2.5 batch/s - ETA 1.2s - loss: 0.1429\x1b[K",
		"\rEpoch 1/3 [==============================] 10/10 - 2.5 batch/s - loss: 0.1000\x1b[K",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("redraws\n%q\nwant\n%q", lines, want)
	}
	out.Reset()
	s.Logs = Logs{KeyLoss: 0.2, KeyValLoss: 0.3, KeyEpochSeconds: 4}
	if err := p.OnEpochEnd(s); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "\rEpoch 1/3 [==============================] 10/10 - 4.0s - loss: 0.2000 - val_loss: 0.3000\x1b[K\n" {
		t.Errorf("epoch line %q", got)
	}

	// An epoch cut short leaves its line open; OnTrainEnd ends it.
	s.Epoch, s.Batch, s.Logs = 1, 0, Logs{KeyLoss: 1}
	_ = p.OnEpochBegin(s)
	_ = p.OnBatchEnd(s)
	out.Reset()
	_ = p.OnTrainEnd(s)
	if out.String() != "\n" {
		t.Errorf("train end after an interrupted epoch wrote %q", out.String())
	}

	// A narrow terminal gets the line cut to its width.
	p.width = 20
	out.Reset()
	p.lastDraw = time.Time{}
	_ = p.OnBatchEnd(s)
	if got := out.String(); got != "\rEpoch 2/3 [==>.....\x1b[K" {
		t.Errorf("narrow: %q", got)
	}
}

// TestProgressBarAllocs: a batch costs no allocation, whether it redraws
// or not.
func TestProgressBarAllocs(t *testing.T) {
	for _, refresh := range []time.Duration{time.Nanosecond, time.Hour} {
		var out bytes.Buffer
		out.Grow(1 << 20)
		p, _ := NewProgressBar(WithWriter(&out), WithTerminal(true), WithRefresh(refresh))
		s := &State{Epochs: 3, BatchesPerEpoch: 1000, Logs: Logs{KeyLoss: 0.25}}
		_ = p.OnTrainBegin(s)
		_ = p.OnEpochBegin(s)
		allocs := testing.AllocsPerRun(500, func() {
			s.Batch = (s.Batch + 1) % 1000
			if err := p.OnBatchEnd(s); err != nil {
				t.Fatal(err)
			}
			if out.Len() > 1<<19 {
				out.Reset()
			}
		})
		if allocs != 0 {
			t.Errorf("refresh %v: %v allocations per batch", refresh, allocs)
		}
	}
}

// BenchmarkProgressBarBatch measures a batch between redraws (the common
// case) on a terminal.
func BenchmarkProgressBarBatch(b *testing.B) {
	var out bytes.Buffer
	p, _ := NewProgressBar(WithWriter(&out), WithTerminal(true))
	s := &State{Epochs: 1, BatchesPerEpoch: 1 << 30, Logs: Logs{KeyLoss: 0.5}}
	_ = p.OnTrainBegin(s)
	_ = p.OnEpochBegin(s)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.Batch = i
		if err := p.OnBatchEnd(s); err != nil {
			b.Fatal(err)
		}
	}
}
