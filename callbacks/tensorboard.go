package callbacks

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pkg/errors"
)

// TensorBoard writes the logs as a TensorFlow event file that TensorBoard
// (`tensorboard --logdir DIR`) plots and Katib's TensorFlowEvent metrics
// collector reads, as Keras' TensorBoard callback does.
//
// At every epoch end each log key (loss, accuracy, val_loss, val_accuracy,
// lr, epoch_seconds, ...) becomes a scalar under its own name as the tag,
// with the 0-based epoch as the step; with WithBatchScalars(n), every n-th
// batch's logs are written too, under "batch_" + key with the global
// optimizer step. Scalars are TF2 tensor summaries (a rank-0 float32
// tensor, the "scalars" plugin, DATA_CLASS_SCALAR): Katib's collector reads
// only tensor values, and values are rounded to float32 as
// tf.summary.scalar rounds them. Tags equal the log keys, so a Katib
// objective "val_accuracy" finds its tag (the collector matches a tag by
// prefix, and "batch_"-prefixed tags match no epoch key).
//
// Each training run (a resumed one too) creates a new file in the
// directory, named as TensorFlow names them
// (events.out.tfevents.<unix time>.<host>.<pid>.<n>.v2; TensorBoard
// merges the files of a directory), starting with the file_version event.
// Records are framed as TFRecords with masked CRC-32C checksums. Writes
// are buffered and flushed at every epoch end, so TensorBoard sees each
// epoch as it ends; the file is closed at train end. Weight histograms are
// not written: the Trainer's snapshots are opaque to callbacks.
type TensorBoard struct {
	Base
	dir        string
	batchEvery int
	now        func() time.Time

	f      *os.File
	w      *bufio.Writer
	path   string
	tagged map[string]bool // tags whose metadata is in the file
	rec    []byte          // the event being framed
	framed []byte          // its TFRecord
	keys   []string        // sorted log keys, reused
}

// TensorBoardOption configures NewTensorBoard.
type TensorBoardOption func(*TensorBoard)

// WithBatchScalars also writes the logs of every n-th batch (n ≥ 1; 0,
// the default, writes epoch scalars only), as Keras' update_freq=n.
func WithBatchScalars(n int) TensorBoardOption { return func(t *TensorBoard) { t.batchEvery = n } }

// NewTensorBoard returns a callback writing event files into dir, created
// if missing.
func NewTensorBoard(dir string, opts ...TensorBoardOption) (*TensorBoard, error) {
	const who = "TensorBoard"
	if dir == "" {
		return nil, errors.Errorf("%s: directory is empty", who)
	}
	t := &TensorBoard{dir: dir, now: time.Now}
	for _, o := range opts {
		if o == nil {
			return nil, errors.Errorf("%s: nil option", who)
		}
		o(t)
	}
	if t.batchEvery < 0 {
		return nil, errors.Errorf("%s: WithBatchScalars(%d): want ≥ 0 (0: epochs only)", who, t.batchEvery)
	}
	return t, nil
}

// Name implements Namer.
func (t *TensorBoard) Name() string { return "TensorBoard" }

// Path returns the event file being written, or last written; empty
// before training begins.
func (t *TensorBoard) Path() string { return t.path }

// OnTrainBegin creates the event file and writes its file_version event.
func (t *TensorBoard) OnTrainBegin(*State) error {
	t.closeFile()
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return errors.Wrap(err, "TensorBoard")
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	now := t.now()
	for n := 0; ; n++ {
		t.path = filepath.Join(t.dir, fmt.Sprintf("events.out.tfevents.%010d.%s.%d.%d.v2", now.Unix(), host, os.Getpid(), n))
		f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return errors.Wrap(err, "TensorBoard")
		}
		t.f = f
		break
	}
	t.w = bufio.NewWriterSize(t.f, 64<<10)
	t.tagged = map[string]bool{}
	t.rec = appendFileVersionEvent(t.rec[:0], wallTime(now))
	if err := t.writeRecord(); err != nil {
		return err
	}
	return t.flush()
}

// OnBatchEnd writes the batch's logs every WithBatchScalars batches.
func (t *TensorBoard) OnBatchEnd(s *State) error {
	if t.batchEvery == 0 || (s.Batch+1)%t.batchEvery != 0 {
		return nil
	}
	return t.writeLogs(s.Logs, "batch_", int64(s.Step))
}

// OnEpochEnd writes the epoch's logs and flushes the file.
func (t *TensorBoard) OnEpochEnd(s *State) error {
	if err := t.writeLogs(s.Logs, "", int64(s.Epoch)); err != nil {
		return err
	}
	return t.flush()
}

// OnTrainEnd flushes and closes the file.
func (t *TensorBoard) OnTrainEnd(*State) error {
	if t.f == nil {
		return nil
	}
	err := t.flush()
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = errors.Wrap(cerr, "TensorBoard")
	}
	t.f, t.w = nil, nil
	return err
}

// writeLogs writes one scalar per key, in sorted key order so that files
// are reproducible; values that are not finite are written as they are
// (TensorBoard shows NaN and ±Inf).
func (t *TensorBoard) writeLogs(logs Logs, prefix string, step int64) error {
	if t.w == nil {
		return errors.New("TensorBoard: no event file open (OnTrainBegin did not run)")
	}
	t.keys = t.keys[:0]
	for k := range logs {
		t.keys = append(t.keys, k)
	}
	sort.Strings(t.keys)
	wt := wallTime(t.now())
	for _, k := range t.keys {
		tag := prefix + k
		first := !t.tagged[tag]
		t.tagged[tag] = true
		t.rec = appendScalarEvent(t.rec[:0], wt, step, tag, float32(logs[k]), first)
		if err := t.writeRecord(); err != nil {
			return err
		}
	}
	return nil
}

func (t *TensorBoard) writeRecord() error {
	t.framed = appendRecord(t.framed[:0], t.rec)
	if _, err := t.w.Write(t.framed); err != nil {
		return errors.Wrapf(err, "TensorBoard: writing %s", t.path)
	}
	return nil
}

func (t *TensorBoard) flush() error {
	if err := t.w.Flush(); err != nil {
		return errors.Wrapf(err, "TensorBoard: writing %s", t.path)
	}
	return nil
}

func (t *TensorBoard) closeFile() {
	if t.f != nil {
		t.f.Close()
		t.f, t.w = nil, nil
	}
}

// wallTime is seconds since the Unix epoch with microseconds, as
// TensorFlow's Event.wall_time.
func wallTime(t time.Time) float64 {
	return math.Round(float64(t.UnixMicro())) / 1e6
}
