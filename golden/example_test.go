package golden_test

import (
	"fmt"
	"path/filepath"

	"github.com/adamant-ml/adamant/golden"
)

// Check a PyTorch reference file of the "cnn" kind: the checker builds the
// network the file describes, trains it from the file's initial weights
// and compares every loss and the final weights.
func Example() {
	f, err := golden.Load(filepath.Join(golden.Dir(), "cnn-relu-adam.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := golden.Check(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s %s within %g: %v\n", f.Kind, r.Variant, r.Tolerance, r.OK())
	}
	// Output:
	// cnn float64 within 1e-08: true
}
