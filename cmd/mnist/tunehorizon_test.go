package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTuneHalvingContinuesEpochDependentSchedules: under successive halving
// a schedule whose settings follow the run's length (cosine over the whole
// run, one-cycle) spans the search's -epochs in every rung, so a promoted
// trial resumes its own checkpoint (it used to fail: the checkpoint's
// schedule had the first rung's horizon) and ends exactly as an
// uninterrupted `mnist train` of the full budget ends.
func TestTuneHalvingContinuesEpochDependentSchedules(t *testing.T) {
	bestLine := regexp.MustCompile(`(?m)^best trial (\d+): (.*)$`)
	for _, schedule := range [][]string{
		{"-schedule", "cosine"},
		{"-schedule", "cosine", "-warmup", "1"},
		{"-schedule", "one-cycle", "-max-lr", "0.01"},
	} {
		t.Run(strings.Join(schedule, " "), func(t *testing.T) {
			common := append([]string{"-train-limit", "1000", "-test-limit", "200", "-hidden", "16", "-plots=false", "-progress", "none", "-epochs", "3"}, schedule...)
			out := t.TempDir()
			stdout, stderr, code := runBinary(t, append([]string{"tune", "-out", out, "-strategy", "halving", "-trials", "3", "-eta", "3",
				"-min-epochs", "1", "-space", "lr=log:1e-3:1e-2"}, common...)...)
			if code != 0 || strings.Contains(stderr, "failed") {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
			}
			best := bestLine.FindStringSubmatch(stdout)
			if best == nil {
				t.Fatalf("no best trial:\n%s", stdout)
			}
			trialDir, err := filepath.Glob(filepath.Join(out, "trials", "*"+best[1]))
			if err != nil || len(trialDir) != 1 {
				t.Fatalf("trial %s's directory: %v %v", best[1], trialDir, err)
			}
			promoted := historyRows(t, trialDir[0])
			if len(promoted) != 4 {
				t.Fatalf("best trial trained %d epochs, want 3 (1 + 2 after promotion):\n%s", len(promoted)-1, strings.Join(promoted, "\n"))
			}
			straight := t.TempDir()
			trainRun(t, append(append([]string{"-out", straight}, strings.Fields(best[2])...), common...)...)
			if w, g := strings.Join(historyRows(t, straight), "\n"), strings.Join(promoted, "\n"); w != g {
				t.Errorf("history.csv differs:\nuninterrupted\n%s\npromoted trial\n%s", w, g)
			}
			requireSameModelWeights(t, loadCheckpointModel(t, filepath.Join(straight, lastFile)), loadCheckpointModel(t, filepath.Join(trialDir[0], lastFile)))
		})
	}
}
