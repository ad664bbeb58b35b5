package tuning

import (
	"bufio"
	"io"
	"regexp"
	"sort"

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
// having no metric, and fails. Names must match `[A-Za-z0-9_-]+`, or Katib
// would read a different name; others are an error and nothing is written.
func FormatMetrics(w io.Writer, metrics map[string]float64, order ...string) error {
	if w == nil {
		return errors.New("tuning: FormatMetrics needs a writer")
	}
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
			return errors.Errorf("tuning: metric name %q cannot be read by Katib's metrics collector (use letters, digits, '_' and '-')", n)
		}
	}
	bw := bufio.NewWriter(w)
	for i, n := range names {
		if i > 0 {
			bw.WriteByte(' ')
		}
		v := metrics[n]
		bw.WriteString(n)
		if isFinite(v) {
			bw.WriteByte('=')
		} else {
			bw.WriteByte(':')
		}
		bw.WriteString(formatFloat(v))
	}
	bw.WriteByte('\n')
	return errors.Wrap(bw.Flush(), "tuning: writing metrics")
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
