package datasets_test

import (
	"context"
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/adamant-ml/adamant/datasets"
)

// Any data becomes a Dataset by filling its fields; a Loader cuts it into
// shuffled mini-batches, here 10 examples in batches of 4 with the last,
// partial batch kept.
func ExampleNewLoader() {
	ds := &datasets.Dataset{
		Name:         "toy",
		ExampleShape: []int{2},
		X32:          make([]float32, 10*2),
		Labels:       []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1},
		Classes:      2,
	}
	loader, err := datasets.NewLoader(ds, datasets.WithBatchSize(4), datasets.WithShuffle(42))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("batches per epoch:", loader.BatchesPerEpoch())
	for epoch := range 2 {
		it := loader.Epoch(context.Background(), epoch)
		for b, ok := it.Next(); ok; b, ok = it.Next() {
			fmt.Printf("epoch %d: %d rows %v\n", epoch, b.Size, b.Index)
		}
		if err := it.Err(); err != nil {
			log.Fatal(err)
		}
		it.Close()
	}
	// Output:
	// batches per epoch: 3
	// epoch 0: 4 rows [0 7 9 5]
	// epoch 0: 4 rows [8 3 1 4]
	// epoch 0: 2 rows [6 2]
	// epoch 1: 4 rows [2 9 0 5]
	// epoch 1: 4 rows [8 7 3 4]
	// epoch 1: 2 rows [6 1]
}

// A grid of augmented digits shows what the transforms do: each row is one
// example, column 0 the original.
func ExampleWriteAugmentationPNG() {
	// A 16×16 "digit": a vertical bar with a foot.
	ds := &datasets.Dataset{ExampleShape: []int{1, 16, 16}, X32: make([]float32, 2*256), Labels: []int{1, 7}, Classes: 10}
	for i := range 2 {
		for y := 3; y < 13; y++ {
			ds.X32[i*256+y*16+7+i] = 1
		}
		for x := 5; x < 11; x++ {
			ds.X32[i*256+12*16+x] = 1
		}
	}
	dir, err := os.MkdirTemp("", "augment")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "augment.png")
	err = datasets.WriteAugmentationPNG(path, ds, 2, 1,
		datasets.RandomRotation(20), datasets.RandomShift(2), datasets.Normalize(datasets.MNISTMean, datasets.MNISTStd))
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		log.Fatal(err)
	}
	// 9 columns (original + 8 variants) and 2 rows of 16×16 cells
	// enlarged 5 times, 2-pixel gaps.
	fmt.Printf("%d×%d pixels\n", cfg.Width, cfg.Height)
	// Output: 740×166 pixels
}

// LoadMNIST works offline: it finds the files in -data, $ADAMANT_MNIST_DIR,
// the cache or the GoMNIST module copy, and downloads only when allowed.
func ExampleLoadMNIST() {
	train, test, err := datasets.LoadMNIST(context.Background(), datasets.WithDownloadProgress(os.Stderr))
	if err != nil {
		log.Fatal(err)
	}
	train, val, err := train.Split(1.0/12, 1) // 55,000 / 5,000
	if err != nil {
		log.Fatal(err)
	}
	loader, err := datasets.NewLoader(train,
		datasets.WithBatchSize(64),
		datasets.WithShuffle(1),
		datasets.WithTransforms(
			datasets.RandomRotation(10),
			datasets.RandomShift(2),
			datasets.Normalize(datasets.MNISTMean, datasets.MNISTStd),
		))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Len(), val.Len(), test.Len(), loader.BatchesPerEpoch())
}

// Split keeps a seeded, reproducible share of the examples for validation.
func ExampleDataset_Split() {
	ds := &datasets.Dataset{ExampleShape: []int{1}, X64: make([]float64, 100), Labels: make([]int, 100), Classes: 1}
	train, val, err := ds.Split(0.2, 7)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Len(), val.Len())
	// Output: 80 20
}
