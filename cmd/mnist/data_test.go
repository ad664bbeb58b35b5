package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/datasets"
)

// writeStripes writes an image folder of 8×8 grey PNGs: class "horizontal"
// has bright rows, "vertical" bright columns, "dots" a bright centre, each
// image with its own noise.
func writeStripes(t *testing.T, root string, perClass int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, class := range []string{"vertical", "horizontal", "dots"} {
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			img := image.NewGray(image.Rect(0, 0, 8, 8))
			for y := range 8 {
				for x := range 8 {
					on := map[string]bool{"horizontal": y%2 == 0, "vertical": x%2 == 0, "dots": x >= 3 && x <= 4 && y >= 3 && y <= 4}[class]
					v := 40 + rng.IntN(40)
					if on {
						v += 150
					}
					img.SetGray(x, y, color.Gray{Y: uint8(v)})
				}
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// trainWell runs `mnist train args...` and returns its test metrics,
// failing unless it exits 0 with a test accuracy of at least minAccuracy.
func trainWell(t *testing.T, minAccuracy float64, args ...string) map[string]float64 {
	t.Helper()
	stdout, stderr, code := runBinary(t, append([]string{"train", "-progress", "none", "-plots=false"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	final := metricLine(t, stdout, "test_accuracy")
	if final["test_accuracy"] < minAccuracy {
		t.Errorf("test accuracy %v, want ≥ %v\n%s", final["test_accuracy"], minAccuracy, stdout)
	}
	return final
}

// evalAgrees runs `mnist eval` on the run's last checkpoint, fails unless
// it reports the test loss and accuracy training reported, and returns
// its output.
func evalAgrees(t *testing.T, runDir string, final map[string]float64) string {
	t.Helper()
	evalOut, evalErr, code := runBinary(t, "eval", "-checkpoint", filepath.Join(runDir, lastFile))
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, evalErr)
	}
	if got := metricLine(t, evalOut, "test_accuracy"); got["test_accuracy"] != final["test_accuracy"] || got["test_loss"] != final["test_loss"] {
		t.Errorf("eval %v, train %v", got, final)
	}
	return evalOut
}

func readRunConfig(t *testing.T, dir string) config {
	t.Helper()
	c, err := readConfig(filepath.Join(dir, configFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImageFolderEndToEnd trains the MLP on grey and the CNN on RGB
// images of a folder the test writes, then evaluates the checkpoint: the
// model is built for the folder's image shape and class count, and eval
// agrees with train.
func TestImageFolderEndToEnd(t *testing.T) {
	root := t.TempDir()
	writeStripes(t, filepath.Join(root, "train"), 40, 1)
	writeStripes(t, filepath.Join(root, "test"), 10, 2)
	for _, tc := range []struct {
		model, color string
		channels     int
	}{{"mlp", "gray", 1}, {"cnn", "rgb", 3}} {
		t.Run(tc.model+"-"+tc.color, func(t *testing.T) {
			out, tb := filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "tb")
			final := trainWell(t, 0.9, "-data-format", "images", "-data", filepath.Join(root, "train"),
				"-test-data", filepath.Join(root, "test"), "-model", tc.model, "-color", tc.color, "-hidden", "16", "-epochs", "6", "-lr", "0.01",
				"-batch-size", "16", "-val-fraction", "0.2", "-out", out, "-tensorboard", tb)
			c := readRunConfig(t, out)
			if !slices.Equal(c.InputShape, []int{tc.channels, 8, 8}) || c.Classes != 3 || !slices.Equal(c.ClassNames, []string{"dots", "horizontal", "vertical"}) {
				t.Fatalf("config.json: input %v, %d classes %q", c.InputShape, c.Classes, c.ClassNames)
			}
			events, _ := filepath.Glob(filepath.Join(tb, "events.out.tfevents.*"))
			if len(events) != 1 {
				t.Errorf("TensorBoard directory holds %v, want one event file", events)
			}
			evalOut := evalAgrees(t, out, final)
			if !strings.Contains(evalOut, "0=dots 1=horizontal 2=vertical") {
				t.Errorf("eval does not name the classes:\n%s", evalOut)
			}
		})
	}
}

// writeBlobsCSV writes a three-class table: the class decides the means of
// two features on very different scales, plus a noise column.
func writeBlobsCSV(t *testing.T, path string, rows int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	var b strings.Builder
	b.WriteString("height_mm,species,weight_kg,noise\n")
	names := []string{"setosa", "versicolor", "virginica"}
	for range rows {
		k := rng.IntN(3)
		fmt.Fprintf(&b, "%.1f,%s,%.4f,%.3f\n", 1000+300*float64(k)+40*rng.NormFloat64(), names[k], 0.01*float64(k)+0.002*rng.NormFloat64(), rng.Float64())
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCSVEndToEnd trains on a CSV file: the standardisation in config.json
// is the one of the training split alone, and eval applies it again.
func TestCSVEndToEnd(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	writeBlobsCSV(t, train, 300, 1)
	writeBlobsCSV(t, test, 90, 2)
	out := filepath.Join(dir, "run")
	final := trainWell(t, 0.9, "-data-format", "csv", "-data", train, "-test-data", test, "-label-column", "species",
		"-hidden", "16", "-epochs", "8", "-lr", "0.01", "-batch-size", "16", "-val-fraction", "0.2", "-out", out)
	c := readRunConfig(t, out)
	if !slices.Equal(c.InputShape, []int{3}) || c.Classes != 3 || c.ClassNames[2] != "virginica" || c.Standardization == nil {
		t.Fatalf("config.json: input %v, classes %q, standardization %v", c.InputShape, c.ClassNames, c.Standardization)
	}
	// The statistics are those of the 240 training rows, not of all 300.
	all, err := datasets.ReadCSVFile(train, datasets.WithLabelColumn("species"))
	if err != nil {
		t.Fatal(err)
	}
	trainSplit, _, err := all.Split(0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := datasets.FitStandardization(trainSplit)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Standardization.Mean, want.Mean) || !slices.Equal(c.Standardization.Std, want.Std) {
		t.Errorf("stored standardisation %+v, want the training split's %+v", c.Standardization, want)
	}
	whole, _ := datasets.FitStandardization(all)
	if slices.Equal(c.Standardization.Mean, whole.Mean) {
		t.Errorf("the standardisation saw the validation rows")
	}
	evalAgrees(t, out, final)

	// Another test file, standardised with the stored fit, not its own.
	other := filepath.Join(dir, "other.csv")
	writeBlobsCSV(t, other, 60, 3)
	evalOut, evalErr, code := runBinary(t, "eval", "-checkpoint", filepath.Join(out, lastFile), "-test-data", other)
	if code != 0 || metricLine(t, evalOut, "test_accuracy")["test_accuracy"] < 0.9 {
		t.Errorf("eval -test-data %s: exit %d\n%s%s", other, code, evalOut, evalErr)
	}
	if _, evalErr, code := runBinary(t, "eval", "-checkpoint", filepath.Join(out, lastFile), "-data", other); code != 2 || !strings.Contains(evalErr, "-test-data") {
		t.Errorf("eval -data on a csv run: exit %d, %s; want 2 and a pointer to -test-data", code, evalErr)
	}
}

// TestIDXDirectoryEndToEnd: -data takes an IDX set with MNIST's names but
// its own image size and classes (as Fashion-MNIST would be used).
func TestIDXDirectoryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	write := func(name string, magic uint32, dims []uint32, payload []byte) {
		var b bytes.Buffer
		bin.Write(&b, bin.BigEndian, magic)
		bin.Write(&b, bin.BigEndian, dims)
		b.Write(payload)
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", 120}, {"t10k", 30}} {
		pix, labels := make([]byte, set.n*36), make([]byte, set.n)
		for i := range labels {
			labels[i] = byte(rng.IntN(4)) * 3 // classes 0, 3, 6, 9 of 10
			for p := range 36 {
				pix[i*36+p] = byte(rng.IntN(50))
			}
			pix[i*36+int(labels[i])] = 255 // the class lights one pixel
		}
		write(set.prefix+"-images-idx3-ubyte", 0x803, []uint32{uint32(set.n), 6, 6}, pix)
		write(set.prefix+"-labels-idx1-ubyte", 0x801, []uint32{uint32(set.n)}, labels)
	}
	out := filepath.Join(t.TempDir(), "run")
	final := trainWell(t, 0.9, "-data", dir, "-hidden", "16", "-epochs", "5", "-lr", "0.01", "-batch-size", "16", "-out", out)
	c := readRunConfig(t, out)
	if !slices.Equal(c.InputShape, []int{1, 6, 6}) || c.Classes != 10 {
		t.Fatalf("config.json: input %v, %d classes, want [1 6 6] and 10", c.InputShape, c.Classes)
	}
	// eval reads the run's own -data directory, not MNIST.
	evalAgrees(t, out, final)
}

func TestDataFlagErrors(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "t.csv")
	os.WriteFile(csvPath, []byte("x,label\n1,a\n2,b\n"), 0o644)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("x,label\n1,a\nfoo,b\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-data-format", "parquet"}, 2, "-data-format"},
		{[]string{"-data-format", "csv", "-test-data", csvPath}, 2, "needs -data"},
		{[]string{"-data-format", "csv", "-data", csvPath}, 2, "needs -test-data"},
		{[]string{"-data-format", "csv", "-data", dir, "-test-data", csvPath}, 2, "a directory"},
		{[]string{"-data-format", "csv", "-data", csvPath, "-test-data", csvPath, "-model", "cnn"}, 2, "-model cnn needs images"},
		{[]string{"-data-format", "csv", "-data", csvPath, "-test-data", csvPath, "-rotate", "10"}, 2, "need images"},
		{[]string{"-data-format", "images", "-data", csvPath, "-test-data", dir}, 2, "not a directory"},
		{[]string{"-image-size", "12y"}, 2, "-image-size"},
		{[]string{"-color", "sepia"}, 2, "-color"},
		{[]string{"-tensorboard-batches", "-1"}, 2, "-tensorboard-batches"},
		{[]string{"-test-data", csvPath}, 2, "does not apply to -data-format idx"},
		{[]string{"-data-format", "csv", "-data", bad, "-test-data", csvPath, "-out", filepath.Join(dir, "run")}, 1, `line 3, column "x": "foo" is not a number`},
	}
	for _, tc := range tests {
		_, stderr, code := runBinary(t, append([]string{"train"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestDataConfigIsFlat: the data fields sit at the top level of
// config.json, next to the other flags.
func TestDataConfigIsFlat(t *testing.T) {
	c := defaultConfig()
	c.InputShape, c.Classes = []int{4}, 2
	b, err := marshalConfig(&c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"data_format", "test_data", "label_column", "image_size", "color", "tensorboard", "input_shape", "classes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("config.json lacks top-level %q", k)
		}
	}
}

// TestTuneOnCSVWithTensorBoard: a search over a CSV table shares the
// data and its standardisation, and every trial writes its own
// TensorBoard run.
func TestTuneOnCSVWithTensorBoard(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	writeBlobsCSV(t, train, 200, 1)
	writeBlobsCSV(t, test, 50, 2)
	tb := filepath.Join(dir, "tb")
	stdout, stderr, code := runBinary(t, "tune", "-data-format", "csv", "-data", train, "-test-data", test, "-label-column", "species",
		"-space", "lr=log:1e-3:1e-2", "-trials", "2", "-epochs", "2", "-hidden", "8", "-plots=false", "-out", filepath.Join(dir, "search"), "-tensorboard", tb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	runs, _ := filepath.Glob(filepath.Join(tb, "*", "events.out.tfevents.*"))
	if len(runs) != 2 {
		t.Errorf("TensorBoard runs %v, want one per trial", runs)
	}
	if _, _, code := runBinary(t, "tune", "-data-format", "csv", "-data", train, "-test-data", test, "-space", "color=gray|rgb"); code != 2 {
		t.Errorf("searching -color: exit %d, want 2 (data flags cannot be searched)", code)
	}
}

// TestLimitRowsKeepsClasses: a limit on an image folder (rows grouped by
// class) draws its rows, so every class stays; on IDX data it keeps the
// first rows.
func TestLimitRowsKeepsClasses(t *testing.T) {
	root := t.TempDir()
	writeStripes(t, root, 20, 1)
	c := defaultConfig()
	c.DataFormat = formatImages
	ds, err := datasets.ReadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := limitRows(&c, ds, 15)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, l := range kept.Labels {
		seen[l] = true
	}
	if kept.Len() != 15 || len(seen) != 3 {
		t.Fatalf("limit 15 of 60 kept %d rows of %d classes, want 15 of all 3", kept.Len(), len(seen))
	}
	again, _ := limitRows(&c, ds, 15)
	if !slices.Equal(again.X32, kept.X32) {
		t.Fatal("the same seed chose other rows")
	}
	c.DataFormat = formatIDX
	if head, _ := limitRows(&c, ds, 15); !slices.Equal(head.Labels, ds.Labels[:15]) {
		t.Fatalf("idx limit kept %v, want the first 15 rows", head.Labels)
	}
}

// TestReadDataTSV reads a TSV pair through the CLI's reader: the test
// file's classes follow the training file's.
func TestReadDataTSV(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train.tsv"), filepath.Join(dir, "test.tsv")
	os.WriteFile(train, []byte("a\tkind\tb\n1\tz\t2\n3\ty\t4\n5\tx\t6\n"), 0o644)
	os.WriteFile(test, []byte("a\tkind\tb\n7\tz\t8\n"), 0o644)
	c := defaultConfig()
	c.DataFormat, c.Data, c.TestData, c.LabelColumn = formatTSV, train, test, "kind"
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	tr, te, err := readData(context.Background(), &c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.ClassNames, []string{"x", "y", "z"}) || !slices.Equal(c.InputShape, []int{2}) || c.Classes != 3 {
		t.Fatalf("config: classes %q shape %v", c.ClassNames, c.InputShape)
	}
	if !slices.Equal(tr.Labels, []int{2, 1, 0}) || !slices.Equal(te.Labels, []int{2}) || !slices.Equal(te.X32, []float32{7, 8}) {
		t.Fatalf("train labels %v, test labels %v X %v", tr.Labels, te.Labels, te.X32)
	}
}
