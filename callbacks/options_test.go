package callbacks_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/callbacks"
)

// TestOptionTypes pins which constructors take which option. A constructor
// takes an option exactly when the option's type implements the
// constructor's option interface, so this table is what the compiler
// enforces: callbacks.NewCSVLogger(path, callbacks.WithPatience(3)) does
// not compile ("PatienceOption does not implement CSVLoggerOption"). The
// test fails when an option gains or loses a constructor without the table
// (and the package documentation) saying so.
func TestOptionTypes(t *testing.T) {
	iface := func(p any) reflect.Type { return reflect.TypeOf(p).Elem() }
	constructors := []struct {
		name  string
		iface reflect.Type
	}{
		{"EarlyStopping", iface((*callbacks.EarlyStoppingOption)(nil))},
		{"ReduceLROnPlateau", iface((*callbacks.ReduceLROnPlateauOption)(nil))},
		{"ModelCheckpoint", iface((*callbacks.ModelCheckpointOption)(nil))},
		{"CSVLogger", iface((*callbacks.CSVLoggerOption)(nil))},
		{"ProgressBar", iface((*callbacks.ProgressBarOption)(nil))},
		{"TerminateOnNaN", iface((*callbacks.TerminateOnNaNOption)(nil))},
		{"OneCycleLR", iface((*callbacks.OneCycleLROption)(nil))},
	}
	options := []struct {
		name  string
		value any
		takes []string
	}{
		{"WithMonitor", callbacks.WithMonitor("val_loss"), []string{"EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint", "TerminateOnNaN"}},
		{"WithMode", callbacks.WithMode(callbacks.ModeMin), []string{"EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"}},
		{"WithPatience", callbacks.WithPatience(1), []string{"EarlyStopping", "ReduceLROnPlateau"}},
		{"WithWriter", callbacks.WithWriter(io.Discard), []string{"ProgressBar", "TerminateOnNaN"}},
		{"WithMinDelta", callbacks.WithMinDelta(0), []string{"EarlyStopping"}},
		{"WithBaseline", callbacks.WithBaseline(0), []string{"EarlyStopping"}},
		{"WithRestoreBestWeights", callbacks.WithRestoreBestWeights(true), []string{"EarlyStopping"}},
		{"WithStartFromEpoch", callbacks.WithStartFromEpoch(0), []string{"EarlyStopping"}},
		{"WithFactor", callbacks.WithFactor(0.5), []string{"ReduceLROnPlateau"}},
		{"WithThreshold", callbacks.WithThreshold(0), []string{"ReduceLROnPlateau"}},
		{"WithThresholdMode", callbacks.WithThresholdMode(callbacks.ThresholdAbs), []string{"ReduceLROnPlateau"}},
		{"WithCooldown", callbacks.WithCooldown(0), []string{"ReduceLROnPlateau"}},
		{"WithMinLR", callbacks.WithMinLR(0), []string{"ReduceLROnPlateau"}},
		{"WithEps", callbacks.WithEps(0), []string{"ReduceLROnPlateau"}},
		{"WithSaveBestOnly", callbacks.WithSaveBestOnly(true), []string{"ModelCheckpoint"}},
		{"WithAppend", callbacks.WithAppend(true), []string{"CSVLogger"}},
		{"WithSeparator", callbacks.WithSeparator(';'), []string{"CSVLogger"}},
		{"WithTerminal", callbacks.WithTerminal(true), []string{"ProgressBar"}},
		{"WithRefresh", callbacks.WithRefresh(1), []string{"ProgressBar"}},
		{"WithPctStart", callbacks.WithPctStart(0.3), []string{"OneCycleLR"}},
		{"WithAnnealStrategy", callbacks.WithAnnealStrategy(callbacks.AnnealCos), []string{"OneCycleLR"}},
		{"WithDivFactor", callbacks.WithDivFactor(25), []string{"OneCycleLR"}},
		{"WithFinalDivFactor", callbacks.WithFinalDivFactor(1e4), []string{"OneCycleLR"}},
		{"WithThreePhase", callbacks.WithThreePhase(true), []string{"OneCycleLR"}},
	}
	for _, o := range options {
		takes := map[string]bool{}
		for _, n := range o.takes {
			takes[n] = true
		}
		typ := reflect.TypeOf(o.value)
		for _, c := range constructors {
			if got := typ.Implements(c.iface); got != takes[c.name] {
				t.Errorf("%s (%v) implements %v: %t, want %t", o.name, typ, c.iface, got, takes[c.name])
			}
		}
	}
}

// TestMisplacedOptionDoesNotCompile type-checks a program that gives
// NewCSVLogger an option of EarlyStopping and ReduceLROnPlateau, and a
// correct one, with the package built from source: the first must be a
// type error naming both types, the second must check.
func TestMisplacedOptionDoesNotCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the package and its imports from source")
	}
	const src = `package p

import "github.com/adamant-ml/adamant/callbacks"

var _, _ = callbacks.NewCSVLogger("h.csv", callbacks.WithPatience(3))
var _, _ = callbacks.NewEarlyStopping(callbacks.WithPatience(3), callbacks.WithMonitor("val_accuracy"))
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil), Error: func(err error) { errs = append(errs, err.Error()) }}
	_, _ = conf.Check("p", fset, []*ast.File{f}, nil)
	if len(errs) != 1 {
		t.Fatalf("%d type errors, want 1 (line 5): %q", len(errs), errs)
	}
	for _, want := range []string{"p.go:5:", "PatienceOption", "CSVLoggerOption"} {
		if !strings.Contains(errs[0], want) {
			t.Errorf("type error %q does not contain %q", errs[0], want)
		}
	}
	t.Log(errs[0])
}
