package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/adamant-ml/adamant/graph"
)

// TestCNNCheckpointSameForAnyThreadCount: training the CNN with one, two
// and three threads writes checkpoints whose weights and optimizer state
// are byte for byte the same: how the convolutions, pooling and Adam split
// their work never changes the order of a sum.
func TestCNNCheckpointSameForAnyThreadCount(t *testing.T) {
	sections := func(threads int) map[string][]byte {
		out := t.TempDir()
		stdout, stderr, code := runBinary(t, "train", "-model", "cnn", "-train-limit", "1280", "-test-limit", "200", "-epochs", "1",
			"-progress", "none", "-plots=false", "-seed", "3", "-threads", strconv.Itoa(threads), "-out", out)
		if code != 0 {
			t.Fatalf("%d threads: exit %d\n%s\n%s", threads, code, stdout, stderr)
		}
		c, err := graph.ReadCheckpoint(filepath.Join(out, lastFile))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, name := range []string{"weights", "solver"} {
			b, ok := c.Section(name)
			if !ok {
				t.Fatalf("%d threads: checkpoint has no %q section (it has %v)", threads, name, c.SectionNames())
			}
			got[name] = b
		}
		return got
	}
	want := sections(1)
	for _, threads := range []int{2, 3} {
		for name, b := range sections(threads) {
			if !bytes.Equal(b, want[name]) {
				t.Errorf("%d threads: the %s section differs from one thread's", threads, name)
			}
		}
	}
}
