package tuning

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pkg/errors"
)

// Trial is one configuration to evaluate, as the objective receives it.
type Trial struct {
	// ID numbers the trial from 0 in the order the strategy generated it.
	// A trial promoted by Halving keeps its ID.
	ID int
	// Params are the hyperparameters to train with.
	Params Params
	// Epochs is the total number of epochs the trial should have trained
	// when the objective returns. 0 (Grid and Random) means the objective's
	// own default; Halving sets it per rung.
	Epochs int
	// Rung is the Halving rung, 0 for Grid and Random.
	Rung int
	// Dir is the trial's own directory under the results directory (created
	// before the objective runs), for checkpoints and logs; "" without
	// WithResultsDir. A trial promoted by Halving gets the same Dir again.
	Dir string
	// Seed is the trial's seed, derived from the search seed and ID; seed
	// weight initialisation and shuffling with it so that a trial can be
	// reproduced on its own.
	Seed uint64
}

// Reporter receives a trial's intermediate metrics, typically once per
// epoch; Run stores them in Result.History for plots. The epoch number is
// stored as given (ReportCallback passes callbacks.State's 0-based Epoch).
// It is safe for concurrent use.
type Reporter interface {
	Report(epoch int, metrics map[string]float64)
}

// Objective trains and evaluates one trial and returns its metrics, which
// must include the metric the search optimises (WithMetric). Run calls it
// from up to WithWorkers goroutines at once, so it must not share mutable
// state between calls. It should return promptly, with ctx's error, when ctx
// is cancelled. An error, a panic, a missing metric or a NaN is recorded in
// the trial's Result and does not stop the search.
type Objective func(ctx context.Context, t Trial, r Reporter) (map[string]float64, error)

// Result statuses.
const (
	// StatusOK: the objective returned a finite value of the metric.
	StatusOK = "ok"
	// StatusFailed: the objective returned an error, panicked, or returned
	// no value of the metric.
	StatusFailed = "failed"
	// StatusNaN: the metric was NaN or infinite (the training diverged).
	StatusNaN = "nan"
	// StatusPruned: a Halving trial that finished its rung but was not
	// promoted to the next.
	StatusPruned = "pruned"
	// StatusCancelled: the search's context was cancelled while the trial
	// ran.
	StatusCancelled = "cancelled"
)

// EpochMetrics is one Report call of a trial.
type EpochMetrics struct {
	Epoch   int
	Metrics map[string]float64
}

// Result is the outcome of one run of a trial.
type Result struct {
	Trial Trial
	// Metrics is what the objective returned (possibly partial, or nil, for
	// a failed trial).
	Metrics map[string]float64
	// History holds the trial's Report calls in order.
	History []EpochMetrics
	// Duration is the objective's wall-clock time; a result reused from an
	// earlier run keeps its original duration.
	Duration time.Duration
	// Err is the error or panic message of a failed or cancelled trial.
	Err string
	// Status is StatusOK, StatusFailed, StatusNaN, StatusPruned or
	// StatusCancelled.
	Status string
}

// DefaultMaxTrials is the largest search Run accepts unless WithMaxTrials
// says otherwise: a grid over a few more dimensions than intended grows
// past it quickly, and a typo should not start a week of training.
const DefaultMaxTrials = 1000

type config struct {
	workers    int
	metric     string
	minimize   bool
	resultsDir string
	maxTrials  int
	progress   func(Result)
	err        error
}

// Option configures Run.
type Option func(*config)

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithWorkers runs up to n trials at the same time (default 1). Each trial
// trains on its own, so on a machine with k cores k workers (with one
// thread each inside the trial) is usually fastest.
func WithWorkers(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(errors.Errorf("tuning: workers = %d is out of range [1, ∞)", n))
			return
		}
		c.workers = n
	}
}

// WithMetric names the metric that ranks trials and whether lower is better
// (default "val_loss", minimised). Use "val_accuracy" with minimize false
// to maximise accuracy.
func WithMetric(name string, minimize bool) Option {
	return func(c *config) {
		if name == "" {
			c.fail(errors.New("tuning: the metric name is empty"))
			return
		}
		c.metric, c.minimize = name, minimize
	}
}

// WithResultsDir saves the search in dir: results.json and results.csv are
// rewritten atomically after every finished trial, and each trial gets a
// directory trials/trial-NNNN for its checkpoints. On start, results
// already in dir/results.json are reused for trials with the same Params
// and Epochs instead of running them again, so an interrupted search
// resumes where it stopped; failed and cancelled trials are run again.
// The files describe the current search only: results of other trials
// found there are dropped at the first rewrite, so give every search its
// own directory.
func WithResultsDir(dir string) Option {
	return func(c *config) { c.resultsDir = dir }
}

// WithMaxTrials sets the largest number of trials a strategy may generate
// (default DefaultMaxTrials); Run fails before running anything if the
// strategy asks for more.
func WithMaxTrials(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(errors.Errorf("tuning: max trials = %d is out of range [1, ∞)", n))
			return
		}
		c.maxTrials = n
	}
}

// WithProgress calls f with each result as it finishes (including results
// reused from the results directory), one call at a time, from the
// goroutine that called Run. A Halving result reported as ok may be marked
// pruned later, when its rung is complete.
func WithProgress(f func(Result)) Option {
	return func(c *config) { c.progress = f }
}

// Run executes the trials strategy generates over space, calling objective
// for each on a pool of WithWorkers goroutines, and returns them ranked.
//
// Cancelling ctx stops Run from starting trials; it waits for the running
// ones (their objectives see the cancelled ctx) and returns the leaderboard
// of what finished with ctx's error. A failed, panicking or NaN trial is
// recorded and the search goes on. Other errors (invalid settings, a
// results directory that cannot be written) are returned with whatever
// finished before them.
//
// With the same space, strategy and seed Run generates the same trials; with
// a deterministic objective and the same worker count the leaderboard is the
// same too (it is ordered by metric and trial ID, never by completion
// order).
func Run(ctx context.Context, space *Space, strategy Strategy, objective Objective, opts ...Option) (*Leaderboard, error) {
	c := &config{workers: 1, metric: "val_loss", minimize: true, maxTrials: DefaultMaxTrials}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	switch {
	case c.err != nil:
		return nil, c.err
	case space == nil || len(space.dims) == 0:
		return nil, errors.New("tuning: the search space is nil or empty (build it with NewSpace or ParseSpace)")
	case strategy == nil:
		return nil, errors.New("tuning: the strategy is nil (use Grid, Random or Halving)")
	case objective == nil:
		return nil, errors.New("tuning: the objective is nil")
	}
	sched, err := strategy.start(space, c)
	if err != nil {
		return nil, err
	}
	r := &runner{c: c, objective: objective, board: &Leaderboard{
		Metric: c.metric, Minimize: c.minimize,
		params: space.Names(), strategy: strategy.String(), space: space.String(),
	}}
	if c.resultsDir != "" {
		if err := os.MkdirAll(c.resultsDir, 0o755); err != nil {
			return nil, errors.Wrapf(err, "tuning: creating results directory %s", c.resultsDir)
		}
		if r.prior, err = loadPrior(filepath.Join(c.resultsDir, resultsJSON), c); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel

	var prev []*Result
	for {
		batch, err := sched.next(prev)
		if err != nil {
			return r.finish(err)
		}
		if len(batch) == 0 {
			break
		}
		if halted := r.runBatch(runCtx, batch); halted {
			break
		}
		prev = r.results[len(r.results)-len(batch):]
	}
	// Halving may have marked results pruned after the last write.
	r.save()
	if r.err != nil {
		return r.finish(r.err)
	}
	if err := ctx.Err(); err != nil {
		return r.finish(errors.Wrap(err, "tuning: search interrupted"))
	}
	return r.finish(nil)
}

type runner struct {
	c         *config
	objective Objective
	prior     map[string][]Result
	results   []*Result // finished, in batch order then trial order
	board     *Leaderboard
	cancel    context.CancelFunc
	err       error // first error that stops the search (write failure, progress panic)
}

func (r *runner) finish(err error) (*Leaderboard, error) {
	return r.leaderboard(), err
}

func (r *runner) leaderboard() *Leaderboard {
	lb := *r.board
	lb.Results = make([]Result, len(r.results))
	for i, res := range r.results {
		lb.Results[i] = *res
	}
	lb.sort()
	return &lb
}

type finished struct {
	idx int
	res Result
	ran bool
}

// runBatch runs trials to completion (or cancellation) and appends their
// results, in trial order, to r.results. It reports whether the search must
// stop.
func (r *runner) runBatch(ctx context.Context, trials []Trial) (halted bool) {
	out := make([]*Result, len(trials))
	var pending []*Result // finished results of this batch, for the files
	var todo []int
	for i, t := range trials {
		if r.c.resultsDir != "" {
			trials[i].Dir = filepath.Join(r.c.resultsDir, "trials", fmt.Sprintf("trial-%04d", t.ID))
		}
		if res, ok := r.reuse(trials[i]); ok {
			out[i] = &res
			pending = append(pending, out[i])
			r.progress(res)
			continue
		}
		todo = append(todo, i)
	}

	r.save0(pending)
	jobs := make(chan int)
	done := make(chan finished)
	var wg sync.WaitGroup
	for range min(r.c.workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					done <- finished{idx: i}
					continue
				}
				done <- finished{idx: i, res: r.runTrial(ctx, trials[i]), ran: true}
			}
		}()
	}
	go func() {
	feed:
		for _, i := range todo {
			select {
			case jobs <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		wg.Wait()
		close(done)
	}()
	for f := range done {
		if !f.ran {
			continue
		}
		res := f.res
		out[f.idx] = &res
		pending = append(pending, &res)
		r.save0(pending)
		r.progress(res)
	}

	complete := true
	for _, res := range out {
		if res == nil {
			complete = false
			continue
		}
		r.results = append(r.results, res)
		if res.Status == StatusCancelled {
			complete = false
		}
	}
	return !complete || r.err != nil || ctx.Err() != nil
}

// save0 writes the files with the results of earlier batches and the
// finished results of the current one.
func (r *runner) save0(pending []*Result) {
	saved := r.results
	r.results = append(r.results[:len(r.results):len(r.results)], pending...)
	r.save()
	r.results = saved
}

func (r *runner) save() {
	if r.c.resultsDir == "" || r.err != nil {
		return
	}
	lb := r.leaderboard()
	if err := lb.writeFiles(r.c.resultsDir); err != nil {
		r.stop(err)
	}
}

func (r *runner) stop(err error) {
	if r.err == nil {
		r.err = err
		r.cancel()
	}
}

func (r *runner) progress(res Result) {
	if r.c.progress == nil || r.err != nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			r.stop(errors.Errorf("tuning: the progress function panicked: %v", p))
		}
	}()
	r.c.progress(res)
}

// reuse takes a finished result of an earlier run of the same search.
func (r *runner) reuse(t Trial) (Result, bool) {
	k := priorKey(t.Params.key(), t.Epochs)
	cands := r.prior[k]
	if len(cands) == 0 {
		return Result{}, false
	}
	// Prefer the same ID, so that duplicate configurations (possible when
	// every dimension is a Choice) map one to one.
	pick := 0
	for i, c := range cands {
		if c.Trial.ID == t.ID {
			pick = i
			break
		}
	}
	res := cands[pick]
	r.prior[k] = append(cands[:pick:pick], cands[pick+1:]...)
	res.Trial = t
	return res, true
}

func priorKey(params string, epochs int) string {
	return fmt.Sprintf("%s;epochs=%d", params, epochs)
}

// runTrial calls the objective, turning every way it can go wrong into a
// Result.
func (r *runner) runTrial(ctx context.Context, t Trial) (res Result) {
	rec := &recorder{}
	res.Trial = t
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		res.History = rec.take()
		if p := recover(); p != nil {
			res.Status = StatusFailed
			res.Err = fmt.Sprintf("panic: %v", p)
		}
	}()
	if t.Dir != "" {
		if err := os.MkdirAll(t.Dir, 0o755); err != nil {
			res.Status, res.Err = StatusFailed, errors.Wrapf(err, "tuning: creating trial directory %s", t.Dir).Error()
			return res
		}
	}
	arg := t
	arg.Params = t.Params.clone()
	metrics, err := r.objective(ctx, arg, rec)
	if metrics != nil {
		res.Metrics = make(map[string]float64, len(metrics))
		for k, v := range metrics {
			res.Metrics[k] = v
		}
	}
	if err != nil {
		res.Status, res.Err = StatusFailed, err.Error()
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			res.Status = StatusCancelled
		}
		return res
	}
	res.Status, res.Err = classify(res.Metrics, r.c.metric)
	return res
}

// classify gives the status of metrics an objective returned without error.
func classify(metrics map[string]float64, metric string) (status, msg string) {
	v, ok := metrics[metric]
	switch {
	case !ok:
		names := make([]string, 0, len(metrics))
		for k := range metrics {
			names = append(names, k)
		}
		sort.Strings(names)
		return StatusFailed, fmt.Sprintf("tuning: the objective returned no %q metric (got %s)", metric, strings.Join(names, ", "))
	case math.IsNaN(v) || math.IsInf(v, 0):
		return StatusNaN, fmt.Sprintf("%s = %v", metric, v)
	}
	return StatusOK, ""
}

// recorder is the Reporter each trial gets.
type recorder struct {
	mu      sync.Mutex
	history []EpochMetrics
}

// Report stores a copy of metrics, so the caller may reuse its map.
func (r *recorder) Report(epoch int, metrics map[string]float64) {
	m := make(map[string]float64, len(metrics))
	for k, v := range metrics {
		m[k] = v
	}
	r.mu.Lock()
	r.history = append(r.history, EpochMetrics{Epoch: epoch, Metrics: m})
	r.mu.Unlock()
}

func (r *recorder) take() []EpochMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.history
}
