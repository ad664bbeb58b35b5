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
	// A trial promoted by Halving, Hyperband or ASHA keeps its ID.
	ID int
	// Params are the hyperparameters to train with.
	Params Params
	// Epochs is the total number of epochs the trial should have trained
	// when the objective returns. 0 (Grid, Random and TPE) means the
	// objective's own default; Halving, Hyperband and ASHA set it per rung.
	Epochs int
	// Rung is the budget level of a Halving, Hyperband or ASHA trial (0 is
	// the smallest budget), 0 for the other strategies.
	Rung int
	// Dir is the trial's own directory under the results directory (created
	// before the objective runs), for checkpoints and logs; "" without
	// WithResultsDir. A promoted trial gets the same Dir again.
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
// from up to WithConcurrentTrials goroutines at once, so it must not share
// mutable state between calls. It should return promptly, with ctx's error,
// when ctx is cancelled: that is also how a pruner (WithPruner) stops it. An error, a panic, a missing metric or a NaN is recorded in
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
	// StatusPruned: a Halving, Hyperband or ASHA trial that finished its
	// rung but was not promoted to the next, or a trial that WithPruner's
	// pruner stopped (Result.PrunedEpoch says when).
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
	// Duration is the objective's wall-clock time and Finished when it
	// returned; a result reused from an earlier run keeps its original
	// ones. Ordering results by Finished replays the search as it went
	// (the best value against the epochs spent, say).
	Duration time.Duration
	Finished time.Time
	// Err is the error or panic message of a failed or cancelled trial.
	Err string
	// Status is StatusOK, StatusFailed, StatusNaN, StatusPruned or
	// StatusCancelled.
	Status string
	// PrunedEpoch is, for a trial WithPruner's pruner stopped, the epoch
	// (numbered as the trial reported it) after whose report it was
	// stopped; Metrics then hold that report's metrics. It is -1 for every
	// other result.
	PrunedEpoch int
}

// DefaultMaxTrials is the largest search Run accepts unless WithMaxTrials
// says otherwise: a grid over a few more dimensions than intended grows
// past it quickly, and a typo should not start a week of training.
const DefaultMaxTrials = 1000

// TooManyTrialsError is Run's refusal of a search larger than
// WithMaxTrials, before anything runs; a program whose users set the limit
// some other way (a command-line flag) can tell them how.
type TooManyTrialsError struct {
	// Search is what is too large: "the grid", "random".
	Search string
	// Size is how many trials it needs ("5 × 5 × 3" for a grid) and Max the
	// limit.
	Size string
	Max  int
	// Hint is what else to change, "use fewer points per range", or "".
	Hint string
}

// Error names WithMaxTrials.
func (e *TooManyTrialsError) Error() string {
	hint := ""
	if e.Hint != "" {
		hint = e.Hint + " or "
	}
	return fmt.Sprintf("tuning: %s has %s trials, more than the maximum of %d; %sraise WithMaxTrials", e.Search, e.Size, e.Max, hint)
}

// checkTrials validates a strategy's number of trials against [1,
// WithMaxTrials].
func checkTrials(search string, n int, c *config) error {
	if n < 1 {
		return errors.Errorf("tuning: %s trials = %d is out of range [1, %d]", search, n, c.maxTrials)
	}
	if n > c.maxTrials {
		return &TooManyTrialsError{Search: search, Size: fmt.Sprint(n), Max: c.maxTrials}
	}
	return nil
}

type config struct {
	workers    int
	metric     string
	minimize   bool
	resultsDir string
	maxTrials  int
	onTrialEnd func(Result)
	pruner     Pruner
	err        error
}

// Option configures Run.
type Option func(*config)

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// better reports whether metric value a ranks above b.
func (c *config) better(a, b float64) bool { return (a < b) == c.minimize && a != b }

// WithConcurrentTrials runs up to n trials at the same time (default 1).
// Each trial trains on its own, so on a machine with k cores k concurrent
// trials (with one thread each inside the trial) is usually fastest. The
// number is part of what makes a model-based search reproducible: see
// Run.
func WithConcurrentTrials(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail(errors.Errorf("tuning: concurrent trials = %d is out of range [1, ∞)", n))
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
// resumes where it stopped, and a model-based strategy, fed the reused
// results in the same order, proposes the same trials it would have
// proposed without the interruption (resume with the same number of
// concurrent trials: that number fixes what each proposal sees); failed
// and cancelled trials are run again. The files describe the current search only: results of other
// trials found there are dropped at the first rewrite, so give every search
// its own directory.
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

// WithOnTrialEnd calls f with each result as it finishes (including results
// reused from the results directory), one call at a time, from the
// goroutine that called Run. A Halving, Hyperband or ASHA result reported
// as ok may be marked pruned later, when it is not promoted.
func WithOnTrialEnd(f func(Result)) Option {
	return func(c *config) { c.onTrialEnd = f }
}

// WithPruner stops trials early by the rule of p (MedianStopping or
// SuccessiveHalvingPruner), judged on the epoch metrics each trial reports
// through its Reporter. It works with Grid, Random and TPE; Halving,
// Hyperband and ASHA schedule their own early stopping and refuse a
// pruner.
func WithPruner(p Pruner) Option {
	return func(c *config) {
		if p == nil {
			c.fail(errors.New("tuning: the pruner is nil"))
			return
		}
		if err := p.check(); err != nil {
			c.fail(err)
			return
		}
		c.pruner = p
	}
}

// Run executes the trials strategy generates over space, calling objective
// for each on WithConcurrentTrials goroutines, and returns them ranked.
//
// Cancelling ctx stops Run from starting trials; it waits for the running
// ones (their objectives see the cancelled ctx) and returns the leaderboard
// of what finished with ctx's error. A failed, panicking or NaN trial is
// recorded and the search goes on. Other errors (invalid settings, a
// results directory that cannot be written) are returned with whatever
// finished before them.
//
// How trials are handed out: whenever a worker is free, Run asks the
// strategy for the next trial, and a strategy that learns from results
// (TPE, ASHA, the halving brackets) and a pruner judge from the results
// delivered so far. To make that reproducible, results are delivered in the
// order the trials were handed out, and before handing out the k-th trial
// (counting from 0, promotions included) Run delivers exactly the results
// of the trials handed out 0..k−L, with lag L = 2n−1 for n concurrent
// trials (waiting for them if they still run), and more only when the
// strategy says it must wait for them; the trials in between are pending,
// which TPE handles by constant liar. With one
// worker, every trial sees all earlier ones. With n workers a free worker
// waits only when a trial handed out L trials earlier is still running, so
// trials of uneven length (batch sizes, pruning) rarely leave it idle.
// Grid and Random without a pruner never wait.
//
// With the same space, strategy, seed and number of concurrent trials Run
// generates the same trials; with a deterministic objective, the same
// leaderboard too (it is ordered by metric and trial ID, never by
// completion order).
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
		return nil, errors.New("tuning: the strategy is nil (use Grid, Random, TPE, Halving, Hyperband or ASHA)")
	case objective == nil:
		return nil, errors.New("tuning: the objective is nil")
	}
	sched, err := strategy.start(space, c)
	if err != nil {
		return nil, err
	}
	if _, schedules := sched.(prunerFree); schedules && c.pruner != nil {
		return nil, errors.Errorf("tuning: %s stops trials early itself and takes no pruner (drop WithPruner(%s) or use Grid, Random or TPE)", strategy, c.pruner)
	}
	r := &runner{c: c, objective: objective, sched: sched, board: &Leaderboard{
		Metric: c.metric, Minimize: c.minimize,
		params: space.Names(), strategy: strategy.String(), space: space.String(),
	}}
	_, r.blind = sched.(*oneBatch)
	r.blind = r.blind && c.pruner == nil
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
	r.loop(runCtx)
	// Schedulers may have marked results pruned after the last write.
	r.save()
	if r.err != nil {
		return r.finish(r.err)
	}
	if err := ctx.Err(); err != nil {
		return r.finish(errors.Wrap(err, "tuning: search interrupted"))
	}
	return r.finish(nil)
}

// decision is a scheduler's answer to "what next?".
type decision int

const (
	propose decision = iota // start the returned trial
	wait                    // nothing until another result is delivered
	done                    // the search is over once the pending trials finish
)

// scheduler hands out the trials of one search. Run calls next and tell
// from one goroutine, in an order that depends only on the scheduler's
// answers (see Run), so a deterministic scheduler gives a reproducible
// search.
type scheduler interface {
	// next returns the next trial to run; pending are the trials handed out
	// whose results have not been delivered yet.
	next(pending []Trial) (Trial, decision, error)
	// tell delivers the result of a trial next returned, in the order they
	// were returned. The scheduler may keep res and change its Status later
	// (Halving marks the trials it does not promote as pruned).
	tell(res *Result)
}

// prunerFree marks schedulers that stop trials early themselves.
type prunerFree interface{ schedulesEarlyStopping() }

// slot is one trial handed out.
type slot struct {
	trial  Trial
	res    *Result // nil while it runs
	peers  []peerCurve
	reused bool
}

type runner struct {
	c         *config
	objective Objective
	sched     scheduler
	blind     bool // the scheduler ignores results: deliver them lazily
	prior     map[string][]Result
	slots     []*slot // in the order handed out
	delivered int     // slots[:delivered] have been told to the scheduler
	board     *Leaderboard
	cancel    context.CancelFunc
	err       error // first error that stops the search (write failure, callback panic)
}

func (r *runner) finish(err error) (*Leaderboard, error) {
	return r.leaderboard(), err
}

func (r *runner) leaderboard() *Leaderboard {
	lb := *r.board
	for _, s := range r.slots {
		if s.res != nil {
			lb.Results = append(lb.Results, *s.res)
		}
	}
	lb.sort()
	return &lb
}

// lag is how many trials may be handed out beyond the last delivered
// result (see Run).
func (r *runner) lag() int { return 2*r.c.workers - 1 }

type finished struct {
	idx int
	res Result
}

// loop hands out trials while workers are free and collects results until
// the scheduler is done, ctx is cancelled or an error stops the search.
func (r *runner) loop(ctx context.Context) {
	results := make(chan finished)
	running := 0
	halted := false
	for {
		for !halted && running < r.c.workers {
			started, over := r.startNext(ctx, results)
			if !started {
				halted = over
				break
			}
			running++
		}
		if running == 0 {
			// Nothing runs: every slot has its result, so a waiting
			// scheduler gets them all and is asked again.
			if halted || !r.deliverAll() {
				return
			}
			continue
		}
		f := <-results
		running--
		res := f.res
		r.slots[f.idx].res = &res
		r.save()
		r.notify(res)
		if res.Status == StatusCancelled || r.err != nil || ctx.Err() != nil {
			halted = true
		}
	}
}

// startNext asks the scheduler for a trial and starts it (or reuses an
// earlier result for it). started is false when no trial can start now; over
// is then true if none will until the pending ones finish, because the
// scheduler is done or the search is stopping.
func (r *runner) startNext(ctx context.Context, results chan<- finished) (started, over bool) {
	if ctx.Err() != nil || r.err != nil {
		return false, true
	}
	for {
		k := len(r.slots)
		if !r.blind {
			need := k - r.lag() + 1
			if need > r.delivered && !r.deliverUpTo(need) {
				return false, false
			}
		}
		t, d, err := r.sched.next(r.pendingTrials())
		if err != nil {
			r.stop(err)
			return false, true
		}
		switch d {
		case wait:
			if r.delivered < len(r.slots) && r.deliverUpTo(r.delivered+1) {
				continue
			}
			return false, false
		case done:
			return false, true
		}
		if r.c.resultsDir != "" {
			t.Dir = filepath.Join(r.c.resultsDir, "trials", fmt.Sprintf("trial-%04d", t.ID))
		}
		s := &slot{trial: t}
		r.slots = append(r.slots, s)
		if res, ok := r.reuse(t); ok {
			s.res, s.reused = &res, true
			r.notify(res)
			if r.err != nil {
				return false, true
			}
			continue
		}
		if r.c.pruner != nil {
			s.peers = r.peerCurves()
		}
		idx := len(r.slots) - 1
		go func() { results <- finished{idx: idx, res: r.runTrial(ctx, s.trial, s.peers)} }()
		return true, false
	}
}

// deliverUpTo tells the scheduler the results of slots[:n], if they have
// all finished.
func (r *runner) deliverUpTo(n int) bool {
	for r.delivered < n {
		s := r.slots[r.delivered]
		if s.res == nil {
			return false
		}
		r.sched.tell(s.res)
		r.delivered++
	}
	return true
}

// deliverAll delivers every finished result and reports whether there was
// any to deliver.
func (r *runner) deliverAll() bool {
	before := r.delivered
	r.deliverUpTo(len(r.slots))
	return r.delivered > before
}

func (r *runner) pendingTrials() []Trial {
	var p []Trial
	for _, s := range r.slots[r.delivered:] {
		p = append(p, s.trial)
	}
	return p
}

// peerCurves copies the learning curves of the delivered results a pruner
// compares a new trial with.
func (r *runner) peerCurves() []peerCurve {
	var out []peerCurve
	for _, s := range r.slots[:r.delivered] {
		if c, ok := newPeerCurve(s.res, r.c.metric); ok {
			out = append(out, c)
		}
	}
	return out
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

func (r *runner) notify(res Result) {
	if r.c.onTrialEnd == nil || r.err != nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			r.stop(errors.Errorf("tuning: the WithOnTrialEnd function panicked: %v", p))
		}
	}()
	r.c.onTrialEnd(res)
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
// Result. It runs on its own goroutine and touches nothing of the runner's
// but its immutable settings.
func (r *runner) runTrial(ctx context.Context, t Trial, peers []peerCurve) (res Result) {
	trialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := &recorder{pruner: r.c.pruner, peers: peers, metric: r.c.metric, cfg: r.c, cancel: cancel, prunedEpoch: -1}
	res.Trial = t
	res.PrunedEpoch = -1
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		res.Finished = start.Add(res.Duration)
		res.History = rec.take()
		if p := recover(); p != nil {
			res.Status = StatusFailed
			res.Err = fmt.Sprintf("panic: %v", p)
		}
		if epoch, why, pruned := rec.verdict(); pruned && res.Status != StatusFailed {
			res.Status, res.Err, res.PrunedEpoch = StatusPruned, why, epoch
			res.Metrics = rec.lastMetrics()
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
	metrics, err := r.objective(trialCtx, arg, rec)
	if metrics != nil {
		res.Metrics = make(map[string]float64, len(metrics))
		for k, v := range metrics {
			res.Metrics[k] = v
		}
	}
	if _, _, pruned := rec.verdict(); pruned {
		return res
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

// recorder is the Reporter each trial gets; with a pruner it also decides,
// after each report, whether to stop the trial.
type recorder struct {
	pruner Pruner
	peers  []peerCurve
	metric string
	cfg    *config
	cancel context.CancelFunc

	mu          sync.Mutex
	history     []EpochMetrics
	prunedEpoch int
	why         string
}

// Report stores a copy of metrics, so the caller may reuse its map.
func (r *recorder) Report(epoch int, metrics map[string]float64) {
	m := make(map[string]float64, len(metrics))
	for k, v := range metrics {
		m[k] = v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prunedEpoch >= 0 {
		return // reports after the stop do not count
	}
	r.history = append(r.history, EpochMetrics{Epoch: epoch, Metrics: m})
	if r.pruner == nil {
		return
	}
	if why, stop := r.pruner.prune(r.history, r.peers, r.cfg); stop {
		r.prunedEpoch, r.why = epoch, why
		r.cancel()
	}
}

func (r *recorder) take() []EpochMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.history
}

func (r *recorder) verdict() (epoch int, why string, pruned bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prunedEpoch, r.why, r.prunedEpoch >= 0
}

func (r *recorder) lastMetrics() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.history) == 0 {
		return nil
	}
	last := r.history[len(r.history)-1].Metrics
	m := make(map[string]float64, len(last))
	for k, v := range last {
		m[k] = v
	}
	return m
}
