package datasets

import (
	"context"

	"github.com/pkg/errors"
)

// BatchReader is what a model reads of a batch: graph.Batch is the same
// method set, so *Batch is a graph.Batch without this package importing
// graph (an unnamed interface type is identified by its methods alone).
type BatchReader = interface {
	Rows() int
	Features() (x32 []float32, x64 []float64)
	ClassLabels() []int
}

// Rows returns the number of real rows, Size.
func (b *Batch) Rows() int { return b.Size }

// Features returns the batch's features, X32 or X64 (the other is nil).
func (b *Batch) Features() (x32 []float32, x64 []float64) { return b.X32, b.X64 }

// ClassLabels returns the rows' labels, Labels.
func (b *Batch) ClassLabels() []int { return b.Labels }

// Source is a Dataset read in order, every example once, through a
// loader's options (such as Normalize): the data graph's Evaluate and
// Predict read, in batches of the size they choose. *Dataset is itself a
// source without options.
type Source struct {
	ds   *Dataset
	opts []LoaderOption
}

// NewSource reads ds through opts. The reader's batch size overrides any
// WithBatchSize among them; shuffling and augmentation have no place in an
// evaluation.
func NewSource(ds *Dataset, opts ...LoaderOption) *Source {
	return &Source{ds: ds, opts: append([]LoaderOption(nil), opts...)}
}

// Len returns the number of examples.
func (s *Source) Len() int { return s.ds.Len() }

// FeatureLen returns the number of values in one example.
func (s *Source) FeatureLen() int { return s.ds.FeatureLen() }

// EachBatch calls fn with every example once, in order, in batches of at
// most batchSize rows, and returns the first error of fn, of the loader or
// of ctx. A batch is valid only during its call.
func (s *Source) EachBatch(ctx context.Context, batchSize int, fn func(BatchReader) error) error {
	loader, err := NewLoader(s.ds, append(append([]LoaderOption(nil), s.opts...), WithBatchSize(batchSize))...)
	if err != nil {
		return errors.Wrap(err, "datasets: source")
	}
	it := loader.Epoch(ctx, 0)
	defer it.Close()
	for {
		b, ok := it.Next()
		if !ok {
			break
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return it.Err()
}

// EachBatch reads d in order, without loader options; see Source.EachBatch.
func (d *Dataset) EachBatch(ctx context.Context, batchSize int, fn func(BatchReader) error) error {
	return NewSource(d).EachBatch(ctx, batchSize, fn)
}
