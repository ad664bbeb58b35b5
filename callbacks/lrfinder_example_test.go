package callbacks_test

import (
	"fmt"

	"github.com/adamant-ml/adamant/callbacks"
)

// The steepest-descent rule on a recorded curve: the loss falls fastest
// between 1e-3 and 1e-2, so the suggestion is 1e-3.
func ExampleSuggestLR() {
	lrs := []float64{1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}
	losses := []float64{2.30, 2.28, 2.10, 1.20, 0.90, 4.00}
	i := callbacks.SuggestLR(lrs, losses, 1, 1)
	fmt.Println("suggested lr:", lrs[i])
	// Output:
	// suggested lr: 0.001
}
