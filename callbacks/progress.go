package callbacks

import (
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/term"
)

// ProgressBar reports training progress. On a terminal it redraws one line
// per epoch as batches finish, with a bar, the batch count, the rate, the
// time left in the epoch and the live batch loss, then ends the line with
// the epoch's logs:
//
//	Epoch 3/10 [=============>................] 210/469 - 45.3 batch/s - ETA 5s - loss: 0.4321
//
// Otherwise (a file, a pipe, CI logs) it prints one plain line per epoch:
//
//	Epoch 3/10 - 469 batches - 10.4s - loss: 0.4321 - accuracy: 0.8790 - val_loss: 0.4410 - val_accuracy: 0.8751 - lr: 0.0010
//
// Values print as Keras prints them: four decimals, or four significant
// digits in e-notation below 1e-3. Redraws are throttled (WithRefresh, every
// 100ms by default) and allocate nothing, so the bar costs nothing per batch
// in between. A failed write is returned as the hook's error.
//
// The live line stays open (no newline) between batches, so anything else
// written to the same terminal meanwhile lands on it. A callback that
// prints at epoch end to the terminal's other stream (stdout lines beside a
// bar on stderr) belongs after the bar in the callback list: the bar's
// OnEpochEnd ends its line first.
type ProgressBar struct {
	Base
	w        io.Writer
	forced   *bool
	refresh  time.Duration
	terminal bool
	width    int // terminal columns, 0 when unknown
	now      func() time.Time

	buf        []byte
	epochStart time.Time
	lastDraw   time.Time
	first      int  // first batch seen this epoch (resumed runs skip some)
	open       bool // a live line is on screen without its newline
}

// barWidth is the number of cells of the bar, as in Keras.
const barWidth = 30

// NewProgressBar returns a progress bar writing to os.Stdout. Options:
// WithWriter, WithTerminal (override the detection, which asks
// golang.org/x/term whether the writer is a terminal), WithRefresh.
func NewProgressBar(opts ...ProgressBarOption) (*ProgressBar, error) {
	const who = "ProgressBar"
	c := progressBarConfig{writer: os.Stdout, refresh: 100 * time.Millisecond}
	if err := applyAll(who, opts, func(o ProgressBarOption) { o.applyProgressBar(&c) }); err != nil {
		return nil, err
	}
	if c.writer == nil {
		return nil, errors.Errorf("%s: writer is nil", who)
	}
	if c.refresh <= 0 {
		return nil, errors.Errorf("%s: refresh %v, want > 0", who, c.refresh)
	}
	return &ProgressBar{w: c.writer, forced: c.terminal, refresh: c.refresh, now: time.Now, buf: make([]byte, 0, 512)}, nil
}

// Name implements Namer.
func (p *ProgressBar) Name() string { return "ProgressBar" }

// OnTrainBegin decides between the live bar and plain lines.
func (p *ProgressBar) OnTrainBegin(*State) error {
	p.terminal, p.width = false, 0
	f, hasFd := p.w.(interface{ Fd() uintptr })
	if hasFd && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 1 {
			p.width = w
		}
	}
	if p.forced != nil {
		p.terminal = *p.forced
	}
	return nil
}

// OnEpochBegin starts the epoch's clock.
func (p *ProgressBar) OnEpochBegin(*State) error {
	p.epochStart = p.now()
	p.lastDraw = time.Time{}
	p.first = -1
	return nil
}

// OnBatchEnd redraws the live bar, at most once per refresh interval.
func (p *ProgressBar) OnBatchEnd(s *State) error {
	if !p.terminal {
		return nil
	}
	if p.first < 0 {
		p.first = s.Batch
	}
	now := p.now()
	if !p.lastDraw.IsZero() && now.Sub(p.lastDraw) < p.refresh {
		return nil
	}
	p.lastDraw = now
	b := p.appendHead(p.buf[:0], s, s.Batch+1)
	elapsed := now.Sub(p.epochStart).Seconds()
	done := float64(s.Batch + 1 - p.first)
	if elapsed > 0 && done > 0 {
		rate := done / elapsed
		b = append(b, " - "...)
		b = strconv.AppendFloat(b, rate, 'f', 1, 64)
		b = append(b, " batch/s"...)
		if left := s.BatchesPerEpoch - s.Batch - 1; left > 0 {
			b = append(b, " - ETA "...)
			b = appendDuration(b, float64(left)/rate)
		}
	}
	if loss, ok := s.Logs[KeyLoss]; ok {
		b = append(b, " - loss: "...)
		b = appendValue(b, loss)
	}
	return p.draw(b, false)
}

// appendHead writes "\rEpoch e/E [====>...] n/N" (without "\r" in plain
// mode, where the bar is left out).
func (p *ProgressBar) appendHead(b []byte, s *State, done int) []byte {
	if p.terminal {
		b = append(b, '\r')
	}
	b = append(b, "Epoch "...)
	b = strconv.AppendInt(b, int64(s.Epoch+1), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(s.Epochs), 10)
	if !p.terminal {
		return b
	}
	// Keras' bar: "=" up to the progress, ">" at its tip while running.
	total := s.BatchesPerEpoch
	filled := barWidth
	if total > 0 && done < total {
		filled = barWidth * done / total
	}
	b = append(b, " ["...)
	for i := 0; i < filled-1; i++ {
		b = append(b, '=')
	}
	if filled > 0 {
		if done < total {
			b = append(b, '>')
		} else {
			b = append(b, '=')
		}
	}
	for i := filled; i < barWidth; i++ {
		b = append(b, '.')
	}
	b = append(b, "] "...)
	b = strconv.AppendInt(b, int64(done), 10)
	b = append(b, '/')
	return strconv.AppendInt(b, int64(total), 10)
}

// draw writes a line: on a terminal it is cut to the screen's width and
// clears what remains of the previous one.
func (p *ProgressBar) draw(b []byte, end bool) error {
	if p.terminal {
		if p.width > 0 && len(b) > p.width { // '\r' plus width-1 visible columns
			b = b[:p.width]
		}
		b = append(b, "\x1b[K"...)
	}
	p.open = p.terminal && !end
	if end {
		b = append(b, '\n')
	}
	p.buf = b[:0]
	if _, err := p.w.Write(b); err != nil {
		return errors.Wrap(err, "ProgressBar")
	}
	return nil
}

// OnEpochEnd prints the epoch's line with its logs.
func (p *ProgressBar) OnEpochEnd(s *State) error {
	b := p.appendHead(p.buf[:0], s, s.BatchesPerEpoch)
	if !p.terminal {
		b = append(b, " - "...)
		b = strconv.AppendInt(b, int64(s.BatchesPerEpoch), 10)
		b = append(b, " batches"...)
	}
	secs, ok := s.Logs[KeyEpochSeconds]
	if !ok {
		secs = p.now().Sub(p.epochStart).Seconds()
	}
	b = append(b, " - "...)
	b = appendDuration(b, secs)
	for _, k := range logOrder(s.Logs) {
		b = append(b, " - "...)
		b = append(b, k...)
		b = append(b, ": "...)
		b = appendValue(b, s.Logs[k])
	}
	return p.draw(b, true)
}

// OnTrainEnd ends a live line that an interrupted epoch left open.
func (p *ProgressBar) OnTrainEnd(*State) error {
	if !p.open {
		return nil
	}
	p.open = false
	_, err := p.w.Write([]byte{'\n'})
	return errors.Wrap(err, "ProgressBar")
}

// logOrder lists the keys to print: training metrics (loss and accuracy
// first), validation metrics, then lr; epoch_seconds is printed as time.
func logOrder(logs Logs) []string {
	rank := func(k string) int {
		switch {
		case k == KeyLoss:
			return 0
		case k == KeyAccuracy:
			return 1
		case k == KeyValLoss:
			return 3
		case k == KeyValAccuracy:
			return 4
		case strings.HasPrefix(k, "val_"):
			return 5
		case k == KeyLR:
			return 6
		}
		return 2
	}
	keys := make([]string, 0, len(logs))
	for k := range logs {
		if k != KeyEpochSeconds {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// appendValue formats v as Keras' progress bar does.
func appendValue(b []byte, v float64) []byte {
	if math.Abs(v) >= 1e-3 || v == 0 || !finite(v) {
		return strconv.AppendFloat(b, v, 'f', 4, 64)
	}
	return strconv.AppendFloat(b, v, 'e', 4, 64)
}

// appendDuration writes seconds as "4.2s", "1:05" or "1:02:03".
func appendDuration(b []byte, secs float64) []byte {
	if !(secs < 1e9) {
		return append(b, '?')
	}
	if secs < 60 {
		b = strconv.AppendFloat(b, secs, 'f', 1, 64)
		return append(b, 's')
	}
	t := int64(secs + 0.5)
	h, m, sec := t/3600, t/60%60, t%60
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, ':')
		if m < 10 {
			b = append(b, '0')
		}
	}
	b = strconv.AppendInt(b, m, 10)
	b = append(b, ':')
	if sec < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, sec, 10)
}
