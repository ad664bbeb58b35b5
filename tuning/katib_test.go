package tuning

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adamant-ml/adamant/callbacks"
)

// katibFilter is Katib's default metrics filter, DefaultFilter in
// kubeflow/katib pkg/metricscollector/v1beta1/common/const.go (since
// Katib 0.13, kubeflow/katib#1755).
var katibFilter = regexp.MustCompile(`([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`)

// katibParse reads a line as Katib's text metrics collector does
// (parseLogsInTextFormat in pkg/metricscollector/v1beta1/file-metricscollector):
// every match of the filter is a name and a value string.
func katibParse(t *testing.T, line string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range katibFilter.FindAllStringSubmatch(line, -1) {
		name, value := strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("Katib would record %s=%q from %q, which is not a number", name, value, line)
			continue
		}
		if _, dup := out[name]; dup {
			t.Errorf("Katib reads %s twice from %q", name, line)
		}
		out[name] = v
	}
	return out
}

// requireKatibReads fails unless Katib read exactly the finite metrics,
// each bit for bit, and nothing else.
func requireKatibReads(t *testing.T, name string, got, metrics map[string]float64) {
	t.Helper()
	finite := 0
	for k, v := range metrics {
		if !isFinite(v) {
			continue
		}
		finite++
		if g, ok := got[k]; !ok || math.Float64bits(g) != math.Float64bits(v) {
			t.Errorf("%s: Katib reads %s = %v (found %v), want exactly %v", name, k, g, ok, v)
		}
	}
	if len(got) != finite {
		t.Errorf("%s: Katib reads %v, want only the finite metrics of %v", name, got, metrics)
	}
}

// metricLineCase is a metric line test: the metrics and order given, the
// line expected.
type metricLineCase struct {
	name    string
	metrics map[string]float64
	order   []string
	line    string
}

func TestFormatMetricsParsesWithKatibsFilter(t *testing.T) {
	for _, tc := range []metricLineCase{
		{"epoch line", map[string]float64{"epoch": 3, "loss": 0.0812, "accuracy": 0.9751, "val_loss": 0.0934, "val_accuracy": 0.9712, "lr": 0.001, "epoch_seconds": 41.25},
			[]string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy"},
			"epoch=3 loss=0.0812 accuracy=0.9751 val_loss=0.0934 val_accuracy=0.9712 epoch_seconds=41.25 lr=0.001\n"},
		{"test line", map[string]float64{"test_loss": 0.0712, "test_accuracy": 0.9788}, []string{"test_loss", "test_accuracy"},
			"test_loss=0.0712 test_accuracy=0.9788\n"},
		{"exponents", map[string]float64{"lr": 1e-05, "eps": 1e-08, "big": 2.5e+21, "neg": -7.53e-05, "tiny": 5e-324, "max": math.MaxFloat64},
			nil, "big=2.5e+21 eps=1e-08 lr=1e-05 max=1.7976931348623157e+308 neg=-7.53e-05 tiny=5e-324\n"},
		{"full precision", map[string]float64{"loss": 1.0 / 3, "float32": float64(float32(0.1))}, nil,
			"float32=0.10000000149011612 loss=0.3333333333333333\n"},
		{"integers and zero", map[string]float64{"a": 0, "b": math.Copysign(0, -1), "c": 1e15, "d": -42}, nil,
			"a=0 b=-0 c=1e+15 d=-42\n"},
		{"dashes in names", map[string]float64{"val-loss": 0.5, "Val_Acc2": 0.25}, nil,
			"Val_Acc2=0.25 val-loss=0.5\n"},
		{"order names missing or repeated", map[string]float64{"b": 2, "a": 1}, []string{"z", "b", "b"},
			"b=2 a=1\n"},
		{"empty", map[string]float64{}, nil, "\n"},
	} {
		var buf bytes.Buffer
		if err := FormatMetrics(&buf, tc.metrics, tc.order...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if buf.String() != tc.line {
			t.Errorf("%s: line %q, want %q", tc.name, buf.String(), tc.line)
		}
		requireKatibReads(t, tc.name, katibParse(t, buf.String()), tc.metrics)
	}
}

func TestFormatMetricsNonFinite(t *testing.T) {
	var buf bytes.Buffer
	m := map[string]float64{"epoch": 4, "loss": math.NaN(), "val_loss": math.Inf(1), "lr": math.Inf(-1), "accuracy": 0.1}
	if err := FormatMetrics(&buf, m, "epoch", "loss"); err != nil {
		t.Fatal(err)
	}
	if want := "epoch=4 loss:NaN accuracy=0.1 lr:-Inf val_loss:+Inf\n"; buf.String() != want {
		t.Errorf("line %q, want %q", buf.String(), want)
	}
	got := katibParse(t, buf.String())
	if want := map[string]float64{"epoch": 4, "accuracy": 0.1}; len(got) != len(want) || got["epoch"] != 4 || got["accuracy"] != 0.1 {
		t.Errorf("Katib reads %v, want only the finite metrics %v", got, want)
	}
}

func TestFormatMetricsRejectsNamesKatibMisreads(t *testing.T) {
	for _, name := range []string{"val.loss", "val loss", "a=b", "", "loss|x", "ß"} {
		var buf bytes.Buffer
		err := FormatMetrics(&buf, map[string]float64{"ok": 1, name: 2})
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(name)) {
			t.Errorf("name %q: error %v", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("name %q: wrote %q before failing", name, buf.String())
		}
	}
}

type sliceReporter struct{ got []EpochMetrics }

func (s *sliceReporter) Report(epoch int, m map[string]float64) {
	s.got = append(s.got, EpochMetrics{epoch, m})
}

func TestReportCallback(t *testing.T) {
	r := &sliceReporter{}
	cb := ReportCallback(r)
	logs := callbacks.Logs{"loss": 0.5, "val_loss": 0.6}
	for epoch := range 3 {
		s := &callbacks.State{Epoch: epoch, Logs: logs}
		for _, hook := range []func(*callbacks.State) error{cb.OnTrainBegin, cb.OnEpochBegin, cb.OnBatchBegin, cb.OnBatchEnd, cb.OnEpochEnd} {
			if err := hook(s); err != nil {
				t.Fatal(err)
			}
		}
		logs["loss"] -= 0.1 // the loop reuses its map: reports must be copies
	}
	if len(r.got) != 3 {
		t.Fatalf("%d reports, want one per epoch", len(r.got))
	}
	for i, e := range r.got {
		if e.Epoch != i || math.Abs(e.Metrics["loss"]-(0.5-0.1*float64(i))) > 1e-12 || e.Metrics["val_loss"] != 0.6 {
			t.Errorf("report %d = %+v", i, e)
		}
	}
	if n, ok := cb.(callbacks.Namer); !ok || n.Name() != "tuning.ReportCallback" {
		t.Error("ReportCallback has no name for errors")
	}
	if err := ReportCallback(nil).OnEpochEnd(&callbacks.State{Logs: logs}); err != nil {
		t.Error(err)
	}
}

// TestNilArgumentsAreErrors: misuse gives errors or zero values, not panics.
func TestNilArgumentsAreErrors(t *testing.T) {
	if err := FormatMetrics(nil, map[string]float64{"loss": 1}); err == nil {
		t.Error("FormatMetrics(nil writer) succeeded")
	}
	var l *Leaderboard
	if _, ok := l.Best(); ok {
		t.Error("Best of a nil leaderboard reported a result")
	}
}

// katibTimeOf reads a text line's time as Katib's text metrics collector
// does (parseLogsInTextFormat): the first space-separated field, parsed
// with time.RFC3339Nano.
func katibTimeOf(t *testing.T, line string) time.Time {
	t.Helper()
	first, _, ok := strings.Cut(line, " ")
	if !ok {
		t.Fatalf("Katib finds no time in %q (no space)", line)
	}
	at, err := time.Parse(time.RFC3339Nano, first)
	if err != nil {
		t.Fatalf("Katib cannot read the time of %q: %v", line, err)
	}
	return at
}

// katibTestTime has nanoseconds, which the lines truncate to microseconds,
// and a zone other than UTC, which they convert.
var katibTestTime = time.Date(2026, 12, 2, 19, 4, 5, 123456789, time.FixedZone("CET", 3600))

func TestFormatTimestampedMetricsParsesLikeKatib(t *testing.T) {
	for _, tc := range []metricLineCase{
		{"epoch line", map[string]float64{"epoch": 3, "loss": 0.0812, "val_loss": 0.0934, "val_accuracy": 0.9712, "lr": 1e-05},
			[]string{"epoch", "loss", "val_loss", "val_accuracy"},
			"2026-12-02T18:04:05.123456Z epoch=3 loss=0.0812 val_loss=0.0934 val_accuracy=0.9712 lr=1e-05\n"},
		{"exponents and signs", map[string]float64{"big": 2.5e+21, "neg": -7.53e-05, "zero": 0}, nil,
			"2026-12-02T18:04:05.123456Z big=2.5e+21 neg=-7.53e-05 zero=0\n"},
		{"non-finite hidden from Katib", map[string]float64{"epoch": 1, "loss": math.NaN(), "val_loss": math.Inf(1)}, []string{"epoch"},
			"2026-12-02T18:04:05.123456Z epoch=1 loss:NaN val_loss:+Inf\n"},
		{"empty", map[string]float64{}, nil, "2026-12-02T18:04:05.123456Z \n"},
	} {
		var buf bytes.Buffer
		if err := FormatTimestampedMetrics(&buf, katibTestTime, tc.metrics, tc.order...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if buf.String() != tc.line {
			t.Errorf("%s: line %q, want %q", tc.name, buf.String(), tc.line)
		}
		if at := katibTimeOf(t, buf.String()); !at.Equal(katibTestTime.Truncate(time.Microsecond)) {
			t.Errorf("%s: Katib reads the time %v, want %v", tc.name, at, katibTestTime)
		}
		requireKatibReads(t, tc.name, katibParse(t, buf.String()), tc.metrics)
	}
}

// katibJSONParse reads a line as Katib's JSON metrics collector does
// (parseLogsInJsonFormat in pkg/metricscollector/v1beta1/file-metricscollector
// and watchMetricsFile in cmd/metricscollector/v1beta1/file-metricscollector):
// a JSON object, "timestamp" an RFC 3339 string, a metric only where the
// value is a string, parsed with strconv.ParseFloat.
func katibJSONParse(t *testing.T, line string) (time.Time, map[string]float64, map[string]any) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		t.Fatalf("Katib cannot decode %q: %v", line, err)
	}
	ts, ok := obj["timestamp"].(string)
	if !ok {
		t.Fatalf("%q has no string timestamp", line)
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatalf("Katib cannot read the timestamp of %q: %v", line, err)
	}
	metrics := map[string]float64{}
	for k, v := range obj {
		s, ok := v.(string)
		if !ok || k == "timestamp" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Errorf("Katib fails on %s=%q in %q: not a number", k, s, line)
		}
		metrics[k] = f
	}
	return at, metrics, obj
}

func TestFormatMetricsJSONDecodesLikeKatib(t *testing.T) {
	for _, tc := range []metricLineCase{
		{"epoch line", map[string]float64{"epoch": 3, "loss": 0.0812, "val_loss": 0.0934, "lr": 1e-05},
			[]string{"epoch", "loss", "val_loss"},
			`{"timestamp":"2026-12-02T18:04:05.123456Z","epoch":"3","loss":"0.0812","val_loss":"0.0934","lr":"1e-05"}` + "\n"},
		{"full precision", map[string]float64{"loss": 1.0 / 3, "max": math.MaxFloat64, "tiny": 5e-324, "negzero": math.Copysign(0, -1)}, nil,
			`{"timestamp":"2026-12-02T18:04:05.123456Z","loss":"0.3333333333333333","max":"1.7976931348623157e+308","negzero":"-0","tiny":"5e-324"}` + "\n"},
		{"non-finite is null", map[string]float64{"epoch": 2, "loss": math.NaN(), "val_loss": math.Inf(-1)}, []string{"epoch"},
			`{"timestamp":"2026-12-02T18:04:05.123456Z","epoch":"2","loss":null,"val_loss":null}` + "\n"},
		{"empty", map[string]float64{}, nil, `{"timestamp":"2026-12-02T18:04:05.123456Z"}` + "\n"},
	} {
		var buf bytes.Buffer
		if err := FormatMetricsJSON(&buf, katibTestTime, tc.metrics, tc.order...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if buf.String() != tc.line {
			t.Errorf("%s: line %q, want %q", tc.name, buf.String(), tc.line)
		}
		if strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("%s: %q is not one line", tc.name, buf.String())
		}
		at, got, obj := katibJSONParse(t, buf.String())
		if !at.Equal(katibTestTime.Truncate(time.Microsecond)) {
			t.Errorf("%s: Katib reads the time %v, want %v", tc.name, at, katibTestTime)
		}
		for k, v := range tc.metrics {
			if val, ok := obj[k]; !isFinite(v) && (!ok || val != nil) {
				t.Errorf("%s: non-finite %s written as %v (present %v), want null", tc.name, k, val, ok)
			}
		}
		requireKatibReads(t, tc.name, got, tc.metrics)
	}
}

func TestKatibLinesRejectWhatKatibMisreads(t *testing.T) {
	writers := map[string]func(w io.Writer, m map[string]float64) error{
		"text": func(w io.Writer, m map[string]float64) error { return FormatTimestampedMetrics(w, katibTestTime, m) },
		"json": func(w io.Writer, m map[string]float64) error { return FormatMetricsJSON(w, katibTestTime, m) },
	}
	for kind, write := range writers {
		for _, name := range []string{"val.loss", "val loss", `a"b`, "", "ß"} {
			var buf bytes.Buffer
			err := write(&buf, map[string]float64{"ok": 1, name: 2})
			if err == nil || !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Errorf("%s, name %q: error %v", kind, name, err)
			}
			if buf.Len() != 0 {
				t.Errorf("%s, name %q: wrote %q before failing", kind, name, buf.String())
			}
		}
		if err := write(nil, map[string]float64{"ok": 1}); err == nil {
			t.Errorf("%s: a nil writer succeeded", kind)
		}
	}
	var buf bytes.Buffer
	if err := FormatMetricsJSON(&buf, katibTestTime, map[string]float64{"timestamp": 1}); err == nil || !strings.Contains(err.Error(), `"timestamp"`) || buf.Len() != 0 {
		t.Errorf("a metric named timestamp: error %v, wrote %q", err, buf.String())
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestMetricLinesReportWriteErrors(t *testing.T) {
	m := map[string]float64{"loss": 1}
	for name, err := range map[string]error{
		"FormatMetrics":            FormatMetrics(failingWriter{}, m),
		"FormatTimestampedMetrics": FormatTimestampedMetrics(failingWriter{}, katibTestTime, m),
		"FormatMetricsJSON":        FormatMetricsJSON(failingWriter{}, katibTestTime, m),
	} {
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: error %v, want the writer's", name, err)
		}
	}
}
