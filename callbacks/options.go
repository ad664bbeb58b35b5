package callbacks

import (
	"io"
	"math"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// Options, in the style of Gorgonia's functional options (WithLearnRate,
// WithShape), with one option type per constructor so that a misplaced
// option is a compile error, not a run-time one.
//
// Each constructor takes its own option interface (EarlyStoppingOption,
// ReduceLROnPlateauOption, ...), whose one unexported method applies the
// option to that constructor's settings. An option for a single
// constructor returns that interface. An option several constructors take
// returns a named type that implements each of their interfaces, so the
// same setting keeps the same name everywhere (WithPatience for
// EarlyStopping and ReduceLROnPlateau alike) — the design OpenTelemetry's
// trace package uses for options shared by spans and events:
//
//	WithMonitor  → MonitorOption:  EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, TerminateOnNaN
//	WithMode     → ModeOption:     EarlyStopping, ReduceLROnPlateau, ModelCheckpoint
//	WithPatience → PatienceOption: EarlyStopping, ReduceLROnPlateau
//	WithWriter   → WriterOption:   ProgressBar, TerminateOnNaN
//
// The interfaces cannot be implemented outside the package: the set of
// settings is the package's to define. A nil option is an error from the
// constructor.

// applyAll applies every option through apply, refusing a nil one. who
// names the constructor for the message.
func applyAll[O comparable](who string, opts []O, apply func(O)) error {
	var none O
	for i, o := range opts {
		if o == none {
			return errors.Errorf("%s: option %d is nil", who, i)
		}
		apply(o)
	}
	return nil
}

// ---------------------------------------------------------------- one type per constructor

// EarlyStoppingOption configures NewEarlyStopping.
type EarlyStoppingOption interface {
	applyEarlyStopping(*earlyStoppingConfig)
}

// ReduceLROnPlateauOption configures NewReduceLROnPlateau.
type ReduceLROnPlateauOption interface {
	applyReduceLROnPlateau(*plateauConfig)
}

// ModelCheckpointOption configures NewModelCheckpoint.
type ModelCheckpointOption interface {
	applyModelCheckpoint(*checkpointConfig)
}

// CSVLoggerOption configures NewCSVLogger.
type CSVLoggerOption interface {
	applyCSVLogger(*csvLoggerConfig)
}

// ProgressBarOption configures NewProgressBar.
type ProgressBarOption interface {
	applyProgressBar(*progressBarConfig)
}

// TerminateOnNaNOption configures NewTerminateOnNaN.
type TerminateOnNaNOption interface {
	applyTerminateOnNaN(*nanConfig)
}

// OneCycleLROption configures OneCycleLR.
type OneCycleLROption interface {
	applyOneCycleLR(*oneCycleConfig)
}

type earlyStoppingConfig struct {
	monitor            string
	mode               Mode
	patience           int
	minDelta           float64
	baseline           float64
	hasBaseline        bool
	restoreBestWeights bool
	startFromEpoch     int
}

type plateauConfig struct {
	monitor       string
	mode          Mode
	patience      int
	factor        float64
	threshold     float64
	thresholdMode ThresholdMode
	cooldown      int
	minLR         float64
	eps           float64
}

type checkpointConfig struct {
	monitor      string
	mode         Mode
	saveBestOnly bool
}

type csvLoggerConfig struct {
	appendFile bool
	separator  rune
}

type progressBarConfig struct {
	writer   io.Writer
	terminal *bool
	refresh  time.Duration
}

type nanConfig struct {
	monitor string
	writer  io.Writer
}

type oneCycleConfig struct {
	pctStart       float64
	anneal         Anneal
	divFactor      float64
	finalDivFactor float64
	threePhase     bool
}

// The options of a single constructor are functions on its settings.

type earlyStoppingFunc func(*earlyStoppingConfig)

func (f earlyStoppingFunc) applyEarlyStopping(c *earlyStoppingConfig) { f(c) }

type plateauFunc func(*plateauConfig)

func (f plateauFunc) applyReduceLROnPlateau(c *plateauConfig) { f(c) }

type checkpointFunc func(*checkpointConfig)

func (f checkpointFunc) applyModelCheckpoint(c *checkpointConfig) { f(c) }

type csvLoggerFunc func(*csvLoggerConfig)

func (f csvLoggerFunc) applyCSVLogger(c *csvLoggerConfig) { f(c) }

type progressBarFunc func(*progressBarConfig)

func (f progressBarFunc) applyProgressBar(c *progressBarConfig) { f(c) }

type oneCycleFunc func(*oneCycleConfig)

func (f oneCycleFunc) applyOneCycleLR(c *oneCycleConfig) { f(c) }

// ---------------------------------------------------------------- options several constructors take

// MonitorOption is WithMonitor's option. It is an EarlyStoppingOption, a
// ReduceLROnPlateauOption, a ModelCheckpointOption and a
// TerminateOnNaNOption.
type MonitorOption struct{ key string }

// WithMonitor sets the log key a callback watches ("val_loss" by default
// for EarlyStopping, ReduceLROnPlateau and ModelCheckpoint, "loss" for
// TerminateOnNaN).
func WithMonitor(key string) MonitorOption { return MonitorOption{key} }

func (o MonitorOption) applyEarlyStopping(c *earlyStoppingConfig) { c.monitor = o.key }
func (o MonitorOption) applyReduceLROnPlateau(c *plateauConfig)   { c.monitor = o.key }
func (o MonitorOption) applyModelCheckpoint(c *checkpointConfig)  { c.monitor = o.key }
func (o MonitorOption) applyTerminateOnNaN(c *nanConfig)          { c.monitor = o.key }

// ModeOption is WithMode's option. It is an EarlyStoppingOption, a
// ReduceLROnPlateauOption and a ModelCheckpointOption.
type ModeOption struct{ mode Mode }

// WithMode sets whether the monitored value should decrease (ModeMin) or
// increase (ModeMax); ModeAuto guesses from the key's name.
func WithMode(m Mode) ModeOption { return ModeOption{m} }

func (o ModeOption) applyEarlyStopping(c *earlyStoppingConfig) { c.mode = o.mode }
func (o ModeOption) applyReduceLROnPlateau(c *plateauConfig)   { c.mode = o.mode }
func (o ModeOption) applyModelCheckpoint(c *checkpointConfig)  { c.mode = o.mode }

// PatienceOption is WithPatience's option. It is an EarlyStoppingOption
// and a ReduceLROnPlateauOption.
type PatienceOption struct{ epochs int }

// WithPatience sets how many epochs without improvement are tolerated
// before acting (stopping, or reducing the learning rate). It must be ≥ 0.
func WithPatience(epochs int) PatienceOption { return PatienceOption{epochs} }

func (o PatienceOption) applyEarlyStopping(c *earlyStoppingConfig) { c.patience = o.epochs }
func (o PatienceOption) applyReduceLROnPlateau(c *plateauConfig)   { c.patience = o.epochs }

// WriterOption is WithWriter's option. It is a ProgressBarOption and a
// TerminateOnNaNOption.
type WriterOption struct{ w io.Writer }

// WithWriter sets where ProgressBar and TerminateOnNaN write (os.Stdout and
// os.Stderr by default).
func WithWriter(w io.Writer) WriterOption { return WriterOption{w} }

func (o WriterOption) applyProgressBar(c *progressBarConfig) { c.writer = o.w }
func (o WriterOption) applyTerminateOnNaN(c *nanConfig)      { c.writer = o.w }

// ---------------------------------------------------------------- EarlyStopping

// WithMinDelta sets the smallest change EarlyStopping counts as an
// improvement; its sign is ignored, as in Keras.
func WithMinDelta(d float64) EarlyStoppingOption {
	return earlyStoppingFunc(func(c *earlyStoppingConfig) { c.minDelta = d })
}

// WithBaseline sets a value EarlyStopping's monitor must beat: until it
// does, epochs count against the patience even when they improve.
func WithBaseline(b float64) EarlyStoppingOption {
	return earlyStoppingFunc(func(c *earlyStoppingConfig) { c.baseline, c.hasBaseline = b, true })
}

// WithRestoreBestWeights makes EarlyStopping put back, when training ends,
// the weights of the epoch with the best monitored value.
func WithRestoreBestWeights(restore bool) EarlyStoppingOption {
	return earlyStoppingFunc(func(c *earlyStoppingConfig) { c.restoreBestWeights = restore })
}

// WithStartFromEpoch makes EarlyStopping ignore the first n epochs (a
// warm-up in which no improvement is expected); n ≥ 0.
func WithStartFromEpoch(n int) EarlyStoppingOption {
	return earlyStoppingFunc(func(c *earlyStoppingConfig) { c.startFromEpoch = n })
}

// ---------------------------------------------------------------- ReduceLROnPlateau

// WithFactor sets the factor ReduceLROnPlateau multiplies the learning rate
// by, in (0, 1).
func WithFactor(f float64) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.factor = f })
}

// WithThreshold sets ReduceLROnPlateau's minimum significant change (≥ 0),
// read according to WithThresholdMode.
func WithThreshold(t float64) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.threshold = t })
}

// WithThresholdMode sets whether ReduceLROnPlateau's threshold is relative
// (ThresholdRel, the default) or absolute (ThresholdAbs).
func WithThresholdMode(m ThresholdMode) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.thresholdMode = m })
}

// WithCooldown sets how many epochs ReduceLROnPlateau waits after a
// reduction before counting bad epochs again (≥ 0).
func WithCooldown(epochs int) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.cooldown = epochs })
}

// WithMinLR sets the learning rate below which ReduceLROnPlateau does not
// go (≥ 0).
func WithMinLR(lr float64) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.minLR = lr })
}

// WithEps sets the smallest change of learning rate ReduceLROnPlateau
// applies; a smaller reduction is skipped (≥ 0, PyTorch's eps).
func WithEps(eps float64) ReduceLROnPlateauOption {
	return plateauFunc(func(c *plateauConfig) { c.eps = eps })
}

// ---------------------------------------------------------------- ModelCheckpoint

// WithSaveBestOnly makes ModelCheckpoint write only when the monitored
// value improves on the best so far.
func WithSaveBestOnly(best bool) ModelCheckpointOption {
	return checkpointFunc(func(c *checkpointConfig) { c.saveBestOnly = best })
}

// ---------------------------------------------------------------- CSVLogger

// WithAppend makes CSVLogger append to an existing file (keeping its header
// and column order) instead of truncating it.
func WithAppend(appendRows bool) CSVLoggerOption {
	return csvLoggerFunc(func(c *csvLoggerConfig) { c.appendFile = appendRows })
}

// WithSeparator sets CSVLogger's field separator (',' by default).
func WithSeparator(sep rune) CSVLoggerOption {
	return csvLoggerFunc(func(c *csvLoggerConfig) { c.separator = sep })
}

// ---------------------------------------------------------------- ProgressBar

// WithTerminal overrides ProgressBar's detection of a terminal: true draws
// the live per-batch bar, false prints one line per epoch.
func WithTerminal(isTerminal bool) ProgressBarOption {
	return progressBarFunc(func(c *progressBarConfig) { c.terminal = &isTerminal })
}

// WithRefresh sets the shortest interval between two redraws of
// ProgressBar's live bar (100ms by default; > 0).
func WithRefresh(d time.Duration) ProgressBarOption {
	return progressBarFunc(func(c *progressBarConfig) { c.refresh = d })
}

// ---------------------------------------------------------------- OneCycleLR

// WithPctStart sets the fraction of OneCycleLR's steps spent raising the
// learning rate, in [0, 1] (0.3 by default).
func WithPctStart(p float64) OneCycleLROption {
	return oneCycleFunc(func(c *oneCycleConfig) { c.pctStart = p })
}

// WithAnnealStrategy sets OneCycleLR's interpolation (AnnealCos by default).
func WithAnnealStrategy(a Anneal) OneCycleLROption {
	return oneCycleFunc(func(c *oneCycleConfig) { c.anneal = a })
}

// WithDivFactor sets OneCycleLR's initial learning rate to max_lr/d (> 0,
// 25 by default).
func WithDivFactor(d float64) OneCycleLROption {
	return oneCycleFunc(func(c *oneCycleConfig) { c.divFactor = d })
}

// WithFinalDivFactor sets OneCycleLR's final learning rate to
// initial_lr/d (> 0, 1e4 by default).
func WithFinalDivFactor(d float64) OneCycleLROption {
	return oneCycleFunc(func(c *oneCycleConfig) { c.finalDivFactor = d })
}

// WithThreePhase makes OneCycleLR use fast.ai's three phases (up, down
// symmetrically, then annihilate) instead of two.
func WithThreePhase(three bool) OneCycleLROption {
	return oneCycleFunc(func(c *oneCycleConfig) { c.threePhase = three })
}

// ---------------------------------------------------------------- option values

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

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
