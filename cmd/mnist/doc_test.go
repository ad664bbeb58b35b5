package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// helpFlag is one "  -name type   usage (default X)" line of -h or of
// docs/cli.md.
var helpFlag = regexp.MustCompile(`^  -([a-z0-9-]+)\b.*?(?: \(default (.*)\))?$`)

// flagDefaults reads the flag lines of a -h text: name → the default the
// line states ("" when it states none).
func flagDefaults(text string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if g := helpFlag.FindStringSubmatch(l); g != nil {
			m[g[1]] = g[2]
		}
	}
	return m
}

// docSection returns the fenced -h block ("usage: …") under "## heading" in
// docs/cli.md.
func docSection(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("docs/cli.md has no %q section", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	_, block, ok := strings.Cut(rest, "```\nusage: ")
	if !ok {
		t.Fatalf("docs/cli.md's %q section has no -h block", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestCLIDocMatchesHelp keeps docs/cli.md in step with each command's -h:
// the same flags, and for each the same stated default (a default the
// usage explains itself, as -threads does, is stated by neither).
func TestCLIDocMatchesHelp(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, tc := range []struct {
		cmd, heading string
		// partial: the doc lists only the command's own flags and refers
		// to the train section for the rest.
		partial []string
	}{
		{"train", "mnist train", nil},
		{"eval", "mnist eval", nil},
		{"tune", "mnist tune", searchFlags},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			var help bytes.Buffer
			if code := run(context.Background(), []string{tc.cmd, "-h"}, &bytes.Buffer{}, &help); code != 0 {
				t.Fatalf("%s -h: exit %d", tc.cmd, code)
			}
			want, got := flagDefaults(help.String()), flagDefaults(docSection(t, doc, tc.heading))
			names := slices.Sorted(maps.Keys(want))
			if tc.partial != nil {
				names = tc.partial
			}
			for _, n := range names {
				d, ok := got[n]
				switch {
				case !ok:
					t.Errorf("docs/cli.md (%s) does not document -%s", tc.heading, n)
				case d != want[n]:
					t.Errorf("docs/cli.md (%s) gives -%s the default %q, -h says %q", tc.heading, n, d, want[n])
				}
			}
			for n := range got {
				if _, ok := want[n]; !ok {
					t.Errorf("docs/cli.md (%s) documents -%s, which %s does not have", tc.heading, n, tc.cmd)
				}
			}
		})
	}
}
