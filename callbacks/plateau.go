package callbacks

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/pkg/errors"
)

// ReduceLROnPlateau multiplies the learning rate by a factor when a
// monitored quantity has stopped improving for patience epochs, with the
// semantics of PyTorch's torch.optim.lr_scheduler.ReduceLROnPlateau
// (1.13.1): at each epoch end the monitored log value is compared with the
// best so far (threshold in rel or abs mode); after more than patience bad
// epochs the rate becomes max(lr·factor, min_lr), unless that changes it by
// eps or less; then cooldown epochs pass in which bad epochs are not
// counted. It reads the rate in force, so it composes with an LRScheduler.
type ReduceLROnPlateau struct {
	Base
	monitor       string
	mode          Mode
	factor        float64
	patience      int
	threshold     float64
	thresholdMode ThresholdMode
	cooldown      int
	minLR         float64
	eps           float64

	best            float64
	numBadEpochs    int
	cooldownCounter int
	lastEpoch       int
	reductions      int
	resumed         bool
}

// NewReduceLROnPlateau returns the callback with PyTorch's defaults:
// monitor "val_loss", mode min, factor 0.1, patience 10, threshold 1e-4 in
// rel mode, cooldown 0, min_lr 0, eps 1e-8. Options: WithMonitor, WithMode
// (ModeMin or ModeMax), WithFactor, WithPatience, WithThreshold,
// WithThresholdMode, WithCooldown, WithMinLR, WithEps.
func NewReduceLROnPlateau(opts ...ReduceLROnPlateauOption) (*ReduceLROnPlateau, error) {
	const who = "ReduceLROnPlateau"
	c := plateauConfig{monitor: KeyValLoss, mode: ModeMin, factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: ThresholdRel, eps: 1e-8}
	if err := applyAll(who, opts, func(o ReduceLROnPlateauOption) { o.applyReduceLROnPlateau(&c) }); err != nil {
		return nil, err
	}
	mode, err := c.mode.resolve(who, c.monitor, false)
	if err != nil {
		return nil, err
	}
	switch {
	case c.monitor == "":
		return nil, errors.Errorf("%s: monitor is empty, want a log key such as %q", who, KeyValLoss)
	case !(c.factor > 0 && c.factor < 1):
		return nil, errors.Errorf("%s: factor %v, want a value in (0, 1)", who, c.factor)
	case c.patience < 0:
		return nil, errors.Errorf("%s: patience %d, want ≥ 0", who, c.patience)
	case !(c.threshold >= 0) || math.IsInf(c.threshold, 0):
		return nil, errors.Errorf("%s: threshold %v, want a finite value ≥ 0", who, c.threshold)
	case c.thresholdMode != ThresholdRel && c.thresholdMode != ThresholdAbs:
		return nil, errors.Errorf("%s: threshold_mode %q, want \"rel\" or \"abs\"", who, string(c.thresholdMode))
	case c.cooldown < 0:
		return nil, errors.Errorf("%s: cooldown %d, want ≥ 0", who, c.cooldown)
	case !(c.minLR >= 0) || math.IsInf(c.minLR, 0):
		return nil, errors.Errorf("%s: min_lr %v, want a finite value ≥ 0", who, c.minLR)
	case !(c.eps >= 0) || math.IsInf(c.eps, 0):
		return nil, errors.Errorf("%s: eps %v, want a finite value ≥ 0", who, c.eps)
	}
	p := &ReduceLROnPlateau{monitor: c.monitor, mode: mode, factor: c.factor, patience: c.patience,
		threshold: c.threshold, thresholdMode: c.thresholdMode, cooldown: c.cooldown, minLR: c.minLR, eps: c.eps}
	p.reset()
	return p, nil
}

// Name implements Namer.
func (p *ReduceLROnPlateau) Name() string { return "ReduceLROnPlateau" }

// Best returns the best monitored value so far (±Inf before the first).
func (p *ReduceLROnPlateau) Best() float64 { return p.best }

// Reductions returns how many times the learning rate was reduced.
func (p *ReduceLROnPlateau) Reductions() int { return p.reductions }

func (p *ReduceLROnPlateau) reset() {
	p.best = math.Inf(1)
	if p.mode == ModeMax {
		p.best = math.Inf(-1)
	}
	p.numBadEpochs, p.cooldownCounter, p.lastEpoch, p.reductions = 0, 0, 0, 0
}

// OnTrainBegin starts afresh, unless the callback was restored from a
// checkpoint.
func (p *ReduceLROnPlateau) OnTrainBegin(*State) error {
	if p.resumed {
		p.resumed = false
		return nil
	}
	p.reset()
	return nil
}

// OnEpochEnd is PyTorch's step(metrics) with the monitored log value.
func (p *ReduceLROnPlateau) OnEpochEnd(s *State) error {
	current, err := monitored(p.Name(), p.monitor, s.Logs)
	if err != nil {
		return err
	}
	p.lastEpoch++
	if p.isBetter(current) {
		p.best = current
		p.numBadEpochs = 0
	} else {
		p.numBadEpochs++
	}
	if p.cooldownCounter > 0 {
		p.cooldownCounter--
		p.numBadEpochs = 0 // bad epochs in cooldown do not count
	}
	if p.numBadEpochs > p.patience {
		old := s.Trainer.LearningRate()
		lr := math.Max(old*p.factor, p.minLR)
		if old-lr > p.eps {
			if err := s.Trainer.SetLearningRate(lr); err != nil {
				return err
			}
			p.reductions++
		}
		p.cooldownCounter = p.cooldown
		p.numBadEpochs = 0
	}
	return nil
}

func (p *ReduceLROnPlateau) isBetter(a float64) bool {
	switch {
	case p.mode == ModeMin && p.thresholdMode == ThresholdRel:
		return a < p.best*(1.-p.threshold)
	case p.mode == ModeMin:
		return a < p.best-p.threshold
	case p.thresholdMode == ThresholdRel:
		return a > p.best*(p.threshold+1.)
	}
	return a > p.best+p.threshold
}

type plateauState struct {
	Kind            string `json:"kind"`
	Best            num    `json:"best"`
	NumBadEpochs    int    `json:"num_bad_epochs"`
	CooldownCounter int    `json:"cooldown_counter"`
	LastEpoch       int    `json:"last_epoch"`
	Reductions      int    `json:"reductions"`
}

// MarshalState implements Stateful.
func (p *ReduceLROnPlateau) MarshalState() ([]byte, error) {
	return json.Marshal(plateauState{Kind: "ReduceLROnPlateau", Best: num(p.best), NumBadEpochs: p.numBadEpochs,
		CooldownCounter: p.cooldownCounter, LastEpoch: p.lastEpoch, Reductions: p.reductions})
}

// UnmarshalState implements Stateful; the next OnTrainBegin then keeps the
// restored state.
func (p *ReduceLROnPlateau) UnmarshalState(b []byte) error {
	st := plateauState{Kind: "ReduceLROnPlateau"}
	if err := unmarshalState(p.Name(), b, &st.Kind, &st); err != nil {
		return err
	}
	p.best, p.numBadEpochs, p.cooldownCounter, p.lastEpoch, p.reductions = float64(st.Best), st.NumBadEpochs, st.CooldownCounter, st.LastEpoch, st.Reductions
	p.resumed = true
	return nil
}

// monitored returns logs[key], or an error naming the key and the keys
// the logs do have: a monitor that never appears would otherwise make the
// callback a silent no-op.
func monitored(who, key string, logs Logs) (float64, error) {
	if v, ok := logs[key]; ok {
		return v, nil
	}
	keys := make([]string, 0, len(logs))
	for k := range logs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return 0, errors.Errorf("%s: monitor %q is not in the logs (they have: %s)", who, key, strings.Join(keys, ", "))
}
