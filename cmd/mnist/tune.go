package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/tuning"
)

// untunable are flags that shape the data, the machine or the output:
// every trial of a search shares them.
var untunable = []string{"data", "download", "train-limit", "test-limit", "val-fraction", "seed",
	"threads", "blas", "out", "resume", "progress", "plots", "show-augment", "cpuprofile", "memprofile"}

// searchFlags are the flags of the search itself, as -h groups them; they
// cannot be searched.
var searchFlags = []string{"strategy", "space", "trials", "grid-points", "workers", "metric", "maximize", "min-epochs", "eta",
	"rounds", "tpe-startup", "tpe-multivariate", "pruner", "pruner-warmup", "pruner-min-trials", "max-trials", "search-seed"}

// tuneFlags are the search's own settings.
type tuneFlags struct {
	strategy   string
	space      string
	trials     int
	gridPoints int
	workers    int
	metric     string
	maximize   bool
	minEpochs  int
	eta        int
	maxTrials  int
	searchSeed uint64
	tpeStartup int
	tpeJoint   bool
	rounds     int
	pruner     string
	warmup     int
	minTrials  int
}

// cmdTune is `mnist tune`: a search over the training flags.
func cmdTune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := defaultConfig()
	c.Epochs = 3
	fs := newFlagSet("tune", stderr)
	groups := registerTuneTrainFlags(fs, &c)
	t := tuneFlags{strategy: "random", space: "lr=log:1e-4:1e-2,beta1=0.8|0.9|0.95", trials: 8, gridPoints: 3,
		workers: 1, metric: callbacks.KeyValLoss, minEpochs: 1, eta: 3, maxTrials: 1000, searchSeed: 1,
		tpeStartup: tuning.DefaultTPEStartupTrials, pruner: "none", warmup: 1, minTrials: 3, rounds: 1}
	fs.StringVar(&t.strategy, "strategy", t.strategy, "grid, random, tpe (learns from finished trials), halving (successive halving: prune weak trials early), hyperband (several halving brackets), asha (asynchronous halving) or bohb (hyperband brackets whose configurations a TPE model proposes)")
	fs.StringVar(&t.space, "space", t.space, "search space: name=values,... over training flags; values are a|b|c, log:LO:HI, uniform:LO:HI or int:LO:HI")
	fs.IntVar(&t.trials, "trials", t.trials, "random, tpe, halving, asha: number of configurations, ≥ 1 (hyperband: set by its bracket table)")
	fs.IntVar(&t.gridPoints, "grid-points", t.gridPoints, "grid: points per continuous range, ≥ 2")
	fs.IntVar(&t.workers, "workers", t.workers, "trials run in parallel, ≥ 1 (each splits its products and Adam steps over -threads/workers threads)")
	fs.StringVar(&t.metric, "metric", t.metric, "metric that ranks trials: val_loss, val_accuracy, loss, accuracy, test_loss, test_accuracy")
	fs.BoolVar(&t.maximize, "maximize", t.maximize, "rank by the largest metric (default: smallest; set for accuracies)")
	fs.IntVar(&t.minEpochs, "min-epochs", t.minEpochs, "halving, hyperband, asha, bohb, -pruner halving: epochs of the first rung, ≥ 1 (the last rung trains -epochs)")
	fs.IntVar(&t.eta, "eta", t.eta, "halving, hyperband, asha, bohb, -pruner halving: keep the best 1/eta of each rung, ≥ 2")
	fs.IntVar(&t.rounds, "rounds", t.rounds, "hyperband, bohb: times its bracket table runs, each with new configurations, ≥ 1")
	fs.IntVar(&t.tpeStartup, "tpe-startup", t.tpeStartup, "tpe: random trials before the model takes over, ≥ 1")
	fs.BoolVar(&t.tpeJoint, "tpe-multivariate", t.tpeJoint, "tpe: model the dimensions jointly (bohb always does)")
	fs.StringVar(&t.pruner, "pruner", t.pruner, "grid, random, tpe: stop weak trials early: none, median (median stopping) or halving (successive-halving rule)")
	fs.IntVar(&t.warmup, "pruner-warmup", t.warmup, "-pruner median: epochs every trial trains before it can be stopped, ≥ 0")
	fs.IntVar(&t.minTrials, "pruner-min-trials", t.minTrials, "-pruner median: completed trials needed at an epoch before stopping anyone there, ≥ 1")
	fs.IntVar(&t.maxTrials, "max-trials", t.maxTrials, "refuse a search of more trials than this")
	fs.Uint64Var(&t.searchSeed, "search-seed", t.searchSeed, "seed that draws the configurations")
	groups = append([]flagGroup{{"Search", searchFlags}}, groups...)
	fs.Usage = func() {
		printUsage(stderr, fs, "usage: mnist tune [flags]\n\nSearches the training flags named in -space; every other training flag is\nthe base configuration all trials share (-epochs defaults to 3 here).", groups)
	}
	if err := refuseNotTuneFlags(args); err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	space, err := tuning.ParseSpace(t.space)
	if err != nil {
		return usagef("invalid value %q for flag -space: %v", t.space, err)
	}
	for _, d := range space.Dimensions() {
		name := d.Name()
		if fs.Lookup(name) == nil || slices.Contains(untunable, name) || slices.Contains(searchFlags, name) {
			return usagef("invalid value for flag -space: %q is not a training flag that can be searched", name)
		}
	}
	if err := checkSpaceValues(c, space, t.workers); err != nil {
		return err
	}
	strategy, err := t.build(c.Epochs)
	if err != nil {
		return err
	}
	pruner, err := t.buildPruner(c.Epochs)
	if err != nil {
		return err
	}
	if c.Out == "" {
		c.Out = defaultOut("tune")
	}
	setThreads(&c, max(1, c.Threads/t.workers))
	// Trials that augment need raw training images; the others get them
	// normalised once for the whole search.
	augmented := hasAugmentation(&c)
	for _, d := range space.Dimensions() {
		augmented = augmented || slices.Contains([]string{"rotate", "shift", "flip"}, d.Name())
	}
	data, err := loadData(ctx, &c, stderr, augmented)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return errors.Wrap(err, "-out")
	}
	if err := removeStaleTemps(c.Out, stderr); err != nil {
		return err
	}
	base := c
	objective := func(ctx context.Context, tr tuning.Trial, r tuning.Reporter) (map[string]float64, error) {
		tc, err := trialConfig(base, tr)
		if err != nil {
			return nil, err
		}
		res, err := runTraining(ctx, &tc, data, runOutput{stdout: io.Discard, stderr: io.Discard, quiet: true,
			extra: []callbacks.Callback{tuning.ReportCallback(r)}})
		if err != nil {
			return nil, err
		}
		m := map[string]float64{"test_loss": res.test.Loss, "test_accuracy": res.test.Accuracy, "seconds": res.seconds}
		h := res.history
		for k, vs := range h.History {
			if len(vs) > 0 {
				m[k] = vs[len(vs)-1]
			}
		}
		m["epochs"] = float64(len(h.Epoch))
		return m, nil
	}
	progress := func(r tuning.Result) {
		line := map[string]float64{"trial": float64(r.Trial.ID), "epochs": float64(r.Trial.Epochs)}
		for k, v := range r.Metrics {
			line[k] = v
		}
		fmt.Fprintf(stderr, "trial %d %s %s: ", r.Trial.ID, formatParams(r.Trial.Params), r.Status)
		_ = tuning.FormatMetrics(stderr, line, "trial", t.metric, "test_accuracy", "seconds")
		if r.Err != "" && r.Status != tuning.StatusCancelled {
			fmt.Fprintf(stderr, "trial %d %s: %s\n", r.Trial.ID, r.Status, r.Err)
		}
	}
	stopProfiles, err := startProfiles(&c)
	if err != nil {
		return err
	}
	board, runErr := tuning.Run(ctx, space, strategy, objective, pruner,
		tuning.WithConcurrentTrials(t.workers), tuning.WithMetric(t.metric, !t.maximize),
		tuning.WithResultsDir(c.Out), tuning.WithMaxTrials(t.maxTrials), tuning.WithOnTrialEnd(progress))
	if err := stopProfiles(); err != nil && runErr == nil {
		runErr = err
	}
	var tooMany *tuning.TooManyTrialsError
	if errors.As(runErr, &tooMany) {
		hint := ""
		if tooMany.Hint != "" {
			hint = tooMany.Hint + " or "
		}
		return usagef("%s has %s trials, more than -max-trials %d; %sraise -max-trials", tooMany.Search, tooMany.Size, tooMany.Max, hint)
	}
	if board != nil {
		fmt.Fprintln(stdout, board.String())
		reportSearch(board, space, c.Out, c.Plots, stdout, stderr)
		if err := atomicfile.Write(filepath.Join(c.Out, "leaderboard.csv"), board.WriteCSV); err != nil {
			return err
		}
		if c.Plots {
			if err := plotTuning(board, t.metric, filepath.Join(c.Out, "tune.png")); err != nil {
				fmt.Fprintf(stderr, "no tuning plot: %v\n", err)
			}
		}
		if best, ok := board.Best(); ok {
			fmt.Fprintf(stdout, "best trial %d: %s\n", best.Trial.ID, formatParams(best.Trial.Params))
			if err := tuning.FormatMetrics(stdout, best.Metrics, t.metric, "test_loss", "test_accuracy"); err != nil {
				return err
			}
		}
	}
	if runErr != nil && ctx.Err() != nil {
		fmt.Fprintf(stderr, "interrupted: finished trials are in %s; resume the search with:\n  %s\n", c.Out, resumeCommand(args, c.Out))
		return errInterrupted
	}
	if runErr == nil && board != nil {
		runErr = noTrialSucceeded(board)
	}
	return runErr
}

// build validates the search flags and returns the strategy.
func (t *tuneFlags) build(epochs int) (tuning.Strategy, error) {
	switch {
	case t.trials < 1:
		return nil, usagef("invalid value %d for flag -trials: want ≥ 1", t.trials)
	case t.gridPoints < 2:
		return nil, usagef("invalid value %d for flag -grid-points: want ≥ 2", t.gridPoints)
	case t.workers < 1:
		return nil, usagef("invalid value %d for flag -workers: want ≥ 1", t.workers)
	case t.maxTrials < 1:
		return nil, usagef("invalid value %d for flag -max-trials: want ≥ 1", t.maxTrials)
	case !slices.Contains([]string{"val_loss", "val_accuracy", "loss", "accuracy", "test_loss", "test_accuracy"}, t.metric):
		return nil, usagef("invalid value %q for flag -metric: want val_loss, val_accuracy, loss, accuracy, test_loss or test_accuracy", t.metric)
	}
	switch t.strategy {
	case "grid":
		return tuning.Grid(t.gridPoints), nil
	case "random":
		return tuning.Random(t.trials, t.searchSeed), nil
	case "tpe":
		if t.tpeStartup < 1 {
			return nil, usagef("invalid value %d for flag -tpe-startup: want ≥ 1", t.tpeStartup)
		}
		return tuning.TPE(t.trials, t.searchSeed, tuning.TPEStartupTrials(t.tpeStartup), tuning.TPEMultivariate(t.tpeJoint)), nil
	case "halving", "hyperband", "asha", "bohb":
		if err := t.checkRungs(epochs); err != nil {
			return nil, err
		}
		if t.pruner != "none" {
			return nil, usagef("invalid value %q for flag -pruner: -strategy %s stops trials early itself; want none", t.pruner, t.strategy)
		}
		switch t.strategy {
		case "hyperband":
			if t.rounds < 1 {
				return nil, usagef("invalid value %d for flag -rounds: want ≥ 1", t.rounds)
			}
			return tuning.Hyperband(t.searchSeed, t.minEpochs, epochs, t.eta, tuning.HyperbandRounds(t.rounds)), nil
		case "bohb":
			if t.rounds < 1 {
				return nil, usagef("invalid value %d for flag -rounds: want ≥ 1", t.rounds)
			}
			return tuning.BOHB(t.searchSeed, t.minEpochs, epochs, t.eta, tuning.BOHBRounds(t.rounds)), nil
		case "asha":
			return tuning.ASHA(t.trials, t.searchSeed, t.minEpochs, epochs, t.eta), nil
		}
		return tuning.Halving(t.trials, t.searchSeed, t.minEpochs, epochs, t.eta), nil
	}
	return nil, usagef("invalid value %q for flag -strategy: want grid, random, tpe, halving, hyperband, asha or bohb", t.strategy)
}

// checkRungs validates the flags of a halving ladder.
func (t *tuneFlags) checkRungs(epochs int) error {
	if t.eta < 2 {
		return usagef("invalid value %d for flag -eta: want ≥ 2", t.eta)
	}
	if t.minEpochs < 1 || t.minEpochs > epochs {
		return usagef("invalid value %d for flag -min-epochs: want 1..%d (-epochs)", t.minEpochs, epochs)
	}
	return nil
}

// buildPruner validates the pruner flags and returns the option for Run
// (nil for none).
func (t *tuneFlags) buildPruner(epochs int) (tuning.Option, error) {
	switch t.pruner {
	case "none":
		return nil, nil
	case "median":
		if t.warmup < 0 {
			return nil, usagef("invalid value %d for flag -pruner-warmup: want ≥ 0", t.warmup)
		}
		if t.minTrials < 1 {
			return nil, usagef("invalid value %d for flag -pruner-min-trials: want ≥ 1", t.minTrials)
		}
		return tuning.WithPruner(tuning.MedianStopping(t.warmup, t.minTrials)), nil
	case "halving":
		if err := t.checkRungs(epochs); err != nil {
			return nil, err
		}
		return tuning.WithPruner(tuning.SuccessiveHalvingPruner(t.minEpochs, t.eta)), nil
	}
	return nil, usagef("invalid value %q for flag -pruner: want none, median or halving", t.pruner)
}

// trialConfig applies a trial's parameters to the base configuration through
// the same flag parsing and validation a command line gets.
func trialConfig(base config, tr tuning.Trial) (config, error) {
	c, err := withParams(base, tr.Params)
	if err != nil {
		return c, errors.Wrapf(err, "trial %d", tr.ID)
	}
	// The schedule spans the trial's full budget whatever rung it trains
	// to now, so a promoted trial continues the schedule it started.
	c.ScheduleEpochs = c.Epochs
	if tr.Epochs > 0 {
		c.Epochs = tr.Epochs
	}
	c.Out = tr.Dir
	if c.Out == "" {
		c.Out = filepath.Join(base.Out, "trials", strconv.Itoa(tr.ID))
	}
	c.Resume = ""
	// A halving, hyperband or asha trial (a budget in tr.Epochs) continues
	// from its own last checkpoint when promoted. Grid, random and tpe
	// trials start afresh even if a crash left a checkpoint behind, so that
	// they rerun exactly, with the whole learning curve a pruner judges.
	if last := filepath.Join(c.Out, lastFile); tr.Epochs > 0 && fileExists(last) {
		c.Resume = last
	}
	if err := c.validate(); err != nil {
		return c, errors.Wrapf(err, "trial %d", tr.ID)
	}
	return c, nil
}

// formatParams prints a trial's parameters as the flags that reproduce it.
func formatParams(p tuning.Params) string {
	var b strings.Builder
	for i, n := range slices.Sorted(maps.Keys(p)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "-%s %s", n, paramString(p[n]))
	}
	return b.String()
}

func paramString(v any) string {
	if f, ok := v.(float64); ok {
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
