package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/adamant-ml/adamant/internal/atomicfile"
)

func Example() {
	dir, _ := os.MkdirTemp("", "atomicfile")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.json")
	// A temporary file that a killed write left behind.
	_ = os.WriteFile(filepath.Join(dir, ".config.json.tmp-123456"), []byte("{"), 0o644)

	removed, _ := atomicfile.RemoveStale(dir)
	fmt.Println("removed", removed)
	if err := atomicfile.WriteBytes(path, []byte(`{"lr": 0.001}`)); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output:
	// removed [.config.json.tmp-123456]
	// {"lr": 0.001}
}
