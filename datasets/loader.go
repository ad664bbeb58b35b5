package datasets

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/pkg/errors"
)

// Batch is one mini-batch as the Loader hands it out. Its slices belong to
// the loader and stay valid until the next call to Next (or Close): copy
// what you need to keep. Exactly one of X32/X64 is set, the dataset's
// dtype.
type Batch struct {
	// X32 or X64 holds Size × FeatureLen() values, row-major.
	X32 []float32
	X64 []float64
	// Labels holds the class index of each of the Size rows.
	Labels []int
	// Size is the number of real rows: the batch size, except for a last
	// partial batch when drop-last is off.
	Size int
	// Index holds, for each row, the dataset row it was copied from.
	Index []int
}

// LoaderOption configures NewLoader.
type LoaderOption func(*loaderConfig)

type loaderConfig struct {
	batchSize  int
	shuffle    bool
	seed       uint64
	augSeed    uint64
	augSeedSet bool
	dropLast   bool
	transforms []Transform
	prefetch   int
}

// WithBatchSize sets the number of rows per batch (default 64).
func WithBatchSize(n int) LoaderOption { return func(c *loaderConfig) { c.batchSize = n } }

// WithShuffle makes every epoch visit the examples in a fresh random order,
// a permutation that depends only on seed and the epoch number, so that
// epoch e is the same whether training ran through or resumed there. The
// seed also seeds the transforms unless WithAugmentSeed sets another.
// Without this option, batches follow the dataset's order.
func WithShuffle(seed uint64) LoaderOption {
	return func(c *loaderConfig) { c.shuffle, c.seed = true, seed }
}

// WithAugmentSeed seeds the random transforms independently of the
// shuffle (default: the WithShuffle seed, else 0).
func WithAugmentSeed(seed uint64) LoaderOption {
	return func(c *loaderConfig) { c.augSeed, c.augSeedSet = seed, true }
}

// WithDropLast drops the last batch of an epoch when it would be smaller
// than the batch size (default false: it is kept, with Size < batch size).
func WithDropLast(drop bool) LoaderOption { return func(c *loaderConfig) { c.dropLast = drop } }

// WithTransforms applies ts, in order, to every example as its batch is
// filled. Use it on training loaders only; evaluation should see the data
// as it is (apart from Normalize, which is deterministic). Repeated
// options append.
func WithTransforms(ts ...Transform) LoaderOption {
	return func(c *loaderConfig) { c.transforms = append(c.transforms, ts...) }
}

// WithPrefetch lets a background goroutine prepare up to n batches ahead,
// so that the next batch is ready when a training step ends (default 2).
// n = 0 fills each batch synchronously inside Next. Results are identical
// either way.
func WithPrefetch(n int) LoaderOption { return func(c *loaderConfig) { c.prefetch = n } }

// Loader cuts a Dataset into mini-batches, epoch after epoch, shuffling and
// augmenting as configured. Each EpochIter gets its own buffers, so
// several may run at once; buffers of closed or finished epochs are reused,
// so that a steady-state epoch allocates almost nothing and a batch
// nothing at all. An EpochIter itself belongs to one goroutine.
type Loader struct {
	ds  *Dataset
	cfg loaderConfig

	mu   sync.Mutex
	free []*worker // buffers of finished epochs, reused by the next ones
}

// NewLoader validates ds, the options and the transforms (each transform's
// parameters, and a trial run on a zero example of ds's shape) and returns
// a loader.
func NewLoader(ds *Dataset, opts ...LoaderOption) (*Loader, error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	cfg := loaderConfig{batchSize: 64, prefetch: 2}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("datasets: nil LoaderOption")
		}
		o(&cfg)
	}
	if cfg.batchSize < 1 {
		return nil, errors.Errorf("datasets: batch size %d, want ≥ 1", cfg.batchSize)
	}
	if cfg.prefetch < 0 {
		return nil, errors.Errorf("datasets: prefetch %d, want ≥ 0 (0 = synchronous)", cfg.prefetch)
	}
	if !cfg.augSeedSet && cfg.shuffle {
		cfg.augSeed = cfg.seed
	}
	cfg.transforms = slices.Clone(cfg.transforms)
	l := &Loader{ds: ds, cfg: cfg}
	if len(cfg.transforms) > 0 {
		w := l.newWorker()
		for i, t := range cfg.transforms {
			if t == nil {
				return nil, errors.Errorf("datasets: transform %d is nil", i)
			}
			if err := t.Validate(); err != nil {
				return nil, errors.Wrapf(err, "datasets: transform %d (%s)", i, describe(t))
			}
		}
		if err := w.transform(0, 0); err != nil {
			return nil, errors.Wrapf(err, "datasets: transforms cannot handle %s's examples of shape %v", ds.name(), ds.ExampleShape)
		}
		l.putWorker(w)
	}
	return l, nil
}

// BatchesPerEpoch returns how many batches an epoch yields.
func (l *Loader) BatchesPerEpoch() int {
	n, b := l.ds.Len(), l.cfg.batchSize
	if l.cfg.dropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// worker holds everything one epoch needs to fill batches: the batch
// buffers, the permutation, the per-example RNG and the transforms'
// scratch. Keeping them in one heap object is what makes filling a batch
// allocation-free (nothing escapes per call).
type worker struct {
	l       *Loader
	perm    []int
	batches []*Batch // prefetch + 2: queued, being filled, held by the caller
	pcg     *rand.PCG
	rng     *rand.Rand
	ex      Example
	fl      int
}

func (l *Loader) newWorker() *worker {
	fl := l.ds.FeatureLen()
	pcg := newPCG(0, 0)
	w := &worker{l: l, perm: make([]int, l.ds.Len()), pcg: pcg, rng: rand.New(pcg), fl: fl}
	w.ex.Shape = l.ds.ExampleShape
	if l.ds.X32 != nil {
		w.ex.Scratch32 = make([]float32, fl)
		w.ex.X32 = make([]float32, fl)
	} else {
		w.ex.Scratch64 = make([]float64, fl)
		w.ex.X64 = make([]float64, fl)
	}
	n := l.cfg.prefetch + 2
	if l.cfg.prefetch == 0 {
		n = 1
	}
	for range n {
		b, bs := &Batch{}, l.cfg.batchSize
		if l.ds.X32 != nil {
			b.X32 = make([]float32, bs*fl)
		} else {
			b.X64 = make([]float64, bs*fl)
		}
		b.Labels, b.Index = make([]int, bs), make([]int, bs)
		w.batches = append(w.batches, b)
	}
	return w
}

func (l *Loader) getWorker() *worker {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		w := l.free[n-1]
		l.free = l.free[:n-1]
		return w
	}
	return l.newWorker()
}

func (l *Loader) putWorker(w *worker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.free = append(l.free, w)
}

// start prepares the permutation of an epoch.
func (w *worker) start(epoch int) {
	if w.l.cfg.shuffle {
		w.pcg.Seed(mix(w.l.cfg.seed^domainShuffle), mix(uint64(epoch)))
		permute(w.perm, w.pcg)
		return
	}
	for i := range w.perm {
		w.perm[i] = i
	}
}

// transform runs the transforms on w.ex (whose X slice the caller points at
// the example) with the RNG seeded for (epoch, row).
func (w *worker) transform(epoch, row int) error {
	w.pcg.Seed(mix(w.l.cfg.augSeed^domainAugment), mix(mix(uint64(epoch))+uint64(row)))
	for i, t := range w.l.cfg.transforms {
		if err := t.Apply(w.rng, &w.ex); err != nil {
			return errors.Wrapf(err, "datasets: transform %d (%s)", i, describe(t))
		}
	}
	return nil
}

// fill copies batch number k of the epoch into b and augments it.
func (w *worker) fill(b *Batch, epoch, k int) error {
	ds, bs, fl := w.l.ds, w.l.cfg.batchSize, w.fl
	lo := k * bs
	hi := min(lo+bs, ds.Len())
	size := hi - lo
	b.Size = size
	b.Labels, b.Index = b.Labels[:size], b.Index[:size]
	if b.X32 != nil {
		b.X32 = b.X32[:size*fl]
	} else {
		b.X64 = b.X64[:size*fl]
	}
	hasT := len(w.l.cfg.transforms) > 0
	for r, idx := range w.perm[lo:hi] {
		b.Index[r], b.Labels[r] = idx, ds.Labels[idx]
		if b.X32 != nil {
			dst := b.X32[r*fl : (r+1)*fl]
			copy(dst, ds.X32[idx*fl:(idx+1)*fl])
			w.ex.X32 = dst
		} else {
			dst := b.X64[r*fl : (r+1)*fl]
			copy(dst, ds.X64[idx*fl:(idx+1)*fl])
			w.ex.X64 = dst
		}
		if hasT {
			if err := w.transform(epoch, idx); err != nil {
				return errors.Wrapf(err, "epoch %d, dataset row %d", epoch, idx)
			}
		}
	}
	return nil
}

// EpochIter walks the batches of one epoch. Call Next until it returns
// false, then Err; Close releases the background goroutine and the buffers
// early (it is idempotent, and also harmless after the end).
type EpochIter struct {
	l      *Loader
	ctx    context.Context
	epoch  int
	nb     int // batches in this epoch
	next   int // synchronous path: next batch number
	w      *worker
	err    error
	done   bool
	closed bool

	// prefetch path
	ready   chan *Batch
	free    chan *Batch
	stop    chan struct{}
	exited  chan struct{}
	held    *Batch
	prodErr error // written by the producer before it closes ready
}

// Epoch starts epoch number epoch (0-based; it seeds the shuffle and the
// transforms). The iterator stops early, with Err set, when ctx is
// cancelled.
func (l *Loader) Epoch(ctx context.Context, epoch int) *EpochIter {
	if ctx == nil {
		ctx = context.Background()
	}
	it := &EpochIter{l: l, ctx: ctx, epoch: epoch, nb: l.BatchesPerEpoch()}
	if epoch < 0 {
		it.err = errors.Errorf("datasets: epoch %d, want ≥ 0", epoch)
		it.done = true
		return it
	}
	it.w = l.getWorker()
	it.w.start(epoch)
	if l.cfg.prefetch > 0 {
		it.ready = make(chan *Batch, l.cfg.prefetch)
		it.free = make(chan *Batch, len(it.w.batches))
		for _, b := range it.w.batches {
			it.free <- b
		}
		it.stop = make(chan struct{})
		it.exited = make(chan struct{})
		go it.produce()
	}
	return it
}

// produce fills batches in order and queues them; it is the only writer of
// the worker while it runs.
func (it *EpochIter) produce() {
	defer close(it.exited)
	defer close(it.ready)
	for k := range it.nb {
		var b *Batch
		select {
		case b = <-it.free:
		case <-it.stop:
			return
		case <-it.ctx.Done():
			return
		}
		if err := it.w.fill(b, it.epoch, k); err != nil {
			it.prodErr = err
			return
		}
		select {
		case it.ready <- b:
		case <-it.stop:
			return
		case <-it.ctx.Done():
			return
		}
	}
}

// Next returns the next batch, or false at the end of the epoch, when the
// context is cancelled, or on a transform error (see Err). The returned
// batch is valid until the next call to Next or Close.
func (it *EpochIter) Next() (*Batch, bool) {
	if it.done {
		return nil, false
	}
	if err := it.ctx.Err(); err != nil {
		it.finish(errors.Wrapf(err, "datasets: epoch %d", it.epoch))
		return nil, false
	}
	if it.ready == nil {
		if it.next >= it.nb {
			it.finish(nil)
			return nil, false
		}
		b := it.w.batches[0]
		if err := it.w.fill(b, it.epoch, it.next); err != nil {
			it.finish(err)
			return nil, false
		}
		it.next++
		return b, true
	}
	if it.held != nil {
		it.free <- it.held // never blocks: free has room for every buffer
		it.held = nil
	}
	var b *Batch
	var ok bool
	select {
	case b, ok = <-it.ready:
	case <-it.ctx.Done():
	}
	if !ok {
		// ready is closed (end or producer error), or ctx is done.
		var err error
		if cerr := it.ctx.Err(); cerr != nil {
			err = errors.Wrapf(cerr, "datasets: epoch %d", it.epoch)
		}
		if b == nil && it.ctx.Err() == nil {
			<-it.exited
			err = it.prodErr
		}
		it.finish(err)
		return nil, false
	}
	it.held = b
	return b, true
}

// Err returns the error that ended the epoch early: the context's error or
// a transform's; nil after a complete epoch.
func (it *EpochIter) Err() error { return it.err }

// finish records err, stops the producer and gives the buffers back.
func (it *EpochIter) finish(err error) {
	if it.err == nil {
		it.err = err
	}
	it.done = true
	it.release()
}

// Close stops the background goroutine, waits for it and recycles the
// buffers; batches returned earlier become invalid. It is idempotent and
// safe at any point, including after an early exit from the loop.
func (it *EpochIter) Close() {
	it.done = true
	it.release()
}

func (it *EpochIter) release() {
	if it.closed {
		return
	}
	it.closed = true
	if it.stop != nil {
		close(it.stop)
		<-it.exited
	}
	it.held = nil
	if it.w != nil {
		it.l.putWorker(it.w)
		it.w = nil
	}
}
