// Command goldencheck runs golden reference files (testdata/golden's
// format) against adamant and prints one line per file and variant:
//
//	file=adam-default.json variant=float64 max_rel_err=3.1e-15 tol=1e-08
//
// It exits 1 when any result is above its tolerance or a file cannot be
// checked, 2 on bad usage.
//
//	go run ./cmd/goldencheck testdata/golden/*.json
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/adamant-ml/adamant/golden"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goldencheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		f, err := golden.Load(path)
		if err == nil {
			var results []golden.Result
			results, err = golden.Check(f)
			for _, r := range results {
				fmt.Printf("file=%s variant=%s max_rel_err=%.3g tol=%g\n", filepath.Base(path), r.Variant, r.MaxRelErr, r.Tolerance)
				if !r.OK() {
					failed = true
				}
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "file=%s error=%q\n", filepath.Base(path), err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
