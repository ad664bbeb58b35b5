package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/datasets"
)

// Data formats -data-format accepts.
const (
	formatIDX    = "idx"
	formatCSV    = "csv"
	formatTSV    = "tsv"
	formatImages = "images"
)

var dataFormats = []string{formatIDX, formatCSV, formatTSV, formatImages}

// dataFlagNames are the flags registerDataFlags defines: the data's
// format and the output of TensorBoard logs.
var (
	dataFlagNames   = []string{"data-format", "test-data", "label-column", "image-size", "color"}
	outputFlagNames = []string{"tensorboard", "tensorboard-batches"}
)

// dataConfig is the part of a run's configuration that says what data it
// trains on and how that data was read, embedded in config (so its fields
// are config.json's top-level keys). The fields after the flags are not
// flags: training fills them from the data, config.json stores them, and
// `mnist eval` reads them back, so that it rebuilds the model for the same
// input shape and classes and transforms the test data exactly as training
// did (the standardisation fitted on the training split, the image size,
// the class order).
type dataConfig struct {
	DataFormat         string `json:"data_format"`
	TestData           string `json:"test_data"`
	LabelColumn        string `json:"label_column"`
	ImageSize          string `json:"image_size"`
	Color              string `json:"color"`
	TensorBoard        string `json:"tensorboard"`
	TensorBoardBatches int    `json:"tensorboard_batches"`

	// InputShape is the shape of one example ([1 28 28] for MNIST).
	InputShape []int `json:"input_shape,omitempty"`
	// Classes is the number of classes, ClassNames their names in label
	// order (CSV labels, image folder names; none for IDX).
	Classes    int      `json:"classes,omitempty"`
	ClassNames []string `json:"class_names,omitempty"`
	// Standardization is the per-column standardisation of tabular data,
	// fitted on the training split.
	Standardization *datasets.Standardization `json:"standardization,omitempty"`

	// evalOnly is set by `mnist eval`: only the test set is read.
	evalOnly bool
}

func defaultDataConfig() dataConfig {
	return dataConfig{DataFormat: formatIDX, LabelColumn: datasets.DefaultLabelColumn, Color: "gray"}
}

// Trials of a search share the data: none of these flags can be searched.
func init() {
	untunable = append(untunable, append(slices.Clone(dataFlagNames), outputFlagNames...)...)
}

// registerDataFlags defines the data-format and TensorBoard flags.
func registerDataFlags(fs *flag.FlagSet, d *dataConfig) {
	fs.StringVar(&d.DataFormat, "data-format", d.DataFormat, "format of -data: idx (MNIST's four IDX files; any set with their names, e.g. Fashion-MNIST), csv, tsv (a table with a header row), or images (root/CLASS/*.png|jpg)")
	fs.StringVar(&d.TestData, "test-data", d.TestData, "csv, tsv, images: the test set, in the same format as -data (required for them)")
	fs.StringVar(&d.LabelColumn, "label-column", d.LabelColumn, "csv, tsv: the header name of the class label column")
	fs.StringVar(&d.ImageSize, "image-size", d.ImageSize, "images: resize every image to `HxW` pixels, e.g. 32x32 (default: the size of the first image)")
	fs.StringVar(&d.Color, "color", d.Color, "images: gray (one channel) or rgb (three)")
	fs.StringVar(&d.TensorBoard, "tensorboard", d.TensorBoard, "write TensorBoard event files (loss, accuracy, val metrics, lr per epoch) into this `directory`")
	fs.IntVar(&d.TensorBoardBatches, "tensorboard-batches", d.TensorBoardBatches, "also log every N-th batch's loss and lr to TensorBoard (0: epochs only)")
}

// validateData checks the data flags; errors name the flag and its valid
// values.
func (c *config) validateData() error {
	d := &c.dataConfig
	if !slices.Contains(dataFormats, d.DataFormat) {
		return usagef("invalid value %q for flag -data-format: want %s", d.DataFormat, strings.Join(dataFormats, ", "))
	}
	if d.Color != "gray" && d.Color != "rgb" {
		return usagef("invalid value %q for flag -color: want gray or rgb", d.Color)
	}
	if _, _, err := parseImageSize(d.ImageSize); err != nil {
		return usagef("invalid value %q for flag -image-size: %v", d.ImageSize, err)
	}
	if d.LabelColumn == "" {
		return usagef("invalid value \"\" for flag -label-column: want a header name")
	}
	if d.TensorBoardBatches < 0 {
		return usagef("invalid value %d for flag -tensorboard-batches: want ≥ 0 (0: epochs only)", d.TensorBoardBatches)
	}
	tabular := d.DataFormat == formatCSV || d.DataFormat == formatTSV
	if tabular && c.Model == "cnn" {
		return usagef("-model cnn needs images (-data-format idx or images), not -data-format %s", d.DataFormat)
	}
	if tabular && hasAugmentation(c) {
		return usagef("-rotate, -shift and -flip need images (-data-format idx or images), not -data-format %s", d.DataFormat)
	}
	wantDir := d.DataFormat == formatIDX || d.DataFormat == formatImages
	what := map[string]string{
		formatIDX:    "the folder holding the four IDX files (train-images-idx3-ubyte, … gzipped or raw)",
		formatCSV:    "a CSV file with a header row",
		formatTSV:    "a TSV file with a header row",
		formatImages: "a folder of class folders, root/CLASS/*.png|jpg",
	}[d.DataFormat]
	check := func(flagName, path string) error {
		st, err := os.Stat(path)
		switch {
		case err != nil:
			return usagef("invalid value %q for flag -%s: %v (want %s)", path, flagName, errors.Cause(err), what)
		case wantDir && !st.IsDir():
			return usagef("invalid value %q for flag -%s: not a directory (want %s)", path, flagName, what)
		case !wantDir && st.IsDir():
			return usagef("invalid value %q for flag -%s: a directory (want %s)", path, flagName, what)
		}
		return nil
	}
	if d.DataFormat == formatIDX {
		if d.TestData != "" {
			return usagef("-test-data does not apply to -data-format idx: the -data folder holds the test files (t10k-*)")
		}
		if c.Data != "" {
			return check("data", c.Data)
		}
		return nil
	}
	if d.evalOnly && c.Data != "" {
		return usagef("-data does not apply to evaluating a -data-format %s run: pass its test set with -test-data", d.DataFormat)
	}
	if !d.evalOnly {
		if c.Data == "" {
			return usagef("-data-format %s needs -data: %s", d.DataFormat, what)
		}
		if err := check("data", c.Data); err != nil {
			return err
		}
	}
	if d.TestData == "" {
		return usagef("-data-format %s needs -test-data: the test set, %s", d.DataFormat, what)
	}
	return check("test-data", d.TestData)
}

// parseImageSize reads "HxW" or "N" (N×N); "" is 0, 0: the first image's
// size.
func parseImageSize(s string) (h, w int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	hs, ws, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		ws = hs
	}
	h, err1 := strconv.Atoi(strings.TrimSpace(hs))
	w, err2 := strconv.Atoi(strings.TrimSpace(ws))
	if err1 != nil || err2 != nil || h < 1 || w < 1 || h > 4096 || w > 4096 {
		return 0, 0, errors.New("want HxW with both in [1, 4096], e.g. 32x32, or one number for a square")
	}
	return h, w, nil
}

// readData reads the training and test sets -data-format names; train is
// nil for `mnist eval` on csv, tsv and images, which reads the test set
// only. It records the data's shape and classes in c (for the model and
// config.json).
func readData(ctx context.Context, c *config, progress io.Writer) (train, test *datasets.Dataset, err error) {
	d := &c.dataConfig
	switch d.DataFormat {
	case formatCSV, formatTSV:
		opts := []datasets.CSVOption{datasets.WithLabelColumn(d.LabelColumn)}
		if d.DataFormat == formatTSV {
			opts = append(opts, datasets.WithDelimiter('\t'))
		}
		if !d.evalOnly {
			if train, err = datasets.ReadCSVFile(c.Data, opts...); err != nil {
				return nil, nil, err
			}
			d.ClassNames = train.ClassNames
		}
		if test, err = datasets.ReadCSVFile(d.TestData, append(opts, datasets.WithLabelClasses(d.ClassNames...))...); err != nil {
			return nil, nil, errors.Wrap(err, "-test-data")
		}
	case formatImages:
		opts := []datasets.ImageFolderOption{datasets.WithRGB(d.Color == "rgb")}
		if h, w, _ := parseImageSize(d.ImageSize); h > 0 {
			opts = append(opts, datasets.WithImageSize(h, w))
		}
		if !d.evalOnly {
			if train, err = datasets.ReadImageFolder(c.Data, opts...); err != nil {
				return nil, nil, err
			}
			d.ClassNames, d.InputShape = train.ClassNames, train.ExampleShape
		}
		// The test images get the training images' size and classes.
		if len(d.InputShape) == 3 {
			opts = append(opts, datasets.WithImageSize(d.InputShape[1], d.InputShape[2]))
		}
		if test, err = datasets.ReadImageFolder(d.TestData, append(opts, datasets.WithFolderClasses(d.ClassNames...))...); err != nil {
			return nil, nil, errors.Wrap(err, "-test-data")
		}
	default:
		opts := []datasets.MNISTOption{datasets.WithDownload(c.Download), datasets.WithDownloadProgress(progress)}
		if c.Data != "" {
			opts = append(opts, datasets.WithDataDir(c.Data))
		}
		if train, test, err = datasets.LoadMNIST(ctx, opts...); err != nil {
			return nil, nil, err
		}
	}
	if !d.evalOnly {
		d.InputShape, d.Classes = slices.Clone(train.ExampleShape), train.Classes
	} else if d.Classes > 0 && test.Classes > d.Classes {
		return nil, nil, errors.Errorf("the test data has %d classes, the model was trained on %d", test.Classes, d.Classes)
	}
	if d.evalOnly && len(d.InputShape) > 0 && !slices.Equal(test.ExampleShape, d.InputShape) {
		return nil, nil, errors.Errorf("the test examples have shape %v, the model was trained on %v", test.ExampleShape, d.InputShape)
	}
	return train, test, nil
}

// limitRows applies -train-limit or -test-limit (n > 0): the first n rows
// of IDX data, as MNIST's files are in no particular order, but a seeded
// random n rows, kept in file order, of tables and image folders, whose
// rows may be, and in a folder always are, grouped by class, so that the
// first n would hold only the first classes.
func limitRows(c *config, ds *datasets.Dataset, n int) (*datasets.Dataset, error) {
	if n <= 0 || n >= ds.Len() {
		return ds, nil
	}
	if c.DataFormat == formatIDX {
		return ds.Head(n), nil
	}
	_, kept, err := ds.Split(float64(n)/float64(ds.Len()), c.Seed^limitSeedDomain)
	if err != nil {
		return nil, err
	}
	kept.Name = ds.Name
	return kept, nil
}

// limitSeedDomain separates the rows a limit keeps from the validation
// rows -val-fraction draws with the same seed.
const limitSeedDomain = 0x6c696d6974 // "limit"

// dataNormalization is the deterministic transform every example gets:
// MNIST's mean and standard deviation for images (IDX or folders: pixels
// in [0, 1], as torchvision's ToTensor then Normalize), and for tables
// the per-column standardisation, fitted on the training split only and
// kept in c so that eval applies the same one.
func dataNormalization(c *config, trainSplit *datasets.Dataset) (datasets.Transform, error) {
	d := &c.dataConfig
	if d.DataFormat != formatCSV && d.DataFormat != formatTSV {
		return normalize(), nil
	}
	if d.Standardization == nil || !d.evalOnly {
		s, err := datasets.FitStandardization(trainSplit)
		if err != nil {
			return nil, errors.Wrap(err, "standardising the training split")
		}
		d.Standardization = s
	}
	return d.Standardization, nil
}

// modelShape returns the model's input shape and number of outputs for the
// data: the example shape training recorded (MNIST's [1 28 28] and 10
// classes for configurations written before it was recorded), flattened
// for the MLP; the CNN needs [channels, height, width] images of at least
// 4×4 pixels (two 2×2 poolings).
func modelShape(c *config) (input []int, classes int, err error) {
	shape, classes := c.InputShape, c.Classes
	if len(shape) == 0 {
		shape = []int{1, 28, 28}
	}
	if classes == 0 {
		classes = mnistClasses
	}
	if c.Model != "cnn" {
		n := 1
		for _, s := range shape {
			n *= s
		}
		return []int{n}, classes, nil
	}
	if len(shape) != 3 || shape[1] < 4 || shape[2] < 4 {
		return nil, 0, usagef("-model cnn needs images of shape [channels, height, width] of at least 4×4 pixels, the data's examples have shape %v", shape)
	}
	return slices.Clone(shape), classes, nil
}

// tensorBoardCallback returns the -tensorboard callback, or nil. A trial
// of a search writes into its own subdirectory, named like its run
// directory, so that TensorBoard shows one run per trial.
func tensorBoardCallback(c *config, out runOutput) (callbacks.Callback, error) {
	if c.TensorBoard == "" {
		return nil, nil
	}
	dir := c.TensorBoard
	if out.quiet {
		dir = filepath.Join(dir, filepath.Base(c.Out))
	}
	tb, err := callbacks.NewTensorBoard(dir, callbacks.WithBatchScalars(c.TensorBoardBatches))
	if err != nil {
		return nil, errors.Wrap(err, "-tensorboard")
	}
	return tb, nil
}
