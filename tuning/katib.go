package tuning

import (
	"io"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/pkg/errors"
)

// katibName is what Katib's default metrics filter accepts as a name,
// `[\w|-]+`, minus the '|' nobody means.
var katibName = regexp.MustCompile(`^[\w-]+$`)

// FormatMetrics writes metrics on one line as space-separated name=value
// pairs, the names in order first (those present), then the rest sorted:
//
//	epoch=3 loss=0.0812 accuracy=0.9751 val_loss=0.0934 val_accuracy=0.9712
//
// This is the format Kubeflow Katib's StdOut metrics collector parses with
// its default filter `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`
// (katib pkg/metricscollector/v1beta1/common/const.go), so a training
// process that prints its epochs this way can be a Katib trial as is.
// Values are written exactly, in strconv's shortest 'g' form ("0.0812",
// "3", "1e-05", "2.5e+06"), all of which the filter reads back to the same
// float64.
//
// The filter has no spelling for NaN or infinity: "loss=NaN" would make
// Katib record an empty value. Non-finite values are therefore written as
// "loss:NaN" (also "+Inf", "-Inf"), which a reader sees and Katib skips; a
// trial whose objective metric is never finite is then reported by Katib as
// having no metric (the trial ends MetricsUnavailable). Names must match `[A-Za-z0-9_-]+`, or Katib
// would read a different name; others are an error and nothing is written.
func FormatMetrics(w io.Writer, metrics map[string]float64, order ...string) error {
	return writeMetricLine(w, time.Time{}, metrics, order, appendPairs)
}

// katibTimeLayout is the time of a Katib metric line: RFC 3339 in UTC
// with microseconds, the precision of Katib's observation log (a MySQL
// DATETIME(6) column, pkg/db/v1beta1/mysql/init.go), fixed-width so the
// lines stay aligned. Katib reads it with time.RFC3339Nano.
const katibTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// FormatTimestampedMetrics writes the line of FormatMetrics preceded by
// the time at and one space:
//
//	2026-12-02T18:04:05.123456Z epoch=3 loss=0.0812 val_loss=0.0934
//
// This is the line Katib's StdOut metrics collector (and its File
// collector with format TEXT) needs for early stopping: it takes the first
// space-separated field as the time of the line's metrics if it parses as
// RFC 3339, and otherwise records them at the zero time, so that the
// observation log loses the order of the epochs that Katib's medianstop
// relies on (parseLogsInTextFormat in
// pkg/metricscollector/v1beta1/file-metricscollector). The time holds no
// '=', so Katib's filter reads exactly the pairs FormatMetrics writes; the
// same rules for names and non-finite values apply.
func FormatTimestampedMetrics(w io.Writer, at time.Time, metrics map[string]float64, order ...string) error {
	return writeMetricLine(w, at, metrics, order, func(b []byte, names []string, m map[string]float64) []byte {
		b = at.UTC().AppendFormat(b, katibTimeLayout)
		b = append(b, ' ')
		return appendPairs(b, names, m)
	})
}

// FormatMetricsJSON writes metrics as one JSON object on one line, a
// "timestamp" first (the time at, RFC 3339 as in FormatTimestampedMetrics)
// and then the metrics in the order of FormatMetrics:
//
//	{"timestamp":"2026-12-02T18:04:05.123456Z","epoch":"3","loss":"0.0812","val_loss":"0.0934"}
//
// This is the format of Katib's File metrics collector with format JSON:
// it reads the "timestamp" key (RFC 3339 or Unix seconds) and only those
// metrics whose values are JSON strings (parseLogsInJsonFormat in
// pkg/metricscollector/v1beta1/file-metricscollector), so every value,
// "epoch" included, is a string holding the exact shortest form that
// strconv.ParseFloat reads back to the same float64. A non-finite value is
// written as null: JSON has no spelling for NaN or infinity, and Katib,
// seeing no string, skips it, as it skips "loss:NaN" in the text line.
// The same name rules as FormatMetrics apply, and "timestamp" is not a
// metric name.
func FormatMetricsJSON(w io.Writer, at time.Time, metrics map[string]float64, order ...string) error {
	if _, ok := metrics[katibTimestampKey]; ok {
		return errors.Errorf("tuning: %q names the line's time in Katib's JSON metrics; rename the metric", katibTimestampKey)
	}
	return writeMetricLine(w, at, metrics, order, func(b []byte, names []string, m map[string]float64) []byte {
		b = append(b, `{"`+katibTimestampKey+`":"`...)
		b = at.UTC().AppendFormat(b, katibTimeLayout)
		b = append(b, '"')
		for _, n := range names {
			// Names match katibName and values are numbers or null:
			// nothing needs escaping.
			b = append(b, ',', '"')
			b = append(b, n...)
			b = append(b, '"', ':')
			if v := m[n]; isFinite(v) {
				b = append(b, '"')
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
				b = append(b, '"')
			} else {
				b = append(b, "null"...)
			}
		}
		return append(b, '}')
	})
}

// katibTimestampKey is the key Katib's JSON metrics reader takes the time
// from (TimeStampJsonKey in pkg/metricscollector/v1beta1/common/const.go).
const katibTimestampKey = "timestamp"

// writeMetricLine orders and checks the names, lets appendLine build the
// line and writes it, newline included, in one Write: a metrics collector
// tailing the file never sees half a line, and nothing is written when a
// name is rejected.
func writeMetricLine(w io.Writer, at time.Time, metrics map[string]float64, order []string,
	appendLine func(b []byte, names []string, m map[string]float64) []byte) error {
	if w == nil {
		return errors.New("tuning: writing metrics needs a writer")
	}
	names, err := metricLineNames(metrics, order)
	if err != nil {
		return err
	}
	line := append(appendLine(make([]byte, 0, 32+24*len(names)), names, metrics), '\n')
	_, err = w.Write(line)
	return errors.Wrap(err, "tuning: writing metrics")
}

// metricLineNames is the order of a metric line: the names of order that
// metrics holds, first occurrence only, then the rest sorted. Every name
// must be one Katib's filter reads back whole.
func metricLineNames(metrics map[string]float64, order []string) ([]string, error) {
	names := make([]string, 0, len(metrics))
	seen := make(map[string]bool, len(metrics))
	for _, n := range order {
		if _, ok := metrics[n]; ok && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	rest := make([]string, 0, len(metrics))
	for n := range metrics {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	for _, n := range names {
		if !katibName.MatchString(n) {
			return nil, errors.Errorf("tuning: metric name %q cannot be read by Katib's metrics collector (use letters, digits, '_' and '-')", n)
		}
	}
	return names, nil
}

// appendPairs appends the space-separated name=value pairs of the line
// FormatMetrics documents.
func appendPairs(b []byte, names []string, m map[string]float64) []byte {
	for i, n := range names {
		if i > 0 {
			b = append(b, ' ')
		}
		v := m[n]
		b = append(b, n...)
		if isFinite(v) {
			b = append(b, '=')
		} else {
			b = append(b, ':')
		}
		b = append(b, formatFloat(v)...)
	}
	return b
}

// ReportCallback returns a callback for train.Fit that reports every
// epoch's logs (loss, accuracy, val_loss, val_accuracy, lr, ...) to r with
// the epoch's 0-based index, so that an objective's per-epoch history ends
// up in its Result. A nil r reports nothing.
func ReportCallback(r Reporter) callbacks.Callback {
	return &reportCallback{r: r}
}

type reportCallback struct {
	callbacks.Base
	r Reporter
}

// Name names the callback in training errors.
func (c *reportCallback) Name() string { return "tuning.ReportCallback" }

// OnEpochEnd reports a copy of the epoch's logs.
func (c *reportCallback) OnEpochEnd(s *callbacks.State) error {
	if c.r == nil {
		return nil
	}
	m := make(map[string]float64, len(s.Logs))
	for k, v := range s.Logs {
		m[k] = v
	}
	c.r.Report(s.Epoch, m)
	return nil
}
