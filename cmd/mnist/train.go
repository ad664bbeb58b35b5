package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/pkg/errors"
	"golang.org/x/term"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/fastblas"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/train"
	"github.com/adamant-ml/adamant/tuning"
)

// Files of a run directory.
const (
	configFile  = "config.json"
	historyFile = "history.csv"
	bestFile    = "best.ckpt"
	lastFile    = "last.ckpt"
)

// epochKeys is the order of the per-epoch line's fields.
var epochKeys = []string{"epoch", callbacks.KeyLoss, callbacks.KeyAccuracy, callbacks.KeyValLoss, callbacks.KeyValAccuracy, callbacks.KeyLR, callbacks.KeyEpochSeconds, callbacks.KeyDataWaitSeconds}

// mnistData is the data split the way a config asks: training,
// validation (nil without -val-fraction) and test sets. Validation and test
// examples are normalised once, up front; so are the training examples
// unless the run augments them, since rotation and shifts must see the raw
// pixels (their fill is black, 0) and normalisation must come after them,
// per batch.
type mnistData struct {
	train, val, test *datasets.Dataset
	// rawTrain is set when train still holds raw pixels in [0, 1].
	rawTrain bool
	// norm is the normalisation every example gets (dataNormalization).
	norm datasets.Transform
}

// loadData reads the data -data-format names (MNIST offline by default),
// applies the limits, holds out the validation fraction with the run's
// seed and normalises. keepRawTrain leaves the training images raw for
// per-batch augmentation.
func loadData(ctx context.Context, c *config, progress io.Writer, keepRawTrain bool) (*mnistData, error) {
	train, test, err := readData(ctx, c, progress)
	if err != nil {
		return nil, err
	}
	if train, err = limitRows(c, train, c.TrainLimit); err != nil {
		return nil, errors.Wrap(err, "-train-limit")
	}
	if test, err = limitRows(c, test, c.TestLimit); err != nil {
		return nil, errors.Wrap(err, "-test-limit")
	}
	d := &mnistData{train: train, test: test, rawTrain: keepRawTrain}
	if c.ValFraction > 0 {
		if d.train, d.val, err = train.Split(c.ValFraction, c.Seed); err != nil {
			return nil, errors.Wrap(err, "-val-fraction")
		}
	}
	if d.norm, err = dataNormalization(c, d.train); err != nil {
		return nil, err
	}
	for _, ds := range []**datasets.Dataset{&d.train, &d.val, &d.test} {
		if *ds == nil || (ds == &d.train && keepRawTrain) {
			continue
		}
		if *ds, err = (*ds).Apply(c.Seed, d.norm); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// trainTransforms are the per-batch transforms of a run's training images.
func trainTransforms(c *config, data *mnistData) ([]datasets.Transform, error) {
	aug := buildAugmentation(c)
	if !data.rawTrain {
		if len(aug) > 0 {
			return nil, errors.New("augmentation needs the raw training images (internal error: they were normalised up front)")
		}
		return nil, nil
	}
	return append(aug, data.norm), nil
}

// hasAugmentation reports whether a configuration augments its batches.
func hasAugmentation(c *config) bool { return len(buildAugmentation(c)) > 0 }

// blasInstallers are the values of -blas and how to install each; gonum,
// Gorgonia's default, needs nothing. A build with the openblas tag adds
// "openblas".
var blasInstallers = map[string]func(threads int){
	"gonum": func(int) {},
	"fast":  func(threads int) { fastblas.Install(fastblas.WithThreads(threads)) },
}

// setThreads applies -threads and -blas. The BLAS is process-wide, so it is
// installed once, before any machine is built. blasThreads is what one run
// may split its work over (products and Adam steps): all threads for
// train, a share per parallel trial for tune.
func setThreads(c *config, blasThreads int) {
	runtime.GOMAXPROCS(c.Threads)
	c.SplitThreads = blasThreads
	blasInstallers[c.BLAS](blasThreads)
}

// runOutput says where a run writes and how chatty it is.
type runOutput struct {
	stdout, stderr io.Writer
	// quiet drops the progress bar and per-epoch lines (tune's trials).
	quiet bool
	// extra callbacks run after ours (tune's reporter).
	extra []callbacks.Callback
	// lines writes the per-epoch lines; nil writes text lines to stdout.
	lines *metricLines
}

// runResult is what a finished training run reports.
type runResult struct {
	history *callbacks.History
	test    graph.Metrics
	seconds float64
	// interrupted is set when ctx was cancelled; a checkpoint was saved.
	interrupted bool
	// stoppedEpoch is the epoch (1-based) early stopping stopped at, 0 if none.
	stoppedEpoch, bestEpoch int
}

// runTraining runs one configuration end to end: build, fit with callbacks, save,
// evaluate on the test set, plot.
func runTraining(ctx context.Context, c *config, data *mnistData, out runOutput) (*runResult, error) {
	start := time.Now()
	cfgJSON, err := marshalConfig(c)
	if err != nil {
		return nil, err
	}
	// The run's record, config.json, is written up front only into a
	// directory that has none; a resume, or a run into a directory that
	// has a record, rewrites it only once training has started, so that a
	// command that fails (a checkpoint that does not fit, a model that does
	// not build) leaves the record as it was. The checkpoints carry the
	// same bytes, so each describes its run on its own.
	record := filepath.Join(c.Out, configFile)
	createdOut := !fileExists(c.Out)
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, errors.Wrap(err, "-out")
	}
	if err := removeStaleTemps(c.Out, out.stderr); err != nil {
		return nil, err
	}
	writeRecord := func() error { return atomicfile.WriteBytes(record, cfgJSON) }
	recordLater := c.Resume != "" || fileExists(record)
	if !recordLater {
		if err := writeRecord(); err != nil {
			return nil, err
		}
	}
	res, err := fitAndTest(ctx, c, data, out, cfgJSON, start)
	if recordLater && res != nil && res.history != nil {
		if rerr := writeRecord(); rerr != nil && err == nil {
			err = rerr
		}
	}
	if createdOut && (res == nil || res.history == nil) {
		// Nothing was trained: leave no directory behind either.
		_ = os.Remove(record)
		_ = os.Remove(c.Out) // fails, as it should, when something else is in it
	}
	return res, err
}

// fitAndTest builds the model, solver and callbacks, trains, plots, and
// evaluates on the test set. res.history is nil when training never
// started.
func fitAndTest(ctx context.Context, c *config, data *mnistData, out runOutput, cfgJSON []byte, start time.Time) (*runResult, error) {
	model, err := buildModel(c)
	if err != nil {
		return nil, errors.Wrap(err, "building the model")
	}
	defer model.Close()
	solver, err := buildSolver(c)
	if err != nil {
		return nil, errors.Wrap(err, "building the optimizer")
	}
	batches := (data.train.Len() + c.BatchSize - 1) / c.BatchSize
	cbs, early, err := buildCallbacks(c, batches, data.val != nil, out)
	if err != nil {
		return nil, err
	}
	transforms, err := trainTransforms(c, data)
	if err != nil {
		return nil, err
	}
	fitOpts := []train.Option{
		train.WithEpochs(c.Epochs),
		train.WithCallbacks(cbs...),
		train.WithTrainLoaderOptions(datasets.WithTransforms(transforms...)),
		train.WithCheckpointSection(runSection, cfgJSON),
	}
	if data.val != nil {
		fitOpts = append(fitOpts, train.WithValidationData(data.val))
	}
	if c.Resume != "" {
		fitOpts = append(fitOpts, train.WithResume(c.Resume))
		if c.forceLR {
			// The solver state brings back the saved rate; a forced -lr is
			// what this run trains at (a schedule then moves it as before).
			fitOpts = append(fitOpts, train.WithAfterResume(func() error { return solver.SetLearningRate(c.LR) }))
		}
	}
	if !out.quiet {
		fmt.Fprintf(out.stderr, "%s\n%d training, %d validation, %d test images; run directory %s\n",
			model, data.train.Len(), lenOf(data.val), data.test.Len(), c.Out)
	}
	hist, fitErr := train.Fit(ctx, model, solver, data.train, fitOpts...)
	res := &runResult{history: hist}
	if early != nil && early.Stopped() {
		res.stoppedEpoch, res.bestEpoch = early.StoppedEpoch(), early.BestEpoch()
	}
	if fitErr != nil {
		res.interrupted = ctx.Err() != nil
		res.seconds = time.Since(start).Seconds()
		return res, fitErr
	}
	if c.Plots && hist != nil && len(hist.Epoch) > 0 {
		if err := plotHistory(hist, c.Out); err != nil {
			return res, errors.Wrap(err, "plots")
		}
	}
	res.test, err = model.Evaluate(ctx, data.test)
	if err != nil {
		return res, errors.Wrap(err, "test set")
	}
	res.seconds = time.Since(start).Seconds()
	return res, nil
}

func lenOf(d *datasets.Dataset) int {
	if d == nil {
		return 0
	}
	return d.Len()
}

// buildCallbacks assembles the callbacks in the order they must run:
// schedules and plateau first (they change lr before the logs are
// printed), early stopping, checkpoints and logs last.
func buildCallbacks(c *config, batchesPerEpoch int, hasVal bool, out runOutput) ([]callbacks.Callback, *callbacks.EarlyStopping, error) {
	var cbs []callbacks.Callback
	sched, err := buildSchedule(c, batchesPerEpoch)
	if err != nil {
		return nil, nil, err
	}
	if sched != nil {
		cbs = append(cbs, sched)
	}
	monitor := callbacks.KeyLoss
	if hasVal {
		monitor = callbacks.KeyValLoss
	}
	if c.Plateau {
		p, err := callbacks.NewReduceLROnPlateau(callbacks.WithMonitor(monitor), callbacks.WithFactor(c.PlateauFactor),
			callbacks.WithPatience(c.PlateauPatience), callbacks.WithMinLR(c.PlateauMinLR))
		if err != nil {
			return nil, nil, err
		}
		cbs = append(cbs, p)
	}
	var early *callbacks.EarlyStopping
	if c.EarlyStop > 0 {
		if early, err = callbacks.NewEarlyStopping(callbacks.WithMonitor(monitor), callbacks.WithPatience(c.EarlyStop),
			callbacks.WithMinDelta(c.EarlyStopDelta), callbacks.WithRestoreBestWeights(c.RestoreBest)); err != nil {
			return nil, nil, err
		}
		cbs = append(cbs, early)
	}
	best, err := callbacks.NewModelCheckpoint(filepath.Join(c.Out, bestFile), callbacks.WithMonitor(monitor), callbacks.WithSaveBestOnly(true))
	if err != nil {
		return nil, nil, err
	}
	csv, err := callbacks.NewCSVLogger(filepath.Join(c.Out, historyFile), callbacks.WithAppend(c.Resume != ""))
	if err != nil {
		return nil, nil, err
	}
	cbs = append(cbs, best, csv)
	// The bar runs before the epoch line goes to stdout: its epoch end
	// finishes the bar's line, so on a terminal (stdout and stderr on one
	// screen) the epoch line starts on a line of its own instead of being
	// glued to a half-drawn bar.
	bar, err := buildProgressBar(c, out)
	if err != nil {
		return nil, nil, err
	}
	if bar != nil {
		cbs = append(cbs, bar)
	}
	lastPath := filepath.Join(c.Out, lastFile)
	line := make(map[string]float64, len(epochKeys))
	lines := out.lines
	if lines == nil {
		lines = &metricLines{stdout: out.stdout}
	}
	cbs = append(cbs, callbacks.Lambda{
		EpochEnd: func(s *callbacks.State) error {
			if !out.quiet {
				clear(line)
				for k, v := range s.Logs {
					line[k] = v
				}
				line["epoch"] = float64(s.Epoch + 1)
				if err := lines.write(line, epochKeys...); err != nil {
					return err
				}
			}
			return s.Trainer.SaveCheckpoint(lastPath)
		},
		// An interrupted run saves where it stopped, mid-epoch, so that
		// -resume continues from the very next batch.
		TrainEnd: func(s *callbacks.State) error { return s.Trainer.SaveCheckpoint(lastPath) },
	})
	tb, err := tensorBoardCallback(c, out)
	if err != nil {
		return nil, nil, err
	}
	if tb != nil {
		cbs = append(cbs, tb)
	}
	cbs = append(cbs, out.extra...)
	return cbs, early, nil
}

// buildProgressBar returns the progress display -progress asks for, or nil.
func buildProgressBar(c *config, out runOutput) (*callbacks.ProgressBar, error) {
	if out.quiet || c.Progress == "none" {
		return nil, nil
	}
	opts := []callbacks.ProgressBarOption{callbacks.WithWriter(out.stderr)}
	switch c.Progress {
	case "bar":
		opts = append(opts, callbacks.WithTerminal(true))
	case "plain":
		opts = append(opts, callbacks.WithTerminal(false))
	case "auto":
		// Piped output gets the per-epoch lines only: the bar's plain
		// mode would repeat them.
		if f, ok := out.stderr.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, nil
		}
	}
	return callbacks.NewProgressBar(opts...)
}

// cmdTrain is `mnist train`.
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := defaultConfig()
	fs := newFlagSet("train", stderr)
	groups := registerTrainFlags(fs, &c)
	var mf metricFlags
	groups = append(groups, registerMetricFlags(fs, &mf))
	fs.Usage = func() {
		printUsage(stderr, fs, "usage: mnist [train] [flags]\n\nTrains a model on MNIST and reports the test accuracy. Defaults: the PyTorch\nexample's MLP 784-128-10, Adam lr 1e-3, batch 64, float32.", groups)
		fmt.Fprint(stderr, "\n"+commandList)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.ResumeForce && c.Resume == "" {
		return usagef("flag -resume-force needs -resume")
	}
	if c.Resume != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		resumed, err := resumeConfig(&c, set)
		if err != nil {
			return err
		}
		c = resumed
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := mf.validate(); err != nil {
		return err
	}
	if c.Out == "" {
		c.Out = defaultOut("train")
	}
	setThreads(&c, c.Threads)
	data, err := loadData(ctx, &c, stderr, hasAugmentation(&c) || c.ShowAugment != "")
	if err != nil {
		return err
	}
	if c.ShowAugment != "" {
		return showAugment(&c, data.train, stdout)
	}
	lines, err := openMetricLines(mf, stdout, c.Resume != "")
	if err != nil {
		return err
	}
	defer lines.close()
	stopProfiles, err := startProfiles(&c)
	if err != nil {
		return err
	}
	res, err := runTraining(ctx, &c, data, runOutput{stdout: stdout, stderr: stderr, lines: lines})
	if perr := stopProfiles(); perr != nil && err == nil {
		err = perr
	}
	if res != nil && res.interrupted {
		fmt.Fprintf(stderr, "interrupted: checkpoint saved; continue with: mnist train -resume %s\n", filepath.Join(c.Out, lastFile))
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if res.stoppedEpoch > 0 {
		fmt.Fprintf(stderr, "early stopping at epoch %d (best epoch %d)\n", res.stoppedEpoch, res.bestEpoch)
	}
	if err := lines.write(map[string]float64{
		"test_loss": res.test.Loss, "test_accuracy": res.test.Accuracy, "seconds": res.seconds,
	}, "test_loss", "test_accuracy", "seconds"); err != nil {
		return err
	}
	return lines.close()
}

// printMetrics writes one Katib-readable "name=value ..." line, rounded for
// people by roundMetrics (in place).
func printMetrics(w io.Writer, m map[string]float64, order ...string) error {
	roundMetrics(m)
	return tuning.FormatMetrics(w, m, order...)
}

// roundMetrics rounds metrics for people, in place: losses and accuracies
// to 4 decimals, learning rates to 3 significant digits, seconds to 2
// decimals; epoch and trial numbers stay as they are.
func roundMetrics(m map[string]float64) {
	for k, v := range m {
		switch {
		case k == callbacks.KeyLR:
			if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
				scale := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
				m[k] = math.Round(v*scale) / scale
			}
		case strings.HasSuffix(k, "seconds"):
			m[k] = math.Round(v*100) / 100
		case k != "epoch" && k != "trial":
			m[k] = math.Round(v*1e4) / 1e4
		}
	}
}

// showAugment writes -show-augment: eight training digits, each followed by
// augmented variants drawn with the run's seed.
func showAugment(c *config, train *datasets.Dataset, stdout io.Writer) error {
	ts := buildAugmentation(c)
	if len(ts) == 0 {
		return usagef("-show-augment needs at least one of -rotate, -shift, -flip")
	}
	if err := datasets.WriteAugmentationPNG(c.ShowAugment, train, 8, c.Seed, ts...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", c.ShowAugment)
	return nil
}

// startProfiles starts -cpuprofile and arms -memprofile; the returned
// function writes them.
func startProfiles(c *config) (func() error, error) {
	var cpu *os.File
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return nil, errors.Wrap(err, "-cpuprofile")
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, errors.Wrap(err, "-cpuprofile")
		}
		cpu = f
	}
	if c.MemProfile != "" {
		runtime.MemProfileRate = 1
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return errors.Wrap(err, "-cpuprofile")
			}
		}
		if c.MemProfile != "" {
			// The profile holds what the last completed GC saw: collect once
			// more so that the end of the run is in it.
			runtime.GC()
			return atomicfile.Write(c.MemProfile, func(w io.Writer) error {
				return pprof.Lookup("allocs").WriteTo(w, 0)
			})
		}
		return nil
	}, nil
}
