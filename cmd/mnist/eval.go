package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/graph"
)

// cmdEval is `mnist eval`: the test loss, accuracy and confusion matrix of
// a checkpoint, with the model rebuilt from the settings the checkpoint
// carries (or, for an older checkpoint, the config.json beside it).
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	checkpoint := fs.String("checkpoint", "", "checkpoint to evaluate (a run's best.ckpt or last.ckpt, anywhere: it carries its run's settings)")
	cfgPath := fs.String("config", "", "a run's config.json to rebuild the model from (default: the settings inside the checkpoint, else the config.json next to it)")
	data := fs.String("data", "", "idx: the MNIST (or other IDX) directory (default: the run's -data, else found as for train)")
	testData := fs.String("test-data", "", "csv, tsv, images: the test set (default: the run's -test-data)")
	testLimit := fs.Int("test-limit", 0, "use only N test examples, chosen as train's -test-limit chooses them (0: all)")
	threads := fs.Int("threads", defaultConfig().Threads, "CPU threads, ≥ 1; default: the number of CPUs")
	fs.Usage = func() {
		printUsage(stderr, fs, "usage: mnist eval -checkpoint FILE [flags]\n\nEvaluates a checkpoint on the run's test set (MNIST unless it trained on other data).",
			[]flagGroup{{"Flags", []string{"checkpoint", "config", "data", "test-data", "test-limit", "threads"}}})
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *checkpoint == "" {
		return usagef("flag -checkpoint is required")
	}
	if _, err := os.Stat(*checkpoint); err != nil {
		return usagef("invalid value %q for flag -checkpoint: %v", *checkpoint, err)
	}
	ck, err := graph.ReadCheckpoint(*checkpoint)
	if err != nil {
		return usagef("invalid value %q for flag -checkpoint: %v", *checkpoint, err)
	}
	var c config
	if *cfgPath != "" {
		c, err = readConfig(*cfgPath)
	} else {
		c, _, err = savedConfig(ck)
	}
	if err != nil {
		return usagef("%v (pass -config)", err)
	}
	c.TestLimit, c.Threads, c.TrainLimit, c.ValFraction, c.Download = *testLimit, *threads, 1, 0, false
	// An IDX run is evaluated on its own -data directory's test files unless
	// -data says otherwise; the other formats read only -test-data.
	if *data != "" || c.DataFormat != formatIDX {
		c.Data = *data
	}
	c.evalOnly = true
	if *testData != "" {
		c.TestData = *testData
	}
	if err := c.validate(); err != nil {
		return err
	}
	setThreads(&c, c.Threads)
	d, err := loadData(ctx, &c, stderr, false)
	if err != nil {
		return err
	}
	model, err := buildModel(&c)
	if err != nil {
		return errors.Wrap(err, "building the model")
	}
	defer model.Close()
	if err := model.LoadWeightsFrom(ck); err != nil {
		return err
	}
	met, err := model.Evaluate(ctx, d.test)
	if err != nil {
		return err
	}
	out, err := model.Predict(ctx, d.test)
	if err != nil {
		return err
	}
	classes := max(d.test.Classes, out.Shape()[1])
	confusion := make([][]int, classes)
	for t := range confusion {
		confusion[t] = make([]int, classes)
	}
	rows := d.test.Len()
	for i := 0; i < rows; i++ {
		best, bestV := 0, 0.0
		for k := 0; k < out.Shape()[1]; k++ {
			v, err := out.At(i, k)
			if err != nil {
				return err
			}
			f := toFloat(v)
			if k == 0 || f > bestV {
				best, bestV = k, f
			}
		}
		confusion[d.test.Labels[i]][best]++
	}
	fmt.Fprint(stdout, formatConfusion(confusion, c.ClassNames))
	return printMetrics(stdout, map[string]float64{"test_loss": met.Loss, "test_accuracy": met.Accuracy}, "test_loss", "test_accuracy")
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// formatConfusion prints rows = true class, columns = predicted class,
// classes by index; named classes are listed after the matrix.
func formatConfusion(m [][]int, names []string) string {
	var b strings.Builder
	b.WriteString("confusion matrix (rows: true class, columns: predicted)\n     ")
	for k := range m {
		fmt.Fprintf(&b, "%6d", k)
	}
	b.WriteString("\n")
	for t, row := range m {
		fmt.Fprintf(&b, "%4d ", t)
		for _, n := range row {
			fmt.Fprintf(&b, "%6d", n)
		}
		b.WriteString("\n")
	}
	if len(names) > 0 {
		b.WriteString("classes:")
		for k, n := range names {
			fmt.Fprintf(&b, " %d=%s", k, n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// readConfig loads a run's config.json over the defaults, so that a config
// written by an older version still fills every field.
func readConfig(path string) (config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return defaultConfig(), errors.Wrap(err, "reading the run's configuration")
	}
	return decodeConfig(b, path)
}
