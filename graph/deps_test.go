package graph

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGraphLinksNoDataOrLoop: graph is the compiled model only. A program
// that uses it must not link the training loop's callbacks, the datasets
// package, or what datasets pulls in to fetch MNIST (net/http, the GoMNIST
// module).
func TestGraphLinksNoDataOrLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	// One line per dependency: its path, then the packages it imports.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := func(pkg string) bool {
		switch pkg {
		case "github.com/adamant-ml/adamant/callbacks", "github.com/adamant-ml/adamant/datasets",
			"github.com/adamant-ml/adamant/train", "net/http":
			return true
		}
		return strings.Contains(pkg, "GoMNIST")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if forbidden(imp) {
				t.Errorf("graph depends on %s (imported by %s); graph must take data through its BatchSource interface and leave the loop to train", imp, fields[0])
			}
		}
	}
}

// gorgoniaVersion is the Gorgonia module the build selects (go.mod's,
// after any replace directive).
func gorgoniaVersion() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}{{with .Replace}} => {{.Path}} {{.Version}}{{end}}", "gorgonia.org/gorgonia").Output()
	if err != nil {
		return "(version unknown: go list -m failed: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// TestDirectRunIsTakenWithPinnedGorgonia: with the Gorgonia in go.mod,
// both machines run their programs through the reflected direct run. If an
// upgrade changes the internals directRun reads, training silently falls
// back to the slower RunAll; this test fails instead, naming the version.
func TestDirectRunIsTakenWithPinnedGorgonia(t *testing.T) {
	m := newModel(t, 0)
	if m.train.direct == nil || m.infer.direct == nil {
		t.Fatalf("gorgonia.org/gorgonia %s: the tape machine's instruction list was not found by reflection "+
			"(direct run: training %v, inference %v), so programs run through RunAll; update graph/machine.go "+
			"(newDirectRun) for this version or pin v0.9.18",
			gorgoniaVersion(), m.train.direct != nil, m.infer.direct != nil)
	}
	if v := gorgoniaVersion(); v != "v0.9.18" {
		t.Logf("direct run works with gorgonia.org/gorgonia %s (machine.go was written against v0.9.18)", v)
	}
}
