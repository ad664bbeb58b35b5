package datasets_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/adamant-ml/adamant/datasets"
	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/layers"
	"github.com/adamant-ml/adamant/solvers"
	"github.com/adamant-ml/adamant/train"
)

// writeFlowersCSV writes a small table: two measurements on scales a
// thousand times apart, whose means depend on the species.
func writeFlowersCSV(path string, rows int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("petal_mm,stem_m,species\n")
	species := []string{"iris", "daisy", "tulip"}
	for range rows {
		k := rng.IntN(len(species))
		fmt.Fprintf(&b, "%.2f,%.5f,%s\n", 20+15*float64(k)+4*rng.NormFloat64(), 0.3+0.01*float64(k%2)+0.005*rng.NormFloat64(), species[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// A CSV file becomes a Dataset; the standardisation is fitted on the
// training rows only and applied to both sets, and an MLP trains on it
// with train.Fit.
func ExampleReadCSVFile() {
	dir, err := os.MkdirTemp("", "csv-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	trainPath, testPath := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	if err := writeFlowersCSV(trainPath, 600, 1); err != nil {
		fmt.Println(err)
		return
	}
	if err := writeFlowersCSV(testPath, 150, 2); err != nil {
		fmt.Println(err)
		return
	}

	trainSet, err := datasets.ReadCSVFile(trainPath, datasets.WithLabelColumn("species"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The test set must index the classes as the training set does.
	test, err := datasets.ReadCSVFile(testPath, datasets.WithLabelColumn("species"), datasets.WithLabelClasses(trainSet.ClassNames...))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("classes:", trainSet.ClassNames, "features:", trainSet.ExampleShape)

	std, err := datasets.FitStandardization(trainSet)
	if err != nil {
		fmt.Println(err)
		return
	}
	if trainSet, err = trainSet.Apply(0, std); err != nil {
		fmt.Println(err)
		return
	}
	if test, err = test.Apply(0, std); err != nil {
		fmt.Println(err)
		return
	}

	model, err := graph.New(layers.Sequential(layers.Dense(16), layers.ReLU(), layers.Dense(trainSet.Classes)),
		graph.WithInputShape(trainSet.FeatureLen()), graph.WithTrainBatchSize(32), graph.WithSeed(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Close()
	adam, err := solvers.NewAdam(solvers.WithLearnRate(1e-2))
	if err != nil {
		fmt.Println(err)
		return
	}
	hist, err := train.Fit(context.Background(), model, adam, trainSet, train.WithEpochs(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	met, err := model.Evaluate(context.Background(), test)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("epochs:", len(hist.Epoch))
	fmt.Println("test accuracy above 0.9:", met.Accuracy > 0.9)
	// Output:
	// classes: [daisy iris tulip] features: [2]
	// epochs: 10
	// test accuracy above 0.9: true
}

// An image folder: one folder per class, classes in sorted order, every
// image converted to grey and resized to one size.
func ExampleReadImageFolder() {
	root, err := os.MkdirTemp("", "images-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	for _, f := range []struct {
		class  string
		size   int
		bright uint8
	}{{"dog", 16, 200}, {"cat", 10, 50}, {"cat", 12, 60}} {
		dir := filepath.Join(root, f.class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Println(err)
			return
		}
		img := image.NewGray(image.Rect(0, 0, f.size, f.size))
		for i := range img.Pix {
			img.Pix[i] = f.bright
		}
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", f.size)))
		if err != nil {
			fmt.Println(err)
			return
		}
		err = png.Encode(out, img)
		out.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	ds, err := datasets.ReadImageFolder(root, datasets.WithImageSize(8, 8))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("classes:", ds.ClassNames, "labels:", ds.Labels, "shape:", ds.ExampleShape)
	fmt.Printf("first pixel of each image: %.3f %.3f %.3f\n", ds.X32[0], ds.X32[64], ds.X32[128])
	// Output:
	// classes: [cat dog] labels: [0 0 1] shape: [1 8 8]
	// first pixel of each image: 0.196 0.235 0.784
}
