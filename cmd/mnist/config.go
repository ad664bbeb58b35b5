package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// config is everything a training run depends on. It is written to the run
// directory as config.json and into every checkpoint (runSection), read back
// by `mnist eval` to rebuild the model and by `mnist train -resume` as the
// resumed run's defaults; its JSON names are the flag names.
type config struct {
	// Version is the layout's version, configVersion.
	Version int `json:"config_version"`

	// Model.
	Model      string  `json:"model"`
	Hidden     []int   `json:"hidden"`
	Activation string  `json:"activation"`
	Dropout    float64 `json:"dropout"`
	Dtype      string  `json:"dtype"`

	// Optimizer.
	LR               float64 `json:"lr"`
	Beta1            float64 `json:"beta1"`
	Beta2            float64 `json:"beta2"`
	Eps              float64 `json:"eps"`
	EpsConvention    string  `json:"eps_convention"`
	WeightDecay      float64 `json:"weight_decay"`
	WeightDecayMode  string  `json:"weight_decay_mode"`
	NoDecayOnBiases  bool    `json:"no_decay_on_biases"`
	AMSGrad          bool    `json:"amsgrad"`
	ClipNorm         float64 `json:"clip_norm"`
	ClipValue        float64 `json:"clip_value"`
	Schedule         string  `json:"schedule"`
	ScheduleInterval string  `json:"schedule_interval"`
	StepSize         int     `json:"step_size"`
	Gamma            float64 `json:"gamma"`
	Milestones       []int   `json:"milestones"`
	TMax             int     `json:"t_max"`
	T0               int     `json:"t0"`
	TMult            int     `json:"t_mult"`
	EtaMin           float64 `json:"eta_min"`
	MaxLR            float64 `json:"max_lr"`
	WarmupEpochs     int     `json:"warmup_epochs"`
	WarmupFactor     float64 `json:"warmup_factor"`
	Plateau          bool    `json:"plateau"`
	PlateauFactor    float64 `json:"plateau_factor"`
	PlateauPatience  int     `json:"plateau_patience"`
	PlateauMinLR     float64 `json:"plateau_min_lr"`
	EarlyStop        int     `json:"early_stop"`
	EarlyStopDelta   float64 `json:"early_stop_delta"`
	RestoreBest      bool    `json:"restore_best"`

	// ScheduleEpochs, when > 0, replaces Epochs as the horizon of the
	// schedules whose settings follow the run's length (cosine without
	// -t-max, one-cycle). tune sets it to each trial's full budget, so that
	// a trial trained rung by rung follows the schedule an uninterrupted
	// run of that budget follows, and its checkpoint resumes exactly. It
	// has no flag: a resumed run keeps its checkpoint's.
	ScheduleEpochs int `json:"schedule_epochs,omitempty"`

	// Data and augmentation.
	Rotate      float64 `json:"rotate"`
	Flip        float64 `json:"flip"`
	Shift       int     `json:"shift"`
	Data        string  `json:"data"`
	Download    bool    `json:"download"`
	TrainLimit  int     `json:"train_limit"`
	TestLimit   int     `json:"test_limit"`
	ValFraction float64 `json:"val_fraction"`
	// dataConfig: -data-format and its options, -tensorboard, and what
	// training learnt about the data (shape, classes, standardisation).
	dataConfig

	// Training.
	Epochs    int    `json:"epochs"`
	BatchSize int    `json:"batch_size"`
	Seed      uint64 `json:"seed"`
	Threads   int    `json:"threads"`
	BLAS      string `json:"blas"`

	// Output.
	Out    string `json:"out"`
	Resume string `json:"resume"`
	// ResumeForce lets flags that change the trajectory override the
	// resumed checkpoint's settings.
	ResumeForce bool `json:"-"`
	// forceLR is set by resumeConfig when -resume-force changes -lr: the
	// resumed solver's rate is then set to LR after its state is restored.
	forceLR  bool
	Progress string `json:"progress"`
	Plots    bool   `json:"plots"`

	// ShowAugment, when set, writes a picture of augmented digits there
	// and exits without training.
	ShowAugment string `json:"-"`
	// CPUProfile and MemProfile receive pprof profiles of the training run.
	CPUProfile string `json:"-"`
	MemProfile string `json:"-"`
	// SplitThreads is how many threads one training run may split a
	// matrix product or an Adam step over: Threads for train, a share of
	// it per trial for tune (set by setThreads).
	SplitThreads int `json:"-"`
}

// defaultConfig is the classic PyTorch MNIST example's setup: MLP 784-128-10
// with ReLU, Adam(lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 64, float32.
// Five epochs reach ≥ 97.5% test accuracy (docs/guide.md has the runs).
func defaultConfig() config {
	return config{
		Version: configVersion,
		Model:   "mlp", Hidden: []int{128}, Activation: "relu", Dtype: "float32",
		LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, EpsConvention: "pytorch",
		WeightDecayMode: "l2", Schedule: "none", ScheduleInterval: "epoch",
		StepSize: 1, Gamma: 0.1, TMult: 1, WarmupFactor: 0.1,
		PlateauFactor: 0.1, PlateauPatience: 2,
		ValFraction: 0.1,
		Epochs:      5, BatchSize: 64, Seed: 1, Threads: runtime.NumCPU(), BLAS: "fast",
		Progress: "auto", Plots: true,
		dataConfig: defaultDataConfig(),
	}
}

// flagGroup lists the flags printed together under one heading in -h.
type flagGroup struct {
	title string
	names []string
}

// usageError is a bad flag value or command line; main exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// intList is a comma-separated list of positive integers flag.
type intList struct{ dst *[]int }

func (l intList) String() string {
	if l.dst == nil {
		return ""
	}
	parts := make([]string, len(*l.dst))
	for i, v := range *l.dst {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l intList) Set(s string) error {
	var out []int
	if strings.TrimSpace(s) != "" {
		for _, p := range strings.Split(s, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || v < 1 {
				return fmt.Errorf("%q is not a positive integer (want a comma-separated list such as 128,64)", p)
			}
			out = append(out, v)
		}
	}
	*l.dst = out
	return nil
}

// registerTrainFlags defines every training flag on fs, bound to c, and
// returns the groups -h prints them in.
func registerTrainFlags(fs *flag.FlagSet, c *config) []flagGroup {
	fs.StringVar(&c.Model, "model", c.Model, "model: mlp, or cnn (conv 16·5×5 → pool 2 → conv 32·5×5 → pool 2 → dense -hidden → dense 10)")
	fs.Var(intList{&c.Hidden}, "hidden", "`sizes` of the MLP's hidden layers, comma-separated (e.g. 256,128), or of the CNN's dense layer")
	fs.StringVar(&c.Activation, "activation", c.Activation, "activation: relu, leaky-relu (α=0.01) or elu (α=1)")
	fs.Float64Var(&c.Dropout, "dropout", c.Dropout, "dropout probability after each hidden layer, in [0, 1)")
	fs.StringVar(&c.Dtype, "dtype", c.Dtype, "float32 or float64")

	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, ≥ 0")
	fs.Float64Var(&c.Beta1, "beta1", c.Beta1, "Adam β1, in [0, 1)")
	fs.Float64Var(&c.Beta2, "beta2", c.Beta2, "Adam β2, in [0, 1)")
	fs.Float64Var(&c.Eps, "eps", c.Eps, "Adam ε, > 0")
	fs.StringVar(&c.EpsConvention, "eps-convention", c.EpsConvention, "where ε sits: pytorch (after the bias-corrected √v) or keras (ε̂, before bias correction)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "weight decay, ≥ 0 (see -weight-decay-mode)")
	fs.StringVar(&c.WeightDecayMode, "weight-decay-mode", c.WeightDecayMode, "l2 (added to the gradient, PyTorch Adam) or decoupled (AdamW)")
	fs.BoolVar(&c.NoDecayOnBiases, "no-decay-biases", c.NoDecayOnBiases, "exempt biases from weight decay")
	fs.BoolVar(&c.AMSGrad, "amsgrad", c.AMSGrad, "use AMSGrad's running maximum of v")
	fs.Float64Var(&c.ClipNorm, "clip-norm", c.ClipNorm, "clip gradients to this global L2 norm (0: off)")
	fs.Float64Var(&c.ClipValue, "clip-value", c.ClipValue, "clip each gradient element to ±value (0: off)")

	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate schedule: "+strings.Join(scheduleNames, ", "))
	fs.StringVar(&c.ScheduleInterval, "schedule-every", c.ScheduleInterval, "step the schedule every epoch or every batch")
	fs.IntVar(&c.StepSize, "step-size", c.StepSize, "step: decay every N epochs (or batches with -schedule-every batch)")
	fs.Float64Var(&c.Gamma, "gamma", c.Gamma, "step, multistep, exponential: decay factor in (0, 1]")
	fs.Var(intList{&c.Milestones}, "milestones", "multistep: `epochs` (or batches) at which lr is multiplied by -gamma, e.g. 3,6")
	fs.IntVar(&c.TMax, "t-max", c.TMax, "cosine: period in epochs or batches (0: the whole run)")
	fs.IntVar(&c.T0, "t0", c.T0, "warm-restarts: length of the first cycle (0: 1 epoch, or 1 epoch of batches)")
	fs.IntVar(&c.TMult, "t-mult", c.TMult, "warm-restarts: cycle length multiplier, ≥ 1")
	fs.Float64Var(&c.EtaMin, "eta-min", c.EtaMin, "cosine, warm-restarts: lowest learning rate, ≥ 0")
	fs.Float64Var(&c.MaxLR, "max-lr", c.MaxLR, "one-cycle: peak learning rate (0: 10 × -lr)")
	fs.IntVar(&c.WarmupEpochs, "warmup", c.WarmupEpochs, "linear warm-up over N epochs (or batches) before the schedule, 0: off")
	fs.Float64Var(&c.WarmupFactor, "warmup-factor", c.WarmupFactor, "warm-up starts at lr × factor, in (0, 1]")

	fs.BoolVar(&c.Plateau, "plateau", c.Plateau, "reduce the learning rate when val_loss stops improving")
	fs.Float64Var(&c.PlateauFactor, "plateau-factor", c.PlateauFactor, "plateau: lr multiplier, in (0, 1)")
	fs.IntVar(&c.PlateauPatience, "plateau-patience", c.PlateauPatience, "plateau: epochs without improvement before reducing, ≥ 0")
	fs.Float64Var(&c.PlateauMinLR, "plateau-min-lr", c.PlateauMinLR, "plateau: lowest learning rate, ≥ 0")
	fs.IntVar(&c.EarlyStop, "early-stop", c.EarlyStop, "stop after N epochs without val_loss improvement (0: off)")
	fs.Float64Var(&c.EarlyStopDelta, "early-stop-delta", c.EarlyStopDelta, "early stopping: smallest change that counts as improvement, ≥ 0")
	fs.BoolVar(&c.RestoreBest, "restore-best", c.RestoreBest, "early stopping: restore the best epoch's weights at the end")

	fs.Float64Var(&c.Rotate, "rotate", c.Rotate, "augmentation: random rotation by up to ± degrees, in [0, 180]")
	fs.Float64Var(&c.Flip, "flip", c.Flip, "augmentation: horizontal flip probability, in [0, 1]")
	fs.IntVar(&c.Shift, "shift", c.Shift, "augmentation: random shift by up to ± pixels, in [0, 14]")
	fs.StringVar(&c.Data, "data", c.Data, "training data, as -data-format says: for idx the MNIST directory (default: $ADAMANT_MNIST_DIR, the user cache, then the copy in the Go module cache)")
	registerDataFlags(fs, &c.dataConfig)
	fs.BoolVar(&c.Download, "download", c.Download, "allow downloading MNIST when no local copy is found")
	fs.IntVar(&c.TrainLimit, "train-limit", c.TrainLimit, "use only N training examples: the first N for idx, N drawn with -seed for csv, tsv and images (0: all; MNIST has 60,000)")
	fs.IntVar(&c.TestLimit, "test-limit", c.TestLimit, "use only N test examples, chosen as for -train-limit (0: all; MNIST has 10,000)")
	fs.Float64Var(&c.ValFraction, "val-fraction", c.ValFraction, "fraction of the training set held out for validation, in [0, 1)")

	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "number of epochs, ≥ 1")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "mini-batch size, ≥ 1")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed for initialisation, shuffling, dropout and augmentation")
	fs.IntVar(&c.Threads, "threads", c.Threads, "CPU threads (GOMAXPROCS, matrix products and Adam steps), ≥ 1; default: the number of CPUs")
	fs.StringVar(&c.BLAS, "blas", c.BLAS, "matrix multiplication: fast (our AVX2/AVX-512 kernels, multi-threaded), gonum (Gorgonia's default), or openblas (builds with -tags openblas)")

	fs.StringVar(&c.Out, "out", c.Out, "run directory (default runs/<command>-<time>)")
	fs.StringVar(&c.Resume, "resume", c.Resume, "resume from a checkpoint written by a previous run (its last.ckpt), with the run's own settings; flags given may change only -epochs, -out, -progress, -plots, -threads, -data, -test-limit and early stopping's thresholds")
	fs.BoolVar(&c.ResumeForce, "resume-force", c.ResumeForce, "with -resume: let flags override the checkpoint's settings even where that changes the run's trajectory (model, data subset, batch size, seed, -lr, schedule); Adam's other settings come back with its saved state and cannot change")
	fs.StringVar(&c.Progress, "progress", c.Progress, "progress display: auto (bar on a terminal), bar, plain or none")
	fs.BoolVar(&c.Plots, "plots", c.Plots, "write PNG plots of loss, accuracy and learning rate")
	fs.StringVar(&c.CPUProfile, "cpuprofile", c.CPUProfile, "write a pprof CPU profile of training to this file")
	fs.StringVar(&c.MemProfile, "memprofile", c.MemProfile, "write a pprof allocation profile (every allocation sampled) to this file")
	fs.StringVar(&c.ShowAugment, "show-augment", c.ShowAugment, "write a PNG of training digits under -rotate/-shift/-flip to this file and exit")

	return []flagGroup{
		{"Model", []string{"model", "hidden", "activation", "dropout", "dtype"}},
		{"Optimizer (Adam)", []string{"lr", "beta1", "beta2", "eps", "eps-convention", "weight-decay", "weight-decay-mode", "no-decay-biases", "amsgrad", "clip-norm", "clip-value"}},
		{"Learning-rate schedule", []string{"schedule", "schedule-every", "step-size", "gamma", "milestones", "t-max", "t0", "t-mult", "eta-min", "max-lr", "warmup", "warmup-factor"}},
		{"Plateau and early stopping", []string{"plateau", "plateau-factor", "plateau-patience", "plateau-min-lr", "early-stop", "early-stop-delta", "restore-best"}},
		{"Data and augmentation", []string{"data", "data-format", "test-data", "label-column", "image-size", "color", "download", "train-limit", "test-limit", "val-fraction", "rotate", "flip", "shift"}},
		{"Training", []string{"epochs", "batch-size", "seed", "threads", "blas"}},
		{"Output", []string{"out", "resume", "resume-force", "progress", "plots", "tensorboard", "tensorboard-batches", "show-augment", "cpuprofile", "memprofile"}},
	}
}

// scheduleNames are the values -schedule accepts.
var scheduleNames = []string{"none", "step", "multistep", "exponential", "cosine", "warm-restarts", "one-cycle"}

// validate checks every value before any work starts; errors name the flag
// and its valid range.
func (c *config) validate() error {
	type check struct {
		bad  bool
		flag string
		val  any
		want string
	}
	nan := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	checks := []check{
		{c.Model != "mlp" && c.Model != "cnn", "model", c.Model, "mlp or cnn"},
		{len(c.Hidden) == 0 && c.Model == "cnn", "hidden", "", "one size for the CNN's dense layer"},
		{c.Activation != "relu" && c.Activation != "leaky-relu" && c.Activation != "elu", "activation", c.Activation, "relu, leaky-relu or elu"},
		{nan(c.Dropout) || c.Dropout < 0 || c.Dropout >= 1, "dropout", c.Dropout, "[0, 1)"},
		{c.Dtype != "float32" && c.Dtype != "float64", "dtype", c.Dtype, "float32 or float64"},
		{nan(c.LR) || c.LR < 0, "lr", c.LR, "≥ 0"},
		{nan(c.Beta1) || c.Beta1 < 0 || c.Beta1 >= 1, "beta1", c.Beta1, "[0, 1)"},
		{nan(c.Beta2) || c.Beta2 < 0 || c.Beta2 >= 1, "beta2", c.Beta2, "[0, 1)"},
		{nan(c.Eps) || c.Eps <= 0, "eps", c.Eps, "> 0"},
		{c.EpsConvention != "pytorch" && c.EpsConvention != "keras", "eps-convention", c.EpsConvention, "pytorch or keras"},
		{nan(c.WeightDecay) || c.WeightDecay < 0, "weight-decay", c.WeightDecay, "≥ 0"},
		{c.WeightDecayMode != "l2" && c.WeightDecayMode != "decoupled", "weight-decay-mode", c.WeightDecayMode, "l2 or decoupled"},
		{nan(c.ClipNorm) || c.ClipNorm < 0, "clip-norm", c.ClipNorm, "≥ 0 (0: off)"},
		{nan(c.ClipValue) || c.ClipValue < 0, "clip-value", c.ClipValue, "≥ 0 (0: off)"},
		{!slices.Contains(scheduleNames, c.Schedule), "schedule", c.Schedule, strings.Join(scheduleNames, ", ")},
		{c.ScheduleInterval != "epoch" && c.ScheduleInterval != "batch", "schedule-every", c.ScheduleInterval, "epoch or batch"},
		{c.StepSize < 1, "step-size", c.StepSize, "≥ 1"},
		{nan(c.Gamma) || c.Gamma <= 0 || c.Gamma > 1, "gamma", c.Gamma, "(0, 1]"},
		{c.Schedule == "multistep" && len(c.Milestones) == 0, "milestones", "", "at least one milestone for -schedule multistep"},
		{c.TMax < 0, "t-max", c.TMax, "≥ 0"},
		{c.T0 < 0, "t0", c.T0, "≥ 0"},
		{c.TMult < 1, "t-mult", c.TMult, "≥ 1"},
		{nan(c.EtaMin) || c.EtaMin < 0, "eta-min", c.EtaMin, "≥ 0"},
		{nan(c.MaxLR) || c.MaxLR < 0, "max-lr", c.MaxLR, "≥ 0 (0: 10 × -lr)"},
		{c.WarmupEpochs < 0, "warmup", c.WarmupEpochs, "≥ 0"},
		{nan(c.WarmupFactor) || c.WarmupFactor <= 0 || c.WarmupFactor > 1, "warmup-factor", c.WarmupFactor, "(0, 1]"},
		{nan(c.PlateauFactor) || c.PlateauFactor <= 0 || c.PlateauFactor >= 1, "plateau-factor", c.PlateauFactor, "(0, 1)"},
		{c.PlateauPatience < 0, "plateau-patience", c.PlateauPatience, "≥ 0"},
		{nan(c.PlateauMinLR) || c.PlateauMinLR < 0, "plateau-min-lr", c.PlateauMinLR, "≥ 0"},
		{c.EarlyStop < 0, "early-stop", c.EarlyStop, "≥ 0 (0: off)"},
		{nan(c.EarlyStopDelta) || c.EarlyStopDelta < 0, "early-stop-delta", c.EarlyStopDelta, "≥ 0"},
		{nan(c.Rotate) || c.Rotate < 0 || c.Rotate > 180, "rotate", c.Rotate, "[0, 180] degrees"},
		{nan(c.Flip) || c.Flip < 0 || c.Flip > 1, "flip", c.Flip, "[0, 1]"},
		{c.Shift < 0 || c.Shift > 14, "shift", c.Shift, "[0, 14] pixels"},
		{c.TrainLimit < 0, "train-limit", c.TrainLimit, "≥ 0 (0: all)"},
		{c.TestLimit < 0, "test-limit", c.TestLimit, "≥ 0 (0: all)"},
		{nan(c.ValFraction) || c.ValFraction < 0 || c.ValFraction >= 1, "val-fraction", c.ValFraction, "[0, 1)"},
		{c.Epochs < 1, "epochs", c.Epochs, "≥ 1"},
		{c.BatchSize < 1, "batch-size", c.BatchSize, "≥ 1"},
		{c.Threads < 1, "threads", c.Threads, "≥ 1"},
		{blasInstallers[c.BLAS] == nil, "blas", c.BLAS, blasNames()},
		{c.Progress != "auto" && c.Progress != "bar" && c.Progress != "plain" && c.Progress != "none", "progress", c.Progress, "auto, bar, plain or none"},
	}
	for _, ch := range checks {
		if ch.bad {
			return usagef("invalid value %v for flag -%s: want %s", fmtValue(ch.val), ch.flag, ch.want)
		}
	}
	if (c.Plateau || c.EarlyStop > 0) && c.ValFraction == 0 {
		return usagef("-plateau and -early-stop watch val_loss: set -val-fraction > 0")
	}
	if err := c.validateData(); err != nil {
		return err
	}
	if c.Resume != "" {
		if _, err := os.Stat(c.Resume); err != nil {
			return usagef("invalid value %q for flag -resume: %v", c.Resume, err)
		}
	}
	return checkMemory(c, 1)
}

// blasNames lists the -blas values this build accepts.
func blasNames() string {
	names := make([]string, 0, len(blasInstallers))
	for n := range blasInstallers {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func fmtValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// defaultOut names a fresh run directory.
func defaultOut(command string) string {
	return "runs/" + command + "-" + time.Now().Format("20060102-150405")
}

// printUsage writes -h: the synopsis, then each group's flags with their
// defaults.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string, groups []flagGroup) {
	fmt.Fprintln(w, synopsis)
	seen := map[string]bool{}
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			seen[name] = true
			printFlag(w, f)
		}
	}
	var rest []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !seen[f.Name] {
			rest = append(rest, f)
		}
	})
	if len(rest) > 0 {
		sort.Slice(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
		fmt.Fprintln(w, "\nOther:")
		for _, f := range rest {
			printFlag(w, f)
		}
	}
}

func printFlag(w io.Writer, f *flag.Flag) {
	kind, usage := flag.UnquoteUsage(f)
	head := "  -" + f.Name
	if kind != "" {
		head += " " + kind
	}
	def := ""
	// A usage that explains its default itself (a machine-dependent one)
	// gets no "(default …)" of this machine's value.
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && !strings.Contains(usage, "default:") {
		def = " (default " + f.DefValue + ")"
	}
	fmt.Fprintf(w, "%-28s %s%s\n", head, usage, def)
}

// writeJSON writes v as indented JSON atomically.
func marshalConfig(c *config) ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
