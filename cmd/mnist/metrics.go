package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/tuning"
)

// metricFormats are the values of -metrics-format.
var metricFormats = []string{"text", "katib-text", "katib-json"}

// metricFlags are the flags of `mnist train` that shape its metric lines.
// They are not in config.json: they say where a run reports, not what it
// trains, and `mnist tune`'s trials print no lines.
type metricFlags struct {
	format, file string
}

// registerMetricFlags defines -metrics-format and -metrics-file on fs.
func registerMetricFlags(fs *flag.FlagSet, m *metricFlags) flagGroup {
	m.format = "text"
	fs.StringVar(&m.format, "metrics-format", m.format, "metric lines: text (name=value pairs), katib-text (the pairs after an RFC 3339 time, for Katib's StdOut collector and medianstop) or katib-json (JSON lines with a timestamp, for Katib's File collector with format JSON)")
	fs.StringVar(&m.file, "metrics-file", m.file, "write the -metrics-format lines to this file (appended to on -resume) and keep the text lines on stdout")
	return flagGroup{"Metric lines (Kubeflow Katib)", []string{"metrics-format", "metrics-file"}}
}

func (m *metricFlags) validate() error {
	if !slices.Contains(metricFormats, m.format) {
		return usagef("invalid value %q for flag -metrics-format: want %s", m.format, strings.Join(metricFormats, ", "))
	}
	return nil
}

// metricLines writes a run's metric lines (one per epoch, then the test
// result): text lines on stdout, and the -metrics-format lines on stdout
// or, with -metrics-file, in that file.
type metricLines struct {
	stdout io.Writer
	format string
	// file receives the format's lines when -metrics-file is set. It is a
	// log that Katib's collector tails while training runs, so lines are
	// appended as they happen rather than the file written atomically.
	file *os.File
	now  func() time.Time
	buf  bytes.Buffer
}

// openMetricLines starts the metric lines of a run; resume appends to an
// existing -metrics-file instead of starting it afresh.
func openMetricLines(m metricFlags, stdout io.Writer, resume bool) (*metricLines, error) {
	l := &metricLines{stdout: stdout, format: m.format, now: time.Now}
	if m.file == "" {
		return l, nil
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if resume {
		mode = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(m.file, mode, 0o644)
	if err != nil {
		return nil, errors.Wrap(err, "-metrics-file")
	}
	l.file = f
	return l, nil
}

// write rounds m for people (in place) and writes one line of it.
func (l *metricLines) write(m map[string]float64, order ...string) error {
	roundMetrics(m)
	if l.file == nil {
		return l.formatLine(l.stdout, m, order)
	}
	if err := tuning.FormatMetrics(l.stdout, m, order...); err != nil {
		return err
	}
	l.buf.Reset()
	if err := l.formatLine(&l.buf, m, order); err != nil {
		return err
	}
	_, err := l.file.Write(l.buf.Bytes())
	return errors.Wrap(err, "-metrics-file")
}

func (l *metricLines) formatLine(w io.Writer, m map[string]float64, order []string) error {
	switch l.format {
	case "katib-text":
		return tuning.FormatTimestampedMetrics(w, l.now(), m, order...)
	case "katib-json":
		return tuning.FormatMetricsJSON(w, l.now(), m, order...)
	}
	return tuning.FormatMetrics(w, m, order...)
}

// close closes the -metrics-file, if any; the lines go on to stdout.
func (l *metricLines) close() error {
	if l == nil || l.file == nil {
		return nil
	}
	f := l.file
	l.file = nil
	return errors.Wrap(f.Close(), "-metrics-file")
}
