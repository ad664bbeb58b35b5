package datasets

import (
	"runtime"
	"slices"
	"sync"

	"github.com/pkg/errors"
)

// Dataset is a labelled classification dataset held in memory: any user
// data becomes one by filling these fields, and everything downstream
// (Loader, train.Fit, Evaluate) reads only them.
//
// Features are stored row-major, one example after the other, so that a
// batch is a contiguous copy and no per-example slice headers are kept.
// Exactly one of X32 and X64 is set; it decides the dtype of every Batch.
type Dataset struct {
	// Name identifies the data in messages and logs ("mnist-train").
	Name string
	// ExampleShape is the shape of one example without the batch
	// dimension; MNIST images are [1, 28, 28] (channels, height, width).
	// Spatial transforms read the last two dimensions as height and width.
	ExampleShape []int
	// X32 holds Len()*FeatureLen() float32 features, row-major.
	X32 []float32
	// X64 holds Len()*FeatureLen() float64 features, row-major.
	X64 []float64
	// Labels holds one class index in [0, Classes) per example; its length
	// is the dataset's length.
	Labels []int
	// Classes is the number of classes the labels index.
	Classes int
	// ClassNames optionally names the classes, index by index (the
	// label strings of a CSV file, the folder names of an image folder);
	// when set it has Classes entries.
	ClassNames []string
}

// Len returns the number of examples (the number of labels).
func (d *Dataset) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Labels)
}

// FeatureLen returns the number of values in one example: the product of
// ExampleShape (0 when the shape is empty or has a non-positive
// dimension, which Validate reports).
func (d *Dataset) FeatureLen() int {
	if d == nil || len(d.ExampleShape) == 0 {
		return 0
	}
	n := 1
	for _, s := range d.ExampleShape {
		if s <= 0 {
			return 0
		}
		n *= s
	}
	return n
}

// name is the dataset's name for error messages.
func (d *Dataset) name() string {
	if d.Name == "" {
		return "dataset"
	}
	return "dataset " + `"` + d.Name + `"`
}

// Validate checks that the fields agree with each other: a valid shape, one
// feature slice of the right length, at least one example and every label
// in range. Errors name the field, the index and the value found.
func (d *Dataset) Validate() error {
	if d == nil {
		return errors.New("datasets: nil dataset")
	}
	if len(d.ExampleShape) == 0 {
		return errors.Errorf("datasets: %s: ExampleShape is empty, want the shape of one example (e.g. [1 28 28])", d.name())
	}
	for i, s := range d.ExampleShape {
		if s <= 0 {
			return errors.Errorf("datasets: %s: ExampleShape %v: dimension %d is %d, want ≥ 1", d.name(), d.ExampleShape, i, s)
		}
	}
	if d.Classes < 1 {
		return errors.Errorf("datasets: %s: Classes = %d, want ≥ 1", d.name(), d.Classes)
	}
	n := d.Len()
	if n == 0 {
		return errors.Errorf("datasets: %s has no examples (Labels is empty)", d.name())
	}
	want := n * d.FeatureLen()
	switch {
	case d.X32 != nil && d.X64 != nil:
		return errors.Errorf("datasets: %s: both X32 and X64 are set, want exactly one", d.name())
	case d.X32 != nil:
		if len(d.X32) != want {
			return errors.Errorf("datasets: %s: X32 holds %d values, want %d (%d labels × %d values of shape %v)", d.name(), len(d.X32), want, n, d.FeatureLen(), d.ExampleShape)
		}
	case d.X64 != nil:
		if len(d.X64) != want {
			return errors.Errorf("datasets: %s: X64 holds %d values, want %d (%d labels × %d values of shape %v)", d.name(), len(d.X64), want, n, d.FeatureLen(), d.ExampleShape)
		}
	default:
		return errors.Errorf("datasets: %s: neither X32 nor X64 is set, want exactly one", d.name())
	}
	if d.ClassNames != nil && len(d.ClassNames) != d.Classes {
		return errors.Errorf("datasets: %s: %d ClassNames for %d classes, want one name per class", d.name(), len(d.ClassNames), d.Classes)
	}
	for i, l := range d.Labels {
		if l < 0 || l >= d.Classes {
			return errors.Errorf("datasets: %s: Labels[%d] = %d is out of range [0, %d)", d.name(), i, l, d.Classes)
		}
	}
	return nil
}

// Split shuffles the examples with a PCG seeded by seed and returns two
// disjoint copies: val gets round(valFraction × Len()) examples, train the
// rest. Both keep the dataset's original order among their own rows, so
// that a split is a choice of members only. The same seed always chooses
// the same members. valFraction must be in (0, 1) and leave at least one
// example on each side.
func (d *Dataset) Split(valFraction float64, seed uint64) (train, val *Dataset, err error) {
	if err := d.Validate(); err != nil {
		return nil, nil, err
	}
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, errors.Errorf("datasets: validation fraction %v is out of range (0, 1)", valFraction)
	}
	n := d.Len()
	nVal := int(valFraction*float64(n) + 0.5)
	if nVal < 1 || nVal > n-1 {
		return nil, nil, errors.Errorf("datasets: validation fraction %v of %d examples gives %d validation and %d training examples, want ≥ 1 of each", valFraction, n, nVal, n-nVal)
	}
	perm := make([]int, n)
	permute(perm, newPCG(mix(seed^domainSplit), mix(uint64(n))))
	valIdx, trainIdx := perm[:nVal], perm[nVal:]
	slices.Sort(valIdx)
	slices.Sort(trainIdx)
	if train, err = d.Subset(trainIdx); err != nil {
		return nil, nil, err
	}
	if val, err = d.Subset(valIdx); err != nil {
		return nil, nil, err
	}
	if d.Name != "" {
		train.Name, val.Name = d.Name+"/train", d.Name+"/val"
	}
	return train, val, nil
}

// Subset returns a copy of the rows at indices, in that order (an index
// may repeat). The copy shares no memory with d.
func (d *Dataset) Subset(indices []int) (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(indices) == 0 {
		return nil, errors.Errorf("datasets: %s: Subset of no indices", d.name())
	}
	n, fl := d.Len(), d.FeatureLen()
	for i, idx := range indices {
		if idx < 0 || idx >= n {
			return nil, errors.Errorf("datasets: %s: Subset index %d is %d, out of range [0, %d)", d.name(), i, idx, n)
		}
	}
	out := &Dataset{
		Name:         d.Name,
		ExampleShape: slices.Clone(d.ExampleShape),
		Labels:       make([]int, len(indices)),
		Classes:      d.Classes,
		ClassNames:   slices.Clone(d.ClassNames),
	}
	if d.X32 != nil {
		out.X32 = make([]float32, len(indices)*fl)
	} else {
		out.X64 = make([]float64, len(indices)*fl)
	}
	for i, idx := range indices {
		out.Labels[i] = d.Labels[idx]
		if d.X32 != nil {
			copy(out.X32[i*fl:(i+1)*fl], d.X32[idx*fl:(idx+1)*fl])
		} else {
			copy(out.X64[i*fl:(i+1)*fl], d.X64[idx*fl:(idx+1)*fl])
		}
	}
	return out, nil
}

// Head returns the first n rows (all of them when n ≥ Len(), none when
// n ≤ 0) as a dataset that shares memory with d: it is a view for quick
// runs and tests, so writing to it writes to d.
func (d *Dataset) Head(n int) *Dataset {
	if d == nil {
		return nil
	}
	n = min(max(n, 0), d.Len())
	fl := d.FeatureLen()
	out := &Dataset{Name: d.Name, ExampleShape: d.ExampleShape, Labels: d.Labels[:n:n], Classes: d.Classes, ClassNames: d.ClassNames}
	if d.X32 != nil && len(d.X32) >= n*fl {
		out.X32 = d.X32[: n*fl : n*fl]
	}
	if d.X64 != nil && len(d.X64) >= n*fl {
		out.X64 = d.X64[: n*fl : n*fl]
	}
	return out
}

// Apply returns a copy of d with ts applied once to every example, exactly
// as a Loader applies them: in order, with random transforms drawing from
// the stream of epoch 0 and the example's row under seed. Its use is
// deterministic preprocessing such as Normalize, paid once instead of in
// every epoch's batches; d is left unchanged.
//
// The work is spread over GOMAXPROCS goroutines, each filling its share of
// batches straight into the copy: every example's random stream depends on
// its row only, so the result does not depend on how the rows were shared.
func (d *Dataset) Apply(seed uint64, ts ...Transform) (*Dataset, error) {
	const batch = 512
	l, err := NewLoader(d, WithBatchSize(batch), WithPrefetch(0), WithAugmentSeed(seed), WithTransforms(ts...))
	if err != nil {
		return nil, err
	}
	out := &Dataset{
		Name: d.Name, ExampleShape: append([]int(nil), d.ExampleShape...),
		Labels: append([]int(nil), d.Labels...), Classes: d.Classes, ClassNames: slices.Clone(d.ClassNames),
	}
	if d.X32 != nil {
		out.X32 = make([]float32, len(d.X32))
	} else {
		out.X64 = make([]float64, len(d.X64))
	}
	nb, fl, n := l.BatchesPerEpoch(), d.FeatureLen(), d.Len()
	parts := max(min(runtime.GOMAXPROCS(0), nb), 1)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := l.getWorker()
			defer l.putWorker(w)
			w.start(0) // the loader does not shuffle: rows in order
			b := &Batch{Labels: make([]int, batch), Index: make([]int, batch)}
			for k := p; k < nb; k += parts {
				lo, hi := k*batch*fl, min((k+1)*batch, n)*fl
				if d.X32 != nil {
					b.X32 = out.X32[lo:hi]
				} else {
					b.X64 = out.X64[lo:hi]
				}
				if errs[p] = w.fill(b, 0, k); errs[p] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, errors.Wrapf(err, "datasets: applying transforms to %s", d.name())
		}
	}
	return out, nil
}
