package tuning

import (
	"fmt"
	"sort"

	"github.com/pkg/errors"
)

// Pruner stops unpromising trials early, judging each from the epoch
// metrics it reports against the trials that finished before it was handed
// out (the same trials a model-based strategy learns from; see Run). Use
// MedianStopping or SuccessiveHalvingPruner with WithPruner. Epochs are
// numbered as ReportCallback reports them, from 0: after the report of
// epoch e a trial has trained e+1 epochs.
type Pruner interface {
	// String describes the pruner for logs, "median(warmup=1, min-trials=3)".
	String() string

	check() error
	// prune decides after the latest report in history; why explains a
	// stop in the trial's Result.Err.
	prune(history []EpochMetrics, peers []peerCurve, c *config) (why string, stop bool)
}

// peerCurve is one earlier trial's metric by reported epoch.
type peerCurve struct {
	values   map[int]float64
	complete bool // the trial ran to its end (status ok)
}

func newPeerCurve(res *Result, metric string) (peerCurve, bool) {
	if res.Status != StatusOK && res.Status != StatusPruned {
		return peerCurve{}, false
	}
	c := peerCurve{values: make(map[int]float64, len(res.History)), complete: res.Status == StatusOK}
	for _, h := range res.History {
		if v, ok := h.Metrics[metric]; ok && isFinite(v) {
			c.values[h.Epoch] = v
		}
	}
	return c, len(c.values) > 0
}

type median struct{ warmup, minTrials int }

// MedianStopping is the median stopping rule (Golovin et al. 2017, "Google
// Vizier"), as Optuna's MedianPruner and Katib's medianstop apply it: after
// each epoch beyond the first warmupEpochs, a trial stops if its best value
// of the metric so far is strictly worse than the median of the values
// that the completed earlier trials reported at the same epoch, provided at
// least minTrials of them reported one. Pruned trials are not part of the
// median (they would drag it towards the bad end). Katib's defaults are 4
// warm-up epochs (start_step) and 3 trials (min_trials_required); Optuna's
// MedianPruner uses 5 start-up trials and no warm-up.
func MedianStopping(warmupEpochs, minTrials int) Pruner {
	return median{warmup: warmupEpochs, minTrials: minTrials}
}

func (m median) String() string {
	return fmt.Sprintf("median(warmup=%d, min-trials=%d)", m.warmup, m.minTrials)
}

func (m median) check() error {
	switch {
	case m.warmup < 0:
		return errors.Errorf("tuning: median stopping warm-up = %d epochs is out of range [0, ∞)", m.warmup)
	case m.minTrials < 1:
		return errors.Errorf("tuning: median stopping minimum trials = %d is out of range [1, ∞)", m.minTrials)
	}
	return nil
}

func (m median) prune(history []EpochMetrics, peers []peerCurve, c *config) (string, bool) {
	last := history[len(history)-1]
	if last.Epoch+1 <= m.warmup {
		return "", false
	}
	best, ok := bestSoFar(history, c)
	if !ok {
		return "", false
	}
	var at []float64
	for _, p := range peers {
		if v, ok := p.values[last.Epoch]; ok && p.complete {
			at = append(at, v)
		}
	}
	if len(at) < m.minTrials {
		return "", false
	}
	med := medianOf(at)
	if !c.better(med, best) {
		return "", false
	}
	return fmt.Sprintf("pruned by %s after epoch %d: best %s %v is worse than the median %v of %d trials",
		m, last.Epoch, c.metric, best, med, len(at)), true
}

// bestSoFar is the best finite value of the metric in history.
func bestSoFar(history []EpochMetrics, c *config) (float64, bool) {
	var best float64
	found := false
	for _, h := range history {
		if v, ok := h.Metrics[c.metric]; ok && isFinite(v) && (!found || c.better(v, best)) {
			best, found = v, true
		}
	}
	return best, found
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

type halvingPruner struct{ minEpochs, eta int }

// SuccessiveHalvingPruner applies the asynchronous successive-halving rule
// (Li et al. 2020, "A System for Massively Parallel Hyperparameter
// Tuning"), as Optuna's SuccessiveHalvingPruner does, to trials of any
// strategy: at the rungs minEpochs·eta^k epochs (k = 0, 1, ...), a trial
// goes on only if its value of the metric there is among the best
// ⌊n/eta⌋ of the n values reported at that epoch by itself and the earlier
// trials (completed or pruned) that reached it; while n < eta, only if it is
// the best. Unlike ASHA the trial is stopped, not paused: there is no
// promotion to come back for.
func SuccessiveHalvingPruner(minEpochs, eta int) Pruner {
	return halvingPruner{minEpochs: minEpochs, eta: eta}
}

func (h halvingPruner) String() string {
	return fmt.Sprintf("halving(min-epochs=%d, eta=%d)", h.minEpochs, h.eta)
}

func (h halvingPruner) check() error {
	switch {
	case h.minEpochs < 1:
		return errors.Errorf("tuning: halving pruner min epochs = %d is out of range [1, ∞)", h.minEpochs)
	case h.eta < 2:
		return errors.Errorf("tuning: halving pruner eta = %d is out of range [2, ∞)", h.eta)
	}
	return nil
}

func (h halvingPruner) prune(history []EpochMetrics, peers []peerCurve, c *config) (string, bool) {
	last := history[len(history)-1]
	if !h.isRung(last.Epoch + 1) {
		return "", false
	}
	v, ok := last.Metrics[c.metric]
	if !ok || !isFinite(v) {
		return "", false
	}
	competing := []float64{v}
	for _, p := range peers {
		if pv, ok := p.values[last.Epoch]; ok {
			competing = append(competing, pv)
		}
	}
	sort.Slice(competing, func(i, j int) bool { return c.better(competing[i], competing[j]) })
	cut := max(len(competing)/h.eta-1, 0)
	if !c.better(competing[cut], v) {
		return "", false
	}
	return fmt.Sprintf("pruned by %s after epoch %d: %s %v is not in the best %d of %d", h, last.Epoch, c.metric, v, cut+1, len(competing)), true
}

// isRung reports whether epochs = minEpochs·eta^k for some k ≥ 0.
func (h halvingPruner) isRung(epochs int) bool {
	for r := h.minEpochs; r <= epochs; r *= h.eta {
		if r == epochs {
			return true
		}
		if r > epochs/h.eta {
			break
		}
	}
	return false
}
