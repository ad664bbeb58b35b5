package tuning_test

import (
	"context"
	"fmt"
	"math"

	"github.com/adamant-ml/adamant/tuning"
)

// Which parameter mattered? The toy loss depends strongly on the learning
// rate (on its log scale), less on β1, and not at all on the seed of
// a dice roll.
func ExampleLeaderboard_Importance() {
	space, err := tuning.ParseSpace("lr=log:1e-5:1e-1,beta1=0.8|0.9|0.95,dice=int:1:6")
	if err != nil {
		fmt.Println(err)
		return
	}
	objective := func(_ context.Context, t tuning.Trial, _ tuning.Reporter) (map[string]float64, error) {
		// Each product is rounded on its own (float64), so that no build
		// fuses it into an FMA and the output is the same everywhere.
		d := float64(math.Log10(t.Params.Float("lr"))) + 3
		return map[string]float64{"val_loss": float64(d*d) + float64(20*math.Abs(t.Params.Float("beta1")-0.9))}, nil
	}
	board, err := tuning.Run(context.Background(), space, tuning.Random(40, 1), objective)
	if err != nil {
		fmt.Println(err)
		return
	}
	imp, err := board.Importance()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(imp)
	// Output:
	// parameter importance for val_loss (fANOVA, 64 trees, 40 trials):
	//   parameter  importance  explains
	//   lr         0.730       0.639     ██████████████████████
	//   beta1      0.257       0.225     ████████
	//   dice       0.014       0.012
}
