package callbacks_test

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/pkg/errors"
)

// The test decodes what TensorBoard writes with its own reader, written
// from the TFRecord and protobuf specifications rather than from the
// encoder, so that a mistake shared by both cannot pass.

// readRecords splits a TFRecord file and checks both masked CRC-32Cs of
// every record.
func readRecords(data []byte) ([][]byte, error) {
	table := crc32.MakeTable(crc32.Castagnoli)
	mask := func(b []byte) uint32 {
		c := crc32.Checksum(b, table)
		return ((c >> 15) | (c << 17)) + 0xa282ead8
	}
	var recs [][]byte
	for off := 0; off < len(data); {
		if len(data)-off < 12 {
			return nil, errors.Errorf("record header cut at byte %d", off)
		}
		n := binary.LittleEndian.Uint64(data[off:])
		if got, want := binary.LittleEndian.Uint32(data[off+8:]), mask(data[off:off+8]); got != want {
			return nil, errors.Errorf("length CRC at byte %d: %08x, want %08x", off, got, want)
		}
		off += 12
		if uint64(len(data)-off) < n+4 {
			return nil, errors.Errorf("record body cut at byte %d", off)
		}
		body := data[off : off+int(n)]
		if got, want := binary.LittleEndian.Uint32(data[off+int(n):]), mask(body); got != want {
			return nil, errors.Errorf("data CRC at byte %d: %08x, want %08x", off, got, want)
		}
		recs = append(recs, body)
		off += int(n) + 4
	}
	return recs, nil
}

// field is one decoded protobuf field: a varint, a fixed64 / fixed32 or
// the bytes of a length-delimited field.
type field struct {
	num   int
	wire  int
	u     uint64
	bytes []byte
}

func decodeProto(b []byte) ([]field, error) {
	var fs []field
	for len(b) > 0 {
		key, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("bad key varint")
		}
		b = b[k:]
		f := field{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, errors.New("bad varint")
			}
			f.u, b = v, b[k:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("cut fixed64")
			}
			f.u, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			n, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < n {
				return nil, errors.New("bad length")
			}
			f.bytes, b = b[k:k+int(n)], b[k+int(n):]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("cut fixed32")
			}
			f.u, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return nil, errors.Errorf("wire type %d", f.wire)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// event is what the test reads back of one Event.
type event struct {
	wallTime    float64
	step        int64
	fileVersion string
	tag         string
	value       float32
	hasValue    bool
	plugin      string
	dataClass   uint64
	dtype       uint64
	rank0       bool
}

func decodeEvent(t *testing.T, b []byte) event {
	t.Helper()
	must := func(fs []field, err error) []field {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	var e event
	for _, f := range must(decodeProto(b)) {
		switch f.num {
		case 1:
			e.wallTime = math.Float64frombits(f.u)
		case 2:
			e.step = int64(f.u)
		case 3:
			e.fileVersion = string(f.bytes)
		case 5: // Summary
			values := must(decodeProto(f.bytes))
			if len(values) != 1 || values[0].num != 1 {
				t.Fatalf("summary holds %d fields, want one value", len(values))
			}
			for _, v := range must(decodeProto(values[0].bytes)) {
				switch v.num {
				case 1:
					e.tag = string(v.bytes)
				case 8: // TensorProto
					for _, tf := range must(decodeProto(v.bytes)) {
						switch tf.num {
						case 1:
							e.dtype = tf.u
						case 2:
							e.rank0 = len(tf.bytes) == 0
						case 5:
							if len(tf.bytes) != 4 {
								t.Fatalf("float_val holds %d bytes, want one float", len(tf.bytes))
							}
							e.value, e.hasValue = math.Float32frombits(binary.LittleEndian.Uint32(tf.bytes)), true
						}
					}
				case 9: // SummaryMetadata
					for _, mf := range must(decodeProto(v.bytes)) {
						switch mf.num {
						case 1:
							for _, pf := range must(decodeProto(mf.bytes)) {
								if pf.num == 1 {
									e.plugin = string(pf.bytes)
								}
							}
						case 4:
							e.dataClass = mf.u
						}
					}
				case 2:
					t.Fatalf("tag %q written as a legacy simple_value", e.tag)
				}
			}
		}
	}
	return e
}

func readEvents(t *testing.T, path string) []event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]event, len(recs))
	for i, r := range recs {
		evs[i] = decodeEvent(t, r)
	}
	return evs
}

func TestTensorBoard(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tb")
	tb, err := callbacks.NewTensorBoard(dir, callbacks.WithBatchScalars(2))
	if err != nil {
		t.Fatal(err)
	}
	epochLogs := func(e int) callbacks.Logs {
		return callbacks.Logs{
			callbacks.KeyLoss: 1 / float64(e+1), callbacks.KeyAccuracy: 0.5 + 0.1*float64(e),
			callbacks.KeyValLoss: 2 / float64(e+1), callbacks.KeyValAccuracy: 0.25 * float64(e), callbacks.KeyLR: 1e-3 * math.Pow(0.5, float64(e)),
		}
	}
	l := &loop{t: &fakeTrainer{lr: 1e-3}, cbs: []callbacks.Callback{tb}, epochs: 3, batches: 4, epochLogs: epochLogs,
		batchLoss: func(e, b int) float64 { return float64(10*e + b) }}
	if err := l.run(0, 3); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^events\.out\.tfevents\.\d{10}\..+\.\d+\.0\.v2$`).MatchString(filepath.Base(tb.Path())) {
		t.Fatalf("file name %s", tb.Path())
	}
	evs := readEvents(t, tb.Path())
	if evs[0].fileVersion != "brain.Event:2" || evs[0].wallTime < 1e9 {
		t.Fatalf("first event %+v, want file_version brain.Event:2 with a wall time", evs[0])
	}
	type key struct {
		tag  string
		step int64
	}
	got := map[key]float32{}
	seen := map[string]bool{}
	for _, e := range evs[1:] {
		if !e.hasValue || e.dtype != 1 || !e.rank0 {
			t.Fatalf("event %+v: want a rank-0 DT_FLOAT tensor", e)
		}
		if first := !seen[e.tag]; first != (e.plugin == "scalars" && e.dataClass == 1) {
			t.Fatalf("tag %q: metadata %q/%d, want the scalars plugin and DATA_CLASS_SCALAR on the first value only", e.tag, e.plugin, e.dataClass)
		}
		seen[e.tag] = true
		if _, dup := got[key{e.tag, e.step}]; dup {
			t.Fatalf("tag %q step %d written twice", e.tag, e.step)
		}
		got[key{e.tag, e.step}] = e.value
	}
	want := map[key]float32{}
	for e := range 3 {
		for k, v := range epochLogs(e) {
			want[key{k, int64(e)}] = float32(v)
		}
		for b := 1; b < 4; b += 2 { // every 2nd batch: batches 1 and 3
			step := int64(4*e + b)
			want[key{"batch_loss", step}] = float32(10*e + b)
			want[key{"batch_lr", step}] = float32(1e-3)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d scalars, want %d", len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s at step %d = %v (present %v), want %v", k.tag, k.step, g, ok, v)
		}
	}

	// A second run (a resumed one) writes a new file next to the first.
	if err := l.run(3, 4); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	if len(files) != 2 {
		t.Fatalf("files %v after two runs, want two", files)
	}
	var steps []int64
	for _, e := range readEvents(t, tb.Path()) {
		if e.tag == callbacks.KeyLoss {
			steps = append(steps, e.step)
		}
	}
	if len(steps) != 1 || steps[0] != 3 {
		t.Fatalf("second file: loss at steps %v, want [3]", steps)
	}
}

func TestTensorBoardLongTagsAndCorruption(t *testing.T) {
	dir := t.TempDir()
	tb, err := callbacks.NewTensorBoard(dir)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 300) // lengths that need two-byte varints
	l := &loop{t: &fakeTrainer{}, cbs: []callbacks.Callback{tb}, epochs: 1, batches: 1,
		epochLogs: func(int) callbacks.Logs { return callbacks.Logs{long: 7, "nan": math.NaN()} }}
	if err := l.run(0, 1); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, tb.Path())
	if len(evs) != 3 || evs[2].tag != long || evs[2].value != 7 || evs[1].tag != "nan" || !math.IsNaN(float64(evs[1].value)) {
		t.Fatalf("events %+v", evs)
	}
	data, _ := os.ReadFile(tb.Path())
	data[len(data)-6] ^= 1
	if _, err := readRecords(data); err == nil || !strings.Contains(err.Error(), "data CRC") {
		t.Fatalf("a flipped bit passed the CRC check: %v", err)
	}
}

func TestTensorBoardOptions(t *testing.T) {
	if _, err := callbacks.NewTensorBoard(""); err == nil {
		t.Error("empty directory accepted")
	}
	if _, err := callbacks.NewTensorBoard("x", callbacks.WithBatchScalars(-1)); err == nil || !strings.Contains(err.Error(), "WithBatchScalars(-1)") {
		t.Errorf("WithBatchScalars(-1): %v", err)
	}
}
