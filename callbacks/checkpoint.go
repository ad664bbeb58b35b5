package callbacks

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/pkg/errors"
)

// ModelCheckpoint saves a training checkpoint (weights, solver state, the
// loop's position and every Stateful callback, through
// Trainer.SaveCheckpoint, which writes atomically) at the end of every
// epoch, or, WithSaveBestOnly(true), only when the monitored value improves
// on the best so far, as Keras' ModelCheckpoint does.
//
// The path is a template: {epoch} is the 1-based epoch number (Keras'
// convention for file names) and {key} any log key, each optionally with a
// Python-style format spec, as in "ckpt/{epoch:03d}-{val_loss:.4f}.ckpt".
// Specs are d for the epoch and f, e or g with an optional width and
// precision for log values.
//
// It implements Stateful (the best value so far), so a resumed run saves
// "best only" exactly when the uninterrupted run would.
type ModelCheckpoint struct {
	Base
	template string
	parts    []pathPart
	monitor  string
	mode     Mode
	bestOnly bool

	best     float64
	lastPath string
	resumed  bool
}

// pathPart is literal text, or a {key:spec} field when key != "".
type pathPart struct {
	text string
	key  string
	verb string // a fmt verb such as "%03d" or "%.4f"
}

var fieldRE = regexp.MustCompile(`\{([^{}:]+)(?::([^{}]*))?\}`)
var intSpecRE = regexp.MustCompile(`^0?[0-9]*d$`)
var floatSpecRE = regexp.MustCompile(`^0?[0-9]*(\.[0-9]+)?[feg]$`)

// NewModelCheckpoint returns the callback with Keras' defaults: save every
// epoch; for best only, monitor "val_loss" in mode auto. Options:
// WithSaveBestOnly, WithMonitor, WithMode.
func NewModelCheckpoint(path string, opts ...ModelCheckpointOption) (*ModelCheckpoint, error) {
	const who = "ModelCheckpoint"
	c := checkpointConfig{monitor: KeyValLoss, mode: ModeAuto}
	if err := applyAll(who, opts, func(o ModelCheckpointOption) { o.applyModelCheckpoint(&c) }); err != nil {
		return nil, err
	}
	if c.monitor == "" {
		return nil, errors.Errorf("%s: monitor is empty, want a log key such as %q", who, KeyValLoss)
	}
	mode, err := c.mode.resolve(who, c.monitor, true)
	if err != nil {
		return nil, err
	}
	parts, err := parsePath(path)
	if err != nil {
		return nil, err
	}
	m := &ModelCheckpoint{template: path, parts: parts, monitor: c.monitor, mode: mode, bestOnly: c.saveBestOnly}
	m.reset()
	return m, nil
}

func parsePath(path string) ([]pathPart, error) {
	if path == "" {
		return nil, errors.New("ModelCheckpoint: path is empty")
	}
	var parts []pathPart
	last := 0
	for _, m := range fieldRE.FindAllStringSubmatchIndex(path, -1) {
		parts = append(parts, pathPart{text: path[last:m[0]]})
		key := path[m[2]:m[3]]
		spec := ""
		if m[4] >= 0 {
			spec = path[m[4]:m[5]]
		}
		p := pathPart{key: key}
		switch {
		case key == "epoch" && spec == "":
			p.verb = "%d"
		case key == "epoch" && intSpecRE.MatchString(spec):
			p.verb = "%" + spec
		case key == "epoch":
			return nil, errors.Errorf("ModelCheckpoint: path %q: {epoch:%s}, want an integer spec such as {epoch:03d}", path, spec)
		case spec == "":
			p.verb = "%v"
		case floatSpecRE.MatchString(spec):
			p.verb = "%" + spec
		default:
			return nil, errors.Errorf("ModelCheckpoint: path %q: {%s:%s}, want a float spec such as {%s:.4f}", path, key, spec, key)
		}
		parts = append(parts, p)
		last = m[1]
	}
	parts = append(parts, pathPart{text: path[last:]})
	for _, p := range parts {
		if p.key == "" && strings.ContainsAny(p.text, "{}") {
			return nil, errors.Errorf("ModelCheckpoint: path %q has an unbalanced { or }", path)
		}
	}
	return parts, nil
}

// Name implements Namer.
func (m *ModelCheckpoint) Name() string { return "ModelCheckpoint" }

// Best returns the best monitored value so far (±Inf before the first).
func (m *ModelCheckpoint) Best() float64 { return m.best }

// LastPath returns the path of the last checkpoint asked for, or "".
func (m *ModelCheckpoint) LastPath() string { return m.lastPath }

func (m *ModelCheckpoint) reset() {
	m.best = math.Inf(1)
	if m.mode == ModeMax {
		m.best = math.Inf(-1)
	}
}

// OnTrainBegin starts afresh, unless the callback was restored from a
// checkpoint.
func (m *ModelCheckpoint) OnTrainBegin(*State) error {
	if m.resumed {
		m.resumed = false
		return nil
	}
	m.reset()
	return nil
}

// OnEpochEnd saves the checkpoint when due.
func (m *ModelCheckpoint) OnEpochEnd(s *State) error {
	if m.bestOnly {
		v, err := monitored(m.Name(), m.monitor, s.Logs)
		if err != nil {
			return err
		}
		better := v < m.best
		if m.mode == ModeMax {
			better = v > m.best
		}
		if !better {
			return nil
		}
		m.best = v
	}
	path, err := m.path(s.Epoch, s.Logs)
	if err != nil {
		return err
	}
	if err := s.Trainer.SaveCheckpoint(path); err != nil {
		return errors.Wrapf(err, "%s: saving %s", m.Name(), path)
	}
	m.lastPath = path
	return nil
}

// path fills the template for epoch (0-based) and logs.
func (m *ModelCheckpoint) path(epoch int, logs Logs) (string, error) {
	var b strings.Builder
	for _, p := range m.parts {
		switch {
		case p.key == "":
			b.WriteString(p.text)
		case p.key == "epoch":
			fmt.Fprintf(&b, p.verb, epoch+1)
		default:
			v, ok := logs[p.key]
			if !ok {
				_, err := monitored(m.Name()+": path "+m.template, p.key, logs)
				return "", err
			}
			fmt.Fprintf(&b, p.verb, v)
		}
	}
	return b.String(), nil
}

type checkpointState struct {
	Kind string `json:"kind"`
	Best num    `json:"best"`
}

// MarshalState implements Stateful.
func (m *ModelCheckpoint) MarshalState() ([]byte, error) {
	return json.Marshal(checkpointState{Kind: "ModelCheckpoint", Best: num(m.best)})
}

// UnmarshalState implements Stateful; the next OnTrainBegin then keeps the
// restored best value.
func (m *ModelCheckpoint) UnmarshalState(b []byte) error {
	st := checkpointState{Kind: "ModelCheckpoint"}
	if err := unmarshalState(m.Name(), b, &st.Kind, &st); err != nil {
		return err
	}
	m.best, m.resumed = float64(st.Best), true
	return nil
}
