package callbacks

import (
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// Option configures a callback or a schedule, in the style of Gorgonia's
// functional options (WithLearnRate, WithShape). Options are shared between
// constructors so that the same setting has the same name everywhere
// (WithPatience for EarlyStopping and ReduceLROnPlateau alike); a
// constructor given an option that does not apply to it returns an error
// naming the option, so a misplaced setting is never silently ignored.
type Option func(*config)

// config collects every option; applied records, in order, the names of the
// options given so that constructors can reject the ones they do not take.
type config struct {
	applied []string

	monitor            string
	mode               Mode
	patience           int
	factor             float64
	threshold          float64
	thresholdMode      ThresholdMode
	cooldown           int
	minLR              float64
	eps                float64
	minDelta           float64
	baseline           float64
	hasBaseline        bool
	restoreBestWeights bool
	startFromEpoch     int
	saveBestOnly       bool
	appendFile         bool
	separator          rune
	writer             io.Writer
	terminal           *bool
	refresh            time.Duration

	pctStart       float64
	anneal         Anneal
	divFactor      float64
	finalDivFactor float64
	threePhase     bool
}

func (c *config) mark(name string) { c.applied = append(c.applied, name) }

// apply runs opts over c and fails on the first option whose name is not in
// allowed. who names the constructor for the message.
func (c *config) apply(who string, allowed []string, opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return errors.Errorf("%s: nil Option", who)
		}
		o(c)
	}
	for _, name := range c.applied {
		ok := false
		for _, a := range allowed {
			if a == name {
				ok = true
				break
			}
		}
		if !ok {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			return errors.Errorf("%s: option %s does not apply (it takes %s)", who, name, strings.Join(sorted, ", "))
		}
	}
	return nil
}

// Mode tells a monitoring callback whether a smaller or a larger value of
// the monitored quantity is better.
type Mode string

const (
	// ModeAuto infers the direction from the monitor's name, as Keras does:
	// keys ending in "acc", "accuracy" or "auc" are maximised, all others
	// minimised. ReduceLROnPlateau, which follows PyTorch, does not take it.
	ModeAuto Mode = "auto"
	// ModeMin: lower is better (losses).
	ModeMin Mode = "min"
	// ModeMax: higher is better (accuracies).
	ModeMax Mode = "max"
)

// resolve turns ModeAuto into ModeMin or ModeMax for monitor and rejects
// unknown modes.
func (m Mode) resolve(who, monitor string, allowAuto bool) (Mode, error) {
	switch m {
	case ModeMin, ModeMax:
		return m, nil
	case ModeAuto:
		if !allowAuto {
			break
		}
		for _, suffix := range []string{"acc", "accuracy", "auc"} {
			if strings.HasSuffix(monitor, suffix) {
				return ModeMax, nil
			}
		}
		return ModeMin, nil
	}
	if allowAuto {
		return "", errors.Errorf("%s: mode %q, want \"auto\", \"min\" or \"max\"", who, string(m))
	}
	return "", errors.Errorf("%s: mode %q, want \"min\" or \"max\"", who, string(m))
}

// ThresholdMode says how ReduceLROnPlateau's threshold compares a value
// with the best so far, as PyTorch's threshold_mode does.
type ThresholdMode string

const (
	// ThresholdRel: in min mode a value improves when below best·(1−threshold),
	// in max mode when above best·(1+threshold).
	ThresholdRel ThresholdMode = "rel"
	// ThresholdAbs: in min mode a value improves when below best−threshold,
	// in max mode when above best+threshold.
	ThresholdAbs ThresholdMode = "abs"
)

// Anneal is OneCycleLR's interpolation between phases (PyTorch's
// anneal_strategy).
type Anneal string

const (
	// AnnealCos follows half a cosine wave (PyTorch's default).
	AnnealCos Anneal = "cos"
	// AnnealLinear interpolates linearly.
	AnnealLinear Anneal = "linear"
)

// WithMonitor sets the log key a callback watches ("val_loss" by default
// for EarlyStopping, ReduceLROnPlateau and ModelCheckpoint, "loss" for
// TerminateOnNaN).
func WithMonitor(key string) Option {
	return func(c *config) { c.mark("WithMonitor"); c.monitor = key }
}

// WithMode sets whether the monitored value should decrease (ModeMin) or
// increase (ModeMax); ModeAuto guesses from the key's name.
func WithMode(m Mode) Option {
	return func(c *config) { c.mark("WithMode"); c.mode = m }
}

// WithPatience sets how many epochs without improvement are tolerated
// before acting (stopping, or reducing the learning rate). It must be ≥ 0.
func WithPatience(epochs int) Option {
	return func(c *config) { c.mark("WithPatience"); c.patience = epochs }
}

// WithFactor sets the factor ReduceLROnPlateau multiplies the learning rate
// by, in (0, 1).
func WithFactor(f float64) Option {
	return func(c *config) { c.mark("WithFactor"); c.factor = f }
}

// WithThreshold sets ReduceLROnPlateau's minimum significant change (≥ 0),
// read according to WithThresholdMode.
func WithThreshold(t float64) Option {
	return func(c *config) { c.mark("WithThreshold"); c.threshold = t }
}

// WithThresholdMode sets whether ReduceLROnPlateau's threshold is relative
// (ThresholdRel, the default) or absolute (ThresholdAbs).
func WithThresholdMode(m ThresholdMode) Option {
	return func(c *config) { c.mark("WithThresholdMode"); c.thresholdMode = m }
}

// WithCooldown sets how many epochs ReduceLROnPlateau waits after a
// reduction before counting bad epochs again (≥ 0).
func WithCooldown(epochs int) Option {
	return func(c *config) { c.mark("WithCooldown"); c.cooldown = epochs }
}

// WithMinLR sets the learning rate below which ReduceLROnPlateau does not
// go (≥ 0).
func WithMinLR(lr float64) Option {
	return func(c *config) { c.mark("WithMinLR"); c.minLR = lr }
}

// WithEps sets the smallest change of learning rate ReduceLROnPlateau
// applies; a smaller reduction is skipped (≥ 0, PyTorch's eps).
func WithEps(eps float64) Option {
	return func(c *config) { c.mark("WithEps"); c.eps = eps }
}

// WithMinDelta sets the smallest change EarlyStopping counts as an
// improvement; its sign is ignored, as in Keras.
func WithMinDelta(d float64) Option {
	return func(c *config) { c.mark("WithMinDelta"); c.minDelta = d }
}

// WithBaseline sets a value EarlyStopping's monitor must beat: until it
// does, epochs count against the patience even when they improve.
func WithBaseline(b float64) Option {
	return func(c *config) { c.mark("WithBaseline"); c.baseline = b; c.hasBaseline = true }
}

// WithRestoreBestWeights makes EarlyStopping put back, when training ends,
// the weights of the epoch with the best monitored value.
func WithRestoreBestWeights(restore bool) Option {
	return func(c *config) { c.mark("WithRestoreBestWeights"); c.restoreBestWeights = restore }
}

// WithStartFromEpoch makes EarlyStopping ignore the first n epochs (a
// warm-up in which no improvement is expected); n ≥ 0.
func WithStartFromEpoch(n int) Option {
	return func(c *config) { c.mark("WithStartFromEpoch"); c.startFromEpoch = n }
}

// WithSaveBestOnly makes ModelCheckpoint write only when the monitored
// value improves on the best so far.
func WithSaveBestOnly(best bool) Option {
	return func(c *config) { c.mark("WithSaveBestOnly"); c.saveBestOnly = best }
}

// WithAppend makes CSVLogger append to an existing file (keeping its header
// and column order) instead of truncating it.
func WithAppend(appendRows bool) Option {
	return func(c *config) { c.mark("WithAppend"); c.appendFile = appendRows }
}

// WithSeparator sets CSVLogger's field separator (',' by default).
func WithSeparator(sep rune) Option {
	return func(c *config) { c.mark("WithSeparator"); c.separator = sep }
}

// WithWriter sets where ProgressBar and TerminateOnNaN write (os.Stdout and
// os.Stderr by default).
func WithWriter(w io.Writer) Option {
	return func(c *config) { c.mark("WithWriter"); c.writer = w }
}

// WithTerminal overrides ProgressBar's detection of a terminal: true draws
// the live per-batch bar, false prints one line per epoch.
func WithTerminal(isTerminal bool) Option {
	return func(c *config) { c.mark("WithTerminal"); c.terminal = &isTerminal }
}

// WithRefresh sets the shortest interval between two redraws of
// ProgressBar's live bar (100ms by default; > 0).
func WithRefresh(d time.Duration) Option {
	return func(c *config) { c.mark("WithRefresh"); c.refresh = d }
}

// WithPctStart sets the fraction of OneCycleLR's steps spent raising the
// learning rate, in [0, 1] (0.3 by default).
func WithPctStart(p float64) Option {
	return func(c *config) { c.mark("WithPctStart"); c.pctStart = p }
}

// WithAnnealStrategy sets OneCycleLR's interpolation (AnnealCos by default).
func WithAnnealStrategy(a Anneal) Option {
	return func(c *config) { c.mark("WithAnnealStrategy"); c.anneal = a }
}

// WithDivFactor sets OneCycleLR's initial learning rate to max_lr/d (> 0,
// 25 by default).
func WithDivFactor(d float64) Option {
	return func(c *config) { c.mark("WithDivFactor"); c.divFactor = d }
}

// WithFinalDivFactor sets OneCycleLR's final learning rate to
// initial_lr/d (> 0, 1e4 by default).
func WithFinalDivFactor(d float64) Option {
	return func(c *config) { c.mark("WithFinalDivFactor"); c.finalDivFactor = d }
}

// WithThreePhase makes OneCycleLR use fast.ai's three phases (up, down
// symmetrically, then annihilate) instead of two.
func WithThreePhase(three bool) Option {
	return func(c *config) { c.mark("WithThreePhase"); c.threePhase = three }
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
