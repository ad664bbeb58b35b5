package callbacks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/adamant-ml/adamant/callbacks"
)

// TensorBoard writes an event file that `tensorboard --logdir DIR` plots
// and Katib's TensorFlowEvent collector reads. Here the hooks are called by
// hand, as graph.Fit calls them, for two epochs.
func ExampleNewTensorBoard() {
	dir, err := os.MkdirTemp("", "tensorboard-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	tb, err := callbacks.NewTensorBoard(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := &callbacks.State{Epochs: 2}
	if err := tb.OnTrainBegin(s); err != nil {
		fmt.Println(err)
		return
	}
	for epoch := range 2 {
		s.Epoch = epoch
		s.Logs = callbacks.Logs{callbacks.KeyLoss: 1 / float64(epoch+1), callbacks.KeyValAccuracy: 0.9}
		if err := tb.OnEpochEnd(s); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := tb.OnTrainEnd(s); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*.v2"))
	fmt.Println("event files:", len(files), strings.HasPrefix(filepath.Base(tb.Path()), "events.out.tfevents."))
	// Output:
	// event files: 1 true
}
