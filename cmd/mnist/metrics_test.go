package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tiny is the smallest run that still has validation and two epochs.
var tiny = []string{"-train-limit", "1000", "-test-limit", "200", "-epochs", "2", "-progress", "none", "-plots=false"}

// timingPair matches the pairs that measure time: the only content of a
// metric line, apart from its timestamp, that differs between two runs.
var timingPair = regexp.MustCompile(`\s*"?\w*seconds"?[=:]"?[0-9.e+-]+"?`)

// stripTimestamp splits a katib-text line into its time and its pairs.
func stripTimestamp(t *testing.T, line string) (time.Time, string) {
	t.Helper()
	first, rest, ok := strings.Cut(line, " ")
	at, err := time.Parse(time.RFC3339Nano, first)
	if !ok || err != nil || !strings.HasSuffix(first, "Z") {
		t.Fatalf("line %q does not start with an RFC 3339 UTC time: %v", line, err)
	}
	return at, rest
}

func TestMetricsFormatKatibText(t *testing.T) {
	plain, stderr, code := runBinary(t, append([]string{"train", "-out", t.TempDir()}, tiny...)...)
	if code != 0 {
		t.Fatalf("text run: exit %d\n%s", code, stderr)
	}
	start := time.Now().UTC().Truncate(time.Microsecond)
	stamped, stderr, code := runBinary(t, append([]string{"train", "-out", t.TempDir(), "-metrics-format", "katib-text"}, tiny...)...)
	if code != 0 {
		t.Fatalf("katib-text run: exit %d\n%s", code, stderr)
	}
	end := time.Now().UTC()
	plainLines := strings.Split(strings.TrimSpace(plain), "\n")
	stampedLines := strings.Split(strings.TrimSpace(stamped), "\n")
	if len(stampedLines) != 3 || len(plainLines) != 3 {
		t.Fatalf("want 2 epoch lines and the test line:\n%s\n%s", plain, stamped)
	}
	prev := start
	for i, line := range stampedLines {
		at, pairs := stripTimestamp(t, line)
		if at.Before(prev) || at.After(end) {
			t.Errorf("line %d time %v, want within [%v, %v] and not before the previous line's", i, at, prev, end)
		}
		prev = at
		// Same seed, same machine: the same pairs as the text line.
		if got, want := timingPair.ReplaceAllString(pairs, ""), timingPair.ReplaceAllString(plainLines[i], ""); got != want {
			t.Errorf("line %d: pairs %q, the text run printed %q", i, got, want)
		}
	}
}

func TestMetricsFormatKatibJSONFile(t *testing.T) {
	dir := t.TempDir()
	out, file := filepath.Join(dir, "run"), filepath.Join(dir, "metrics.json")
	stdout, stderr, code := runBinary(t, append([]string{"train", "-out", out, "-metrics-format", "katib-json", "-metrics-file", file}, tiny...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "epoch=1 loss=") || strings.Count(stdout, "\n") != 3 {
		t.Errorf("stdout should keep the text lines:\n%s", stdout)
	}
	check := func(wantEpochs []string) {
		t.Helper()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != len(wantEpochs) {
			t.Fatalf("%d JSON lines, want %d:\n%s", len(lines), len(wantEpochs), data)
		}
		for i, line := range lines {
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Fatalf("line %d %q: %v", i, line, err)
			}
			ts, _ := obj["timestamp"].(string)
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("line %d: timestamp %q: %v", i, ts, err)
			}
			keys := []string{"epoch", "val_loss", "val_accuracy"}
			if wantEpochs[i] == "" {
				keys = []string{"test_loss", "test_accuracy"}
			}
			for _, k := range keys {
				if _, ok := obj[k].(string); !ok {
					t.Errorf("line %d: %s = %#v, want a string (Katib reads no other values)", i, k, obj[k])
				}
			}
			if e, _ := obj["epoch"].(string); e != wantEpochs[i] {
				t.Errorf("line %d: epoch %q, want %q", i, e, wantEpochs[i])
			}
		}
	}
	check([]string{"1", "2", ""})
	// A resumed run appends its epochs to the file.
	_, stderr, code = runBinary(t, "train", "-resume", filepath.Join(out, lastFile), "-train-limit", "1000", "-test-limit", "200", "-epochs", "3",
		"-progress", "none", "-plots=false", "-metrics-format", "katib-json", "-metrics-file", file)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	check([]string{"1", "2", "", "3", ""})
}

func TestMetricsFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-metrics-format", "json"}, 2, `invalid value "json" for flag -metrics-format: want text, katib-text, katib-json`},
		{[]string{"-metrics-format", "katib-json", "-metrics-file", filepath.Join(t.TempDir(), "missing", "m.json")}, 1, "-metrics-file: open"},
	} {
		_, stderr, code := runBinary(t, append(append([]string{"train", "-out", t.TempDir()}, tiny...), tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

func TestCLIDocListsMetricFlags(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"metrics-format", "metrics-file"} {
		if !strings.Contains(string(doc), "  -"+name+" ") {
			t.Errorf("docs/cli.md does not document -%s", name)
		}
	}
	for _, f := range metricFormats {
		if !strings.Contains(string(doc), "`"+f+"`") {
			t.Errorf("docs/cli.md does not explain -metrics-format %s", f)
		}
	}
}
