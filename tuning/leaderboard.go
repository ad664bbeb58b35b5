package tuning

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/pkg/errors"
)

// Names of the files WithResultsDir maintains.
const (
	resultsJSON = "results.json"
	resultsCSV  = "results.csv"
)

// Leaderboard is the ranked outcome of a search.
type Leaderboard struct {
	// Metric ranks the results; Minimize says whether lower is better.
	Metric   string
	Minimize bool
	// Results holds every run of every trial, best first: results with a
	// finite metric (ok and pruned) by rung, highest first (a trial that
	// survived more Halving rungs ranks above one that did not), then by
	// the metric, then by trial ID; NaN, failed and cancelled results come
	// last, in that order, by rung and trial ID.
	Results []Result

	params   []string // dimension names, in the space's order
	strategy string
	space    string
}

func statusClass(s string) int {
	switch s {
	case StatusOK, StatusPruned:
		return 0
	case StatusNaN:
		return 1
	case StatusFailed:
		return 2
	}
	return 3
}

func (l *Leaderboard) sort() {
	sort.SliceStable(l.Results, func(i, j int) bool {
		a, b := &l.Results[i], &l.Results[j]
		if ca, cb := statusClass(a.Status), statusClass(b.Status); ca != cb {
			return ca < cb
		}
		if a.Trial.Rung != b.Trial.Rung {
			return a.Trial.Rung > b.Trial.Rung
		}
		if statusClass(a.Status) == 0 {
			if ma, mb := a.Metrics[l.Metric], b.Metrics[l.Metric]; ma != mb {
				return (ma < mb) == l.Minimize
			}
		}
		return a.Trial.ID < b.Trial.ID
	})
}

// Best returns the best result with status ok, and false if there is none.
// For Halving that is the best trial of the highest rung reached.
func (l *Leaderboard) Best() (Result, bool) {
	if l == nil {
		return Result{}, false
	}
	for _, r := range l.Results {
		if r.Status == StatusOK {
			return r, true
		}
	}
	return Result{}, false
}

// paramNames returns the parameter columns: the space's order when known,
// otherwise the sorted union over the results.
func (l *Leaderboard) paramNames() []string {
	if l.params != nil {
		return l.params
	}
	seen := map[string]bool{}
	var names []string
	for _, r := range l.Results {
		for k := range r.Trial.Params {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	return names
}

// metricNames returns the ranking metric followed by every other metric
// any result has, sorted.
func (l *Leaderboard) metricNames() []string {
	seen := map[string]bool{l.Metric: true}
	names := []string{}
	for _, r := range l.Results {
		for k := range r.Metrics {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	return append([]string{l.Metric}, names...)
}

func (l *Leaderboard) hasRungs() bool {
	for _, r := range l.Results {
		if r.Trial.Rung != 0 || r.Trial.Epochs != 0 {
			return true
		}
	}
	return false
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WriteCSV writes one row per result in leaderboard order: trial, rung,
// epochs, status, the parameters, the metrics (the ranking metric first),
// duration_seconds, seed and error. Numbers are written exactly (shortest
// form that parses back to the same float64); a metric a result lacks is
// an empty cell. A metric whose name collides with another column is
// prefixed "metric_".
func (l *Leaderboard) WriteCSV(w io.Writer) error {
	params, metrics := l.paramNames(), l.metricNames()
	taken := map[string]bool{"trial": true, "rung": true, "epochs": true, "status": true,
		"duration_seconds": true, "seed": true, "error": true}
	header := []string{"trial", "rung", "epochs", "status"}
	for _, p := range params {
		taken[p] = true
		header = append(header, p)
	}
	for _, m := range metrics {
		if taken[m] {
			m = "metric_" + m
		}
		header = append(header, m)
	}
	header = append(header, "duration_seconds", "seed", "error")
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return errors.Wrap(err, "tuning: writing CSV")
	}
	for _, r := range l.Results {
		row := []string{strconv.Itoa(r.Trial.ID), strconv.Itoa(r.Trial.Rung), strconv.Itoa(r.Trial.Epochs), r.Status}
		for _, p := range params {
			row = append(row, r.Trial.Params.String(p))
		}
		for _, m := range metrics {
			if v, ok := r.Metrics[m]; ok {
				row = append(row, formatFloat(v))
			} else {
				row = append(row, "")
			}
		}
		row = append(row, formatFloat(r.Duration.Seconds()), strconv.FormatUint(r.Trial.Seed, 10), r.Err)
		if err := cw.Write(row); err != nil {
			return errors.Wrap(err, "tuning: writing CSV")
		}
	}
	cw.Flush()
	return errors.Wrap(cw.Error(), "tuning: writing CSV")
}

// jsonDoc is the layout of results.json.
type jsonDoc struct {
	Metric   string       `json:"metric"`
	Minimize bool         `json:"minimize"`
	Strategy string       `json:"strategy,omitempty"`
	Space    string       `json:"space,omitempty"`
	Results  []jsonResult `json:"results"`
}

type jsonResult struct {
	ID              int            `json:"id"`
	Rung            int            `json:"rung"`
	Epochs          int            `json:"epochs"`
	Seed            uint64         `json:"seed"`
	Dir             string         `json:"dir,omitempty"`
	Params          map[string]any `json:"params"`
	Status          string         `json:"status"`
	Error           string         `json:"error,omitempty"`
	DurationSeconds float64        `json:"duration_seconds"`
	Finished        time.Time      `json:"finished"`
	Metrics         jsonMetrics    `json:"metrics"`
	PrunedEpoch     *int           `json:"pruned_epoch,omitempty"`
	History         []jsonEpoch    `json:"history,omitempty"`
}

type jsonEpoch struct {
	Epoch   int         `json:"epoch"`
	Metrics jsonMetrics `json:"metrics"`
}

// jsonMetrics writes NaN and ±Inf, which JSON numbers cannot hold, as the
// strings "NaN", "+Inf" and "-Inf" (strconv's spelling, which parses back).
type jsonMetrics map[string]float64

// MarshalJSON implements json.Marshaler.
func (m jsonMetrics) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if isFinite(v) {
			out[k] = v
		} else {
			out[k] = formatFloat(v)
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *jsonMetrics) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*m = make(jsonMetrics, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case float64:
			(*m)[k] = v
		case string:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return errors.Errorf("metric %q = %q is not a number", k, v)
			}
			(*m)[k] = f
		default:
			return errors.Errorf("metric %q = %v is not a number", k, v)
		}
	}
	return nil
}

func (l *Leaderboard) doc() jsonDoc {
	d := jsonDoc{Metric: l.Metric, Minimize: l.Minimize, Strategy: l.strategy, Space: l.space,
		Results: make([]jsonResult, len(l.Results))}
	for i, r := range l.Results {
		jr := jsonResult{ID: r.Trial.ID, Rung: r.Trial.Rung, Epochs: r.Trial.Epochs, Seed: r.Trial.Seed,
			Dir: r.Trial.Dir, Params: map[string]any(r.Trial.Params), Status: r.Status, Error: r.Err,
			DurationSeconds: r.Duration.Seconds(), Finished: r.Finished, Metrics: jsonMetrics(r.Metrics)}
		if jr.Params == nil {
			jr.Params = map[string]any{}
		}
		if r.PrunedEpoch >= 0 {
			e := r.PrunedEpoch
			jr.PrunedEpoch = &e
		}
		for _, h := range r.History {
			jr.History = append(jr.History, jsonEpoch{Epoch: h.Epoch, Metrics: jsonMetrics(h.Metrics)})
		}
		d.Results[i] = jr
	}
	return d
}

// WriteJSON writes the leaderboard as the indented JSON document that
// results.json holds: metric, minimize, strategy, space and the results in
// leaderboard order with their parameters, metrics, per-epoch history,
// status, error, seed, directory, duration, finish time and, for a trial a
// pruner stopped, pruned_epoch. Non-finite metrics are
// written as the strings "NaN", "+Inf" and "-Inf".
func (l *Leaderboard) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return errors.Wrap(enc.Encode(l.doc()), "tuning: writing JSON")
}

// String renders the leaderboard as a table for terminals: rank, trial,
// rung and epochs (Halving only), status, the ranking metric and the
// parameters. Durations are left out so that the table of a deterministic
// search is itself deterministic.
func (l *Leaderboard) String() string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	rungs := l.hasRungs()
	params := l.paramNames()
	fmt.Fprint(tw, "rank\ttrial\t")
	if rungs {
		fmt.Fprint(tw, "rung\tepochs\t")
	}
	fmt.Fprintf(tw, "status\t%s", l.Metric)
	for _, p := range params {
		fmt.Fprintf(tw, "\t%s", p)
	}
	fmt.Fprintln(tw)
	for i, r := range l.Results {
		fmt.Fprintf(tw, "%d\t%d\t", i+1, r.Trial.ID)
		if rungs {
			fmt.Fprintf(tw, "%d\t%d\t", r.Trial.Rung, r.Trial.Epochs)
		}
		metric := "-"
		if v, ok := r.Metrics[l.Metric]; ok {
			metric = strconv.FormatFloat(v, 'g', 6, 64)
		}
		fmt.Fprintf(tw, "%s\t%s", r.Status, metric)
		for _, p := range params {
			v, ok := r.Trial.Params[p]
			s := "-"
			if f, isFloat := v.(float64); isFloat {
				s = strconv.FormatFloat(f, 'g', 4, 64)
			} else if ok {
				s = formatValue(v)
			}
			fmt.Fprintf(tw, "\t%s", s)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	return b.String()
}

func (l *Leaderboard) writeFiles(dir string) error {
	if err := atomicfile.Write(filepath.Join(dir, resultsJSON), l.WriteJSON); err != nil {
		return errors.Wrap(err, "tuning: saving results")
	}
	if err := atomicfile.Write(filepath.Join(dir, resultsCSV), l.WriteCSV); err != nil {
		return errors.Wrap(err, "tuning: saving results")
	}
	return nil
}

// loadPrior reads the results of an earlier run of the search, keyed by
// parameters and budget, keeping the ones worth reusing: those whose status
// under the current metric is ok or NaN (a finished, deterministic outcome).
// A missing file is an empty history; a corrupt one is an error rather than
// something to overwrite.
func loadPrior(path string, c *config) (map[string][]Result, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.Wrapf(err, "tuning: reading earlier results %s", path)
	}
	var doc struct {
		Results []struct {
			jsonResult
			Params map[string]json.RawMessage `json:"params"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.Wrapf(err, "tuning: reading earlier results %s (move it away to start afresh)", path)
	}
	prior := map[string][]Result{}
	for _, jr := range doc.Results {
		p := make(Params, len(jr.Params))
		for k, raw := range jr.Params {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, errors.Wrapf(err, "tuning: reading earlier results %s: trial %d parameter %q", path, jr.ID, k)
			}
			if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 && !bytes.ContainsAny(raw, ".eE") {
				v = int(f)
			}
			p[k] = v
		}
		if jr.Status != StatusOK && jr.Status != StatusPruned && jr.Status != StatusNaN {
			continue
		}
		status, msg := classify(jr.Metrics, c.metric)
		if status != StatusOK && status != StatusNaN {
			continue
		}
		prunedEpoch := -1
		if jr.PrunedEpoch != nil && jr.Status == StatusPruned {
			// A pruner's verdict is part of the outcome; a scheduler's
			// "pruned" (not promoted) is decided again on resume.
			prunedEpoch, status, msg = *jr.PrunedEpoch, StatusPruned, jr.Error
		}
		res := Result{
			Trial:       Trial{ID: jr.ID, Params: p, Epochs: jr.Epochs, Rung: jr.Rung, Dir: jr.Dir, Seed: jr.Seed},
			Metrics:     map[string]float64(jr.Metrics),
			Duration:    time.Duration(jr.DurationSeconds * float64(time.Second)),
			Finished:    jr.Finished,
			Status:      status,
			Err:         msg,
			PrunedEpoch: prunedEpoch,
		}
		for _, h := range jr.History {
			res.History = append(res.History, EpochMetrics{Epoch: h.Epoch, Metrics: map[string]float64(h.Metrics)})
		}
		k := priorKey(p.key(), jr.Epochs)
		prior[k] = append(prior[k], res)
	}
	for _, rs := range prior {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Trial.ID < rs[j].Trial.ID })
	}
	return prior, nil
}
