package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHelpNamesTheCommands(t *testing.T) {
	_, trainHelp, code := runBinary(t, "-h")
	help, _, code2 := runBinary(t, "help")
	if code != 0 || code2 != 0 {
		t.Fatalf("-h: exit %d, help: exit %d", code, code2)
	}
	for _, text := range []string{trainHelp, help} {
		for _, cmd := range []string{"mnist [train]", "mnist eval", "mnist tune"} {
			if !strings.Contains(text, cmd) {
				t.Errorf("help does not mention %q:\n%s", cmd, text)
			}
		}
	}
	_, tuneHelp, _ := runBinary(t, "tune", "-h")
	for _, refused := range []string{"  -resume ", "  -resume-force "} {
		if strings.Contains(tuneHelp, refused) {
			t.Errorf("tune -h lists %s, which tune refuses", strings.TrimSpace(refused))
		}
	}
}

// TestBadSpaceAndSizesExitTwo: values the search or the model cannot use
// are refused before any work, naming the parameter, the value and what is
// valid.
func TestBadSpaceAndSizesExitTwo(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"tune", "-space", "lr=lgo:1e-4:1e-2"}, []string{`"lr"`, `unknown range kind "lgo"`}},
		{[]string{"tune", "-space", "beta1=0.9|1.0"}, []string{"beta1=1", "-beta1", "[0, 1)"}},
		{[]string{"tune", "-space", "dropout=uniform:0:1"}, []string{"dropout=1", "[0, 1)"}},
		{[]string{"tune", "-space", "batch-size=int:0:64"}, []string{"batch-size=0", "≥ 1"}},
		{[]string{"tune", "-space", "lr=abc|0.1"}, []string{"lr=abc", "-lr", "≥ 0"}},
		{[]string{"tune", "-space", "hidden=64|100000000"}, []string{"hidden=100000000", "needs about", "TiB"}},
		{[]string{"tune", "-resume", "x"}, []string{"-resume does not apply to tune", "-out"}},
		{[]string{"tune", "-resume-force"}, []string{"-resume-force does not apply to tune", "-out"}},
		{[]string{"tune", "--resume-force=true"}, []string{"-resume-force does not apply to tune", "-out"}},
		{[]string{"-hidden", "100000000"}, []string{"-hidden 100000000", "79.5 G parameters", "needs about 1.3 TiB", "of memory"}},
		{[]string{"-model", "cnn", "-hidden", "20000000"}, []string{"-hidden 20000000", "needs about"}},
		{[]string{"-batch-size", "60000", "-hidden", "100000"}, []string{"-batch-size 60000", "activations"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runBinary(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "goroutine") {
				t.Errorf("a Go crash:\n%s", stderr)
			}
		})
	}
}

// TestTuneAllTrialsFailed: trials that all diverge print why, and the
// search exits 1 rather than 0 with an empty best.
func TestTuneAllTrialsFailed(t *testing.T) {
	_, stderr, code := runBinary(t, "tune", "-out", t.TempDir(), "-strategy", "grid", "-space", "lr=1e30|1e38",
		"-train-limit", "500", "-test-limit", "100", "-epochs", "1", "-plots=false")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{"trial 0 failed: ", "trial 1 failed: ", "diverged", "all 2 trials failed"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, stderr)
		}
	}
}

// TestSIGTERMStopsLikeCtrlC: SIGTERM, what Kubernetes sends a Katib trial's
// pod, stops training after the current batch with status 130 and a
// last.ckpt that -resume continues from.
func TestSIGTERMStopsLikeCtrlC(t *testing.T) {
	interruptLeavesAResumableCheckpoint(t, syscall.SIGTERM)
}

// TestFullDiskKeepsTheLastCheckpoint trains into a tmpfs with room for
// epoch 1's two checkpoints but not for a third copy: epoch 2's write fails
// with a message naming the file and the cause, exit 1, and epoch 1's
// last.ckpt is intact (eval reads it) with no temporary file left.
func TestFullDiskKeepsTheLastCheckpoint(t *testing.T) {
	common := []string{"-train-limit", "2000", "-test-limit", "200", "-hidden", "16", "-progress", "none", "-plots=false"}
	probe := t.TempDir()
	if _, stderr, code := runBinary(t, append([]string{"train", "-out", probe, "-epochs", "1"}, common...)...); code != 0 {
		t.Fatalf("probe run: exit %d\n%s", code, stderr)
	}
	st, err := os.Stat(filepath.Join(probe, lastFile))
	if err != nil {
		t.Fatal(err)
	}
	// Two checkpoints, config.json and history.csv, in 4 KiB pages, and
	// less than a page to spare.
	pages := func(n int64) int64 { return (n + 4095) / 4096 }
	size := 4096 * (2*pages(st.Size()) + 2)
	dir := mountTmpfs(t, size)
	_, stderr, code := runBinary(t, append([]string{"train", "-out", dir, "-epochs", "3"}, common...)...)
	if code != 1 || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, ".ckpt") {
		t.Fatalf("exit %d, want 1 with a message naming the checkpoint and the full disk:\n%s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left on the full disk", e.Name())
		}
	}
	hist, _ := os.ReadFile(filepath.Join(dir, historyFile))
	if rows := strings.Count(strings.TrimSpace(string(hist)), "\n"); rows < 1 {
		t.Fatalf("epoch 1 did not complete before the disk filled:\n%s\n%s", hist, stderr)
	}
	if _, evalErr, code := runBinary(t, "eval", "-checkpoint", filepath.Join(dir, lastFile), "-test-limit", "200"); code != 0 {
		t.Errorf("last.ckpt is not intact: eval exit %d\n%s", code, evalErr)
	}
}

// mountTmpfs mounts a tmpfs of size bytes for the test; it skips unless
// the test runs as root where mount(8) works.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is simulated with a tmpfs, which needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// waitFor polls until a file matching pattern exists and returns it.
func waitFor(t *testing.T, pattern string, cmd *exec.Cmd, stderr *bytes.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("%s never appeared; stderr:\n%s", pattern, stderr.String())
	return ""
}

// leaderboardRows reads leaderboard.csv without the timing columns, which
// differ from run to run: trial, status, the parameters and the metrics
// (those of each trial's last epoch, which a resume trains in full).
func leaderboardRows(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "leaderboard.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range recs {
		var keep []string
		for i, v := range r {
			col := recs[0][i]
			if strings.HasSuffix(col, "seconds") || col == "seed" {
				continue
			}
			keep = append(keep, col+"="+v)
		}
		rows = append(rows, strings.Join(keep, " "))
	}
	return rows
}

// TestTuneSurvivesInterruptAndKill9: a search stopped by Ctrl-C prints
// the exact command that resumes it; that command, killed with kill -9
// while a later trial is mid-epoch, and run once more, ends with the
// leaderboard of a search that was never interrupted, without training a
// finished trial again.
func TestTuneSurvivesInterruptAndKill9(t *testing.T) {
	search := []string{"tune", "-strategy", "random", "-trials", "3", "-workers", "1", "-space", "lr=log:1e-3:1e-2",
		"-train-limit", "8000", "-test-limit", "300", "-epochs", "3", "-batch-size", "32", "-plots=false"}
	straight := t.TempDir()
	if _, stderr, code := runBinary(t, append(search, "-out", straight)...); code != 0 {
		t.Fatalf("uninterrupted search: exit %d\n%s", code, stderr)
	}
	want := leaderboardRows(t, straight)

	// Ctrl-C while trial 0 is in its second epoch, with no -out: the
	// search lands in runs/tune-<time> under the working directory.
	work := t.TempDir()
	start := func(c *exec.Cmd) *bytes.Buffer {
		var stderr bytes.Buffer
		c.Dir, c.Stderr = work, &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return &stderr
	}
	first := exec.Command(binary, search...)
	stderr := start(first)
	waitFor(t, filepath.Join(work, "runs", "tune-*", "trials", "trial-0000", lastFile), first, stderr)
	first.Process.Signal(os.Interrupt)
	err := first.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted search: %v, want exit 130\n%s", err, stderr)
	}
	_, resume, ok := strings.Cut(stderr.String(), "resume the search with:\n  ")
	resume, _, _ = strings.Cut(resume, "\n")
	if !ok || !strings.HasPrefix(resume, "mnist tune ") || !strings.Contains(resume, " -out runs/tune-") {
		t.Fatalf("no resume command naming the run directory:\n%s", stderr)
	}
	// The printed command, run by a shell with this mnist on PATH; exec,
	// so that kill -9 reaches mnist rather than the shell.
	shell := func() *exec.Cmd {
		c := exec.Command("sh", "-c", "exec "+resume)
		c.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
		return c
	}
	out := filepath.Join(work, strings.Fields(resume[strings.Index(resume, " -out ")+len(" -out "):])[0])

	// kill -9 once trial 1 has finished an epoch: trial 0 is done by then.
	second := shell()
	stderr = start(second)
	trial1 := filepath.Join(out, "trials", "trial-0001")
	waitFor(t, filepath.Join(trial1, lastFile), second, stderr)
	second.Process.Signal(syscall.SIGKILL)
	second.Wait()
	if h, _ := os.ReadFile(filepath.Join(trial1, historyFile)); strings.Count(string(h), "\n") > 2 {
		t.Logf("trial 1 finished a second epoch before kill -9 landed; the resume is still tested:\n%s\n%s", h, stderr)
	}
	finished, err := os.Stat(filepath.Join(out, "trials", "trial-0000", lastFile))
	if err != nil {
		t.Fatal(err)
	}
	// What a kill -9 in the middle of a checkpoint write leaves.
	stale := filepath.Join(trial1, ".best.ckpt.tmp-4242")
	if err := os.WriteFile(stale, []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}

	third := shell()
	stderr = start(third)
	if err := third.Wait(); err != nil {
		t.Fatalf("resumed search: %v\n%s", err, stderr)
	}
	if got := leaderboardRows(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("resumed leaderboard differs from the uninterrupted one:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st, err := os.Stat(filepath.Join(out, "trials", "trial-0000", lastFile)); err != nil || !st.ModTime().Equal(finished.ModTime()) {
		t.Errorf("the resumed search trained the finished trial 0 again")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s not removed: %v", stale, err)
	}
	// Trial 1's history.csv numbers its epochs 1, 2, 3 across the kill.
	h, _ := os.ReadFile(filepath.Join(trial1, historyFile))
	var epochs []string
	for _, l := range strings.Split(strings.TrimSpace(string(h)), "\n")[1:] {
		epochs = append(epochs, strings.Split(l, ",")[0])
	}
	if strings.Join(epochs, ",") != "1,2,3" {
		t.Errorf("trial 1's history.csv epochs %v, want 1,2,3:\n%s", epochs, h)
	}
}
