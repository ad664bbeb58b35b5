package tuning_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/adamant-ml/adamant/tuning"
)

// A toy objective: a bowl with its minimum at lr = 1e-3, beta1 = 0.9. A real
// objective builds a model, fits it for t.Epochs epochs with
// tuning.ReportCallback(r) among its callbacks, and returns the last
// epoch's logs.
func ExampleRun() {
	space, err := tuning.ParseSpace("lr=log:1e-4:1e-2,beta1=0.8|0.9|0.95")
	if err != nil {
		fmt.Println(err)
		return
	}
	objective := func(ctx context.Context, t tuning.Trial, r tuning.Reporter) (map[string]float64, error) {
		d := math.Log10(t.Params.Float("lr")) + 3
		loss := d*d + 10*math.Pow(t.Params.Float("beta1")-0.9, 2)
		return map[string]float64{"val_loss": loss}, nil
	}
	board, err := tuning.Run(context.Background(), space, tuning.Grid(3), objective,
		tuning.WithConcurrentTrials(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(board)
	best, _ := board.Best()
	fmt.Printf("best: lr=%g beta1=%g\n", best.Trial.Params.Float("lr"), best.Trial.Params.Float("beta1"))
	// Output:
	// rank  trial  status  val_loss  lr      beta1
	// 1     4      ok      0         0.001   0.9
	// 2     5      ok      0.025     0.001   0.95
	// 3     3      ok      0.1       0.001   0.8
	// 4     1      ok      1         0.0001  0.9
	// 5     7      ok      1         0.01    0.9
	// 6     2      ok      1.025     0.0001  0.95
	// 7     8      ok      1.025     0.01    0.95
	// 8     0      ok      1.1       0.0001  0.8
	// 9     6      ok      1.1       0.01    0.8
	// best: lr=0.001 beta1=0.9
}

func ExampleParseSpace() {
	space, err := tuning.ParseSpace("lr=log:1e-4:1e-2, beta1=0.8|0.9|0.95, batch-size=int:32:256, schedule=none|cosine")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range space.Dimensions() {
		fmt.Println(d)
	}
	_, err = tuning.ParseSpace("lr=log:0:1e-2")
	fmt.Println(err)
	// Output:
	// lr=log:0.0001:0.01
	// beta1=0.8|0.9|0.95
	// batch-size=int:32:256
	// schedule=none|cosine
	// tuning: dimension "lr": log-uniform range needs lo > 0, got lo = 0
}

// The per-epoch line of a training process that Katib can read: the
// epoch number first, then the logs.
func ExampleFormatMetrics() {
	logs := map[string]float64{"epoch": 3, "val_loss": 0.0934, "loss": 0.0812, "accuracy": 0.9751, "val_accuracy": 0.9712, "lr": 1e-05}
	if err := tuning.FormatMetrics(os.Stdout, logs, "epoch", "loss", "accuracy", "val_loss", "val_accuracy"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// epoch=3 loss=0.0812 accuracy=0.9751 val_loss=0.0934 val_accuracy=0.9712 lr=1e-05
}

// The same line with its time first, for Katib's StdOut collector when
// trials are stopped early (medianstop); a real trial passes time.Now().
func ExampleFormatTimestampedMetrics() {
	at := time.Date(2026, 12, 2, 18, 4, 5, 123456789, time.UTC)
	logs := map[string]float64{"epoch": 3, "loss": 0.0812, "val_loss": 0.0934}
	if err := tuning.FormatTimestampedMetrics(os.Stdout, at, logs, "epoch", "loss", "val_loss"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2026-12-02T18:04:05.123456Z epoch=3 loss=0.0812 val_loss=0.0934
}

// A JSON metrics line for Katib's File collector (format JSON): every value
// a string, since Katib reads no others; a NaN becomes null.
func ExampleFormatMetricsJSON() {
	at := time.Date(2026, 12, 2, 18, 4, 5, 123456789, time.UTC)
	logs := map[string]float64{"epoch": 3, "loss": math.NaN(), "val_loss": 0.0934}
	if err := tuning.FormatMetricsJSON(os.Stdout, at, logs, "epoch", "loss", "val_loss"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"timestamp":"2026-12-02T18:04:05.123456Z","epoch":"3","loss":null,"val_loss":"0.0934"}
}

// Successive halving over 9 configurations: rung 0 trains each for 1 epoch,
// the best 3 continue to 3 epochs, the best of those to 9.
func ExampleHalving() {
	space, err := tuning.ParseSpace("lr=log:1e-4:1e-2")
	if err != nil {
		fmt.Println(err)
		return
	}
	objective := func(ctx context.Context, t tuning.Trial, r tuning.Reporter) (map[string]float64, error) {
		d := math.Log10(t.Params.Float("lr")) + 3
		return map[string]float64{"val_loss": d*d + 1/float64(t.Epochs)}, nil
	}
	board, err := tuning.Run(context.Background(), space, tuning.Halving(9, 1, 1, 9, 3), objective)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(board)
	// Output:
	// rank  trial  rung  epochs  status  val_loss  lr
	// 1     3      2     9       ok      0.111619  0.0009494
	// 2     3      1     3       ok      0.333841  0.0009494
	// 3     2      1     3       pruned  0.342955  0.001253
	// 4     0      1     3       pruned  0.380642  0.000606
	// 5     3      0     1       ok      1.00051   0.0009494
	// 6     2      0     1       ok      1.00962   0.001253
	// 7     0      0     1       ok      1.04731   0.000606
	// 8     4      0     1       pruned  1.07894   0.00191
	// 9     5      0     1       pruned  1.21544   0.0003434
	// 10    6      0     1       pruned  1.25337   0.003187
	// 11    7      0     1       pruned  1.49305   0.005037
	// 12    8      0     1       pruned  1.70653   0.006927
	// 13    1      0     1       pruned  1.91689   0.0001103
}

// TPE with median stopping: the objective reports every epoch, and trials
// whose best loss so far is worse than the median of the completed trials
// at that epoch are stopped.
func ExampleTPE() {
	space, err := tuning.ParseSpace("lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	if err != nil {
		fmt.Println(err)
		return
	}
	objective := func(ctx context.Context, t tuning.Trial, r tuning.Reporter) (map[string]float64, error) {
		d := math.Log10(t.Params.Float("lr")) + 3
		var m map[string]float64
		for epoch := range 4 {
			if err := ctx.Err(); err != nil { // how a pruner stops the trial
				return nil, err
			}
			m = map[string]float64{"val_loss": d*d + math.Abs(t.Params.Float("beta1")-0.9) + 1/float64(epoch+1)}
			r.Report(epoch, m)
		}
		return m, nil
	}
	board, err := tuning.Run(context.Background(), space, tuning.TPE(30, 1), objective,
		tuning.WithConcurrentTrials(2), tuning.WithPruner(tuning.MedianStopping(1, 3)))
	if err != nil {
		fmt.Println(err)
		return
	}
	pruned := 0
	for _, r := range board.Results {
		if r.Status == tuning.StatusPruned {
			pruned++
		}
	}
	best, _ := board.Best()
	fmt.Printf("%d trials, %d pruned; best lr %.1e\n", len(board.Results), pruned, best.Trial.Params.Float("lr"))
	// Output:
	// 30 trials, 11 pruned; best lr 1.1e-03
}

func ExampleHyperbandBrackets() {
	brackets, err := tuning.HyperbandBrackets(1, 27, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range brackets {
		fmt.Println(b)
	}
	// Output:
	// [{27 1} {9 3} {3 9} {1 27}]
	// [{12 3} {4 9} {1 27}]
	// [{6 9} {2 27}]
	// [{4 27}]
}

func ExampleBOHB() {
	space, err := tuning.ParseSpace("lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The objective trains t.Epochs epochs in all; a promoted trial would
	// resume from its checkpoint in t.Dir.
	objective := func(_ context.Context, t tuning.Trial, _ tuning.Reporter) (map[string]float64, error) {
		d := math.Log10(t.Params.Float("lr")) + 3
		return map[string]float64{"val_loss": d*d + math.Abs(t.Params.Float("beta1")-0.9) + 1/float64(t.Epochs)}, nil
	}
	board, err := tuning.Run(context.Background(), space, tuning.BOHB(1, 1, 9, 3, tuning.BOHBRounds(2)), objective,
		tuning.WithConcurrentTrials(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	best, _ := board.Best()
	fmt.Printf("%d runs; best trained %d epochs, lr %.1e\n", len(board.Results), best.Trial.Epochs, best.Trial.Params.Float("lr"))
	// Output:
	// 44 runs; best trained 9 epochs, lr 8.6e-04
}
