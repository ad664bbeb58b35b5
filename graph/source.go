package graph

import "context"

// Batch is one batch of examples as the model reads it; *datasets.Batch
// implements it.
//
// It is an alias of an unnamed interface type on purpose: Go identifies an
// unnamed interface by its methods, so a package that does not import graph
// (datasets imports nothing of ours) declares the same method set under its
// own name (datasets.BatchReader) and implements BatchSource with it.
type Batch = interface {
	// Rows returns the number of real rows, 1 to the compiled batch size
	// (a last partial batch has fewer).
	Rows() int
	// Features returns Rows × the example's values, row-major, in one of
	// the two precisions; the other slice is nil. The model converts to its
	// own dtype.
	Features() (x32 []float32, x64 []float64)
	// ClassLabels returns the class index of each of the Rows rows.
	ClassLabels() []int
}

// BatchSource is data the model evaluates or predicts: every example once,
// in order, in batches of at most the size the model asks for (its
// inference program's). *datasets.Dataset and *datasets.Source implement
// it; graph reads nothing else of a dataset, so a program that uses graph
// does not link the datasets package and its downloader.
type BatchSource interface {
	// Len returns the number of examples.
	Len() int
	// FeatureLen returns the number of values in one example.
	FeatureLen() int
	// EachBatch calls fn with each batch in order and returns the first
	// error of fn, of the source or of ctx. A batch is valid only during
	// its call.
	EachBatch(ctx context.Context, batchSize int, fn func(Batch) error) error
}
