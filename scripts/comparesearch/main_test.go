package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSearch writes a results.json whose trials finished in the order
// given, each with its val_loss and number of reported epochs; the entries
// are stored in reverse, so the replay must sort by finish time.
func writeSearch(t *testing.T, dir string, trials [][2]float64) {
	t.Helper()
	type epoch struct {
		Epoch int `json:"epoch"`
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := len(trials) - 1; i >= 0; i-- {
		h := make([]epoch, int(trials[i][1]))
		for e := range h {
			h[e].Epoch = e
		}
		doc.Results = append(doc.Results, map[string]any{"id": i, "status": "ok", "finished": start.Add(time.Duration(i) * time.Second),
			"metrics": map[string]float64{"val_loss": trials[i][0]}, "history": h})
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplayAndTable(t *testing.T) {
	root := t.TempDir()
	// random: 3-epoch trials, best 0.5 after 6 epochs, 0.3 after 9.
	writeSearch(t, filepath.Join(root, "random-1"), [][2]float64{{0.9, 3}, {0.5, 3}, {0.3, 3}, {0.4, 3}})
	// fast: 0.6 after 1 epoch, 0.3 after 4, 0.2 after 8; its last trial ends past the budget.
	writeSearch(t, filepath.Join(root, "fast-1"), [][2]float64{{0.6, 1}, {0.3, 3}, {0.25, 1}, {0.2, 3}, {0.1, 9}})
	doc := filepath.Join(root, "doc.md")
	if err := os.WriteFile(doc, []byte("intro\n"+beginMarker+"\nold table\n"+endMarker+"\noutro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(&out, []string{filepath.Join(root, "random-1"), filepath.Join(root, "fast-1")}, 12, "val_loss",
		filepath.Join(root, "plot.png"), doc, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| random | 1 | 4.0 | 0.9000 | 0.5000 | 0.3000 | 9 |",
		"| fast | 1 | 5.0 | 0.6000 | 0.2500 | 0.2000 | 4 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	got, _ := os.ReadFile(doc)
	if !strings.HasPrefix(string(got), "intro\n"+beginMarker+"\n| search") || strings.Contains(string(got), "old table") ||
		!strings.HasSuffix(string(got), endMarker+"\noutro\n") {
		t.Errorf("doc not replaced between the markers:\n%s", got)
	}
	if fi, err := os.Stat(filepath.Join(root, "plot.png")); err != nil || fi.Size() == 0 {
		t.Errorf("no plot: %v", err)
	}
	if err := run(&out, []string{filepath.Join(root, "nodash")}, 12, "val_loss", "", "", ""); err == nil {
		t.Error("a directory not named STRATEGY-SEED was accepted")
	}
}
