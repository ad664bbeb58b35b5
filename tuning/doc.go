// Package tuning searches hyperparameters: it runs a training function
// (the objective) over configurations drawn from a search space, in
// parallel, and ranks the outcomes.
//
// A Space is a list of dimensions — Choice, Uniform, LogUniform (for
// learning rates and epsilons) and IntRange — built with NewSpace or parsed
// from the command-line form by ParseSpace:
//
//	lr=log:1e-4:1e-2,beta1=0.8|0.9|0.95,batch-size=int:32:256,schedule=none|cosine
//
// A Strategy decides which configurations run: Grid (the full cross
// product, its size checked before anything runs), Random (seeded), TPE
// (Tree-structured Parzen Estimator: learns from the finished trials, as
// Optuna's default sampler), Halving (synchronous successive halving: many
// configurations for a few epochs, the best third, say, for three times
// longer, and so on), Hyperband (several halving brackets with different
// starting budgets), ASHA (asynchronous successive halving, no idle
// worker at rung boundaries) or BOHB (Hyperband's brackets with
// configurations proposed by a TPE model). A Pruner (MedianStopping,
// SuccessiveHalvingPruner), passed with WithPruner, stops weak trials of
// Grid, Random or TPE early from the epoch metrics they report.
//
// Run executes the trials on a bounded pool of workers, records every
// trial's parameters, metrics, per-epoch history, duration and error (a
// failed, panicking or diverging trial is recorded, not fatal), saves
// results.json and results.csv atomically after each trial, resumes an
// interrupted search without running a finished trial twice, and returns a
// Leaderboard. The same seed and number of concurrent trials give the same
// trials (every decision sees a fixed set of earlier results, see Run);
// with a deterministic objective, the same leaderboard, also after a
// resumed crash.
//
// Leaderboard.Importance says which parameters mattered: fANOVA over a
// seeded random forest of the finished trials (Hutter et al. 2014, as
// Optuna computes it), log-uniform dimensions on their log scale, choices
// as categories; DimensionScale tells plots the same scales.
//
// The objective usually builds and fits a model with package graph and
// passes ReportCallback to the fit, so that per-epoch metrics reach the
// results. To farm trials out to a cluster instead, run each one as its own
// process that prints its metrics with FormatMetrics: that is the line
// format Kubeflow Katib's stdout metrics collector reads (see
// docs/tuning.md and docs/katib-experiment.yaml). Katib's early stopping
// (medianstop) also needs each line's time: FormatTimestampedMetrics puts
// it in front of the pairs, and FormatMetricsJSON writes the JSON lines of
// Katib's File collector.
package tuning
