package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/adamant-ml/adamant/graph"
)

// binary is the mnist command built once for the end-to-end tests, so they
// exercise flag parsing, exit codes and output exactly as users see them.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mnist-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mnist")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the command and returns stdout, stderr and the exit code.
func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// metricLine parses the last "name=value ..." line holding key.
func metricLine(t *testing.T, out, key string) map[string]float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], key+"=") {
			continue
		}
		m := map[string]float64{}
		for _, f := range strings.Fields(lines[i]) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("line %q: %s is not a number", lines[i], f)
			}
			m[k] = x
		}
		return m
	}
	t.Fatalf("no line with %s= in output:\n%s", key, out)
	return nil
}

// quick trains on a real MNIST subset: enough to learn, small enough for CI.
var quick = []string{"-train-limit", "6000", "-test-limit", "1000", "-epochs", "2", "-progress", "none"}

func TestTrainEndToEnd(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := runBinary(t, append([]string{"train", "-out", out}, quick...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	epochLine := regexp.MustCompile(`^epoch=\d+ loss=\S+ accuracy=\S+ val_loss=\S+ val_accuracy=\S+ lr=\S+ epoch_seconds=\S+ data_wait_seconds=\S+$`)
	var epochs int
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "epoch=") {
			if !epochLine.MatchString(l) {
				t.Errorf("epoch line %q does not have the documented fields in order", l)
			}
			epochs++
		}
	}
	if epochs != 2 {
		t.Errorf("%d epoch lines, want 2:\n%s", epochs, stdout)
	}
	final := metricLine(t, stdout, "test_accuracy")
	if acc := final["test_accuracy"]; acc < 0.88 || acc > 1 {
		t.Errorf("test_accuracy %v after 2 epochs on 5,400 images, want ≥ 0.88", acc)
	}
	for _, f := range []string{configFile, historyFile, bestFile, lastFile, "loss.png", "accuracy.png", "lr.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, historyFile))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(strings.TrimSpace(string(csv)), "\n"); rows != 2 {
		t.Errorf("history.csv has %d data rows, want 2:\n%s", rows, csv)
	}

	// eval rebuilds the model from config.json and must agree with train.
	evalOut, evalErr, code := runBinary(t, "eval", "-checkpoint", filepath.Join(out, lastFile), "-test-limit", "1000")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, evalErr)
	}
	got := metricLine(t, evalOut, "test_accuracy")
	if got["test_accuracy"] != final["test_accuracy"] {
		t.Errorf("eval accuracy %v, train reported %v", got["test_accuracy"], final["test_accuracy"])
	}
	if !strings.Contains(evalOut, "confusion matrix") {
		t.Errorf("eval printed no confusion matrix:\n%s", evalOut)
	}

	// Resuming the finished run for one more epoch continues its history.
	stdout, stderr, code = runBinary(t, "train", "-resume", filepath.Join(out, lastFile), "-train-limit", "6000", "-test-limit", "1000", "-epochs", "3", "-progress", "none")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "epoch="); n != 1 || !strings.Contains(stdout, "epoch=3 ") {
		t.Errorf("resumed run printed %d epoch lines, want only epoch 3:\n%s", n, stdout)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-lr", "-0.1"}, "-lr"},
		{[]string{"-beta1", "1"}, "-beta1"},
		{[]string{"-beta2", "1.5"}, "-beta2"},
		{[]string{"-eps", "0"}, "-eps"},
		{[]string{"-weight-decay", "-1"}, "-weight-decay"},
		{[]string{"-schedule", "sometimes"}, "-schedule"},
		{[]string{"-data", "/nonexistent/mnist"}, "-data"},
		{[]string{"-epochs", "0"}, "-epochs"},
		{[]string{"-batch-size", "0"}, "-batch-size"},
		{[]string{"-dropout", "1"}, "-dropout"},
		{[]string{"-lr", "abc"}, "-lr"},
		{[]string{"-no-such-flag"}, "no-such-flag"},
		{[]string{"-schedule", "multistep"}, "-milestones"},
		{[]string{"-early-stop", "2", "-val-fraction", "0"}, "-val-fraction"},
		{[]string{"tune", "-space", "lr=log:0:1"}, "-space"},
		{[]string{"tune", "-space", "out=a|b"}, "out"},
		{[]string{"tune", "-strategy", "annealing"}, "-strategy"},
		{[]string{"eval"}, "-checkpoint"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runBinary(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
		})
	}
}

func TestHelpIsGrouped(t *testing.T) {
	for _, cmd := range []string{"train", "tune", "eval"} {
		_, stderr, code := runBinary(t, cmd, "-h")
		if code != 0 {
			t.Errorf("%s -h: exit %d", cmd, code)
		}
		if cmd == "eval" {
			continue
		}
		for _, heading := range []string{"Model:", "Optimizer (Adam):", "Learning-rate schedule:", "Data and augmentation:", "Training:", "Output:"} {
			if !strings.Contains(stderr, heading) {
				t.Errorf("%s -h lacks the %q group", cmd, heading)
			}
		}
		for _, f := range []string{"-epochs", "-batch-size", "-lr", "-beta1", "-beta2", "-eps", "-weight-decay", "-seed", "-data", "-out"} {
			if !strings.Contains(stderr, "  "+f+" ") {
				t.Errorf("%s -h does not document %s", cmd, f)
			}
		}
	}
}

func TestTuneRandomSearch(t *testing.T) {
	out := t.TempDir()
	args := []string{"tune", "-out", out, "-strategy", "random", "-trials", "3", "-workers", "2",
		"-space", "lr=log:1e-4:1e-2,beta1=0.8|0.9", "-train-limit", "2000", "-test-limit", "500", "-epochs", "1"}
	stdout, stderr, code := runBinary(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"leaderboard.csv", "results.json", "results.csv", "tune.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("tune wrote no %s: %v", f, err)
		}
	}
	if !strings.Contains(stdout, "best trial") {
		t.Errorf("no best trial reported:\n%s", stdout)
	}
	// Rerunning the finished search trains no trial again: no checkpoint
	// is rewritten.
	ckpts, err := filepath.Glob(filepath.Join(out, "*", "*", lastFile))
	if err != nil || len(ckpts) == 0 {
		ckpts, _ = filepath.Glob(filepath.Join(out, "*", lastFile))
	}
	if len(ckpts) != 3 {
		t.Fatalf("found %d trial checkpoints, want 3: %v", len(ckpts), ckpts)
	}
	before := map[string]int64{}
	for _, c := range ckpts {
		st, _ := os.Stat(c)
		before[c] = st.ModTime().UnixNano()
	}
	stdout2, stderr2, code := runBinary(t, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr2)
	}
	for _, c := range ckpts {
		st, _ := os.Stat(c)
		if st.ModTime().UnixNano() != before[c] {
			t.Errorf("rerun trained %s again", c)
		}
	}
	if metricLine(t, stdout, "test_accuracy")["test_accuracy"] != metricLine(t, stdout2, "test_accuracy")["test_accuracy"] {
		t.Errorf("resumed search reports another best trial")
	}
}

func TestShowAugment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "augment.png")
	_, stderr, code := runBinary(t, "-show-augment", path, "-rotate", "20", "-shift", "3", "-train-limit", "100")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no PNG written: %v", err)
	}
}

// TestRunInProcess checks the dispatcher's exit codes without a subprocess.
func TestRunInProcess(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &out, &errOut); code != 0 {
		t.Errorf("help: exit %d", code)
	}
	if code := run(context.Background(), []string{"train", "-beta1", "1"}, &out, &errOut); code != 2 {
		t.Errorf("bad beta1: exit %d, want 2", code)
	}
}

// TestResumeInNewProcessIsBitExact: 4 epochs, then 4 more resumed from the
// checkpoint in a new process, end with the weights of an uninterrupted
// 8-epoch run, bit for bit — with a schedule, plateau reduction, dropout and
// augmentation all in play.
func TestResumeInNewProcessIsBitExact(t *testing.T) {
	common := []string{"-train-limit", "1500", "-test-limit", "200", "-progress", "none", "-plots=false",
		"-hidden", "32", "-dropout", "0.2", "-rotate", "5", "-schedule", "cosine", "-t-max", "8", "-plateau", "-plateau-patience", "0"}
	straight, split := t.TempDir(), t.TempDir()
	if _, stderr, code := runBinary(t, append([]string{"train", "-epochs", "8", "-out", straight}, common...)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runBinary(t, append([]string{"train", "-epochs", "4", "-out", split}, common...)...); code != 0 {
		t.Fatalf("first half: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runBinary(t, append([]string{"train", "-epochs", "8", "-resume", filepath.Join(split, lastFile)}, common...)...); code != 0 {
		t.Fatalf("second half: exit %d\n%s", code, stderr)
	}
	c, err := readConfig(filepath.Join(straight, configFile))
	if err != nil {
		t.Fatal(err)
	}
	load := func(dir string) *graph.Model {
		m, err := buildModel(&c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		if err := m.LoadWeights(filepath.Join(dir, lastFile)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := load(straight), load(split)
	for i, p := range a.Params() {
		x, y := p.Value.Float32s(), b.Params()[i].Value.Float32s()
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(y[j]) {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", p.Name, j, x[j], y[j])
			}
		}
	}
	// The learning rates (schedule and plateau) match epoch for epoch.
	lrs := func(dir string) []string {
		b, err := os.ReadFile(filepath.Join(dir, historyFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		col := -1
		for i, h := range strings.Split(lines[0], ",") {
			if h == "lr" {
				col = i
			}
		}
		if col < 0 {
			t.Fatalf("%s has no lr column: %s", historyFile, lines[0])
		}
		var out []string
		for _, l := range lines[1:] {
			out = append(out, strings.Split(l, ",")[col])
		}
		return out
	}
	if x, y := lrs(straight), lrs(split); strings.Join(x, " ") != strings.Join(y, " ") {
		t.Errorf("learning rates differ:\nuninterrupted %v\nresumed       %v", x, y)
	}
}

// TestCtrlCLeavesAResumableCheckpoint: SIGINT stops training after the
// current batch with exit status 130 and a last.ckpt that -resume accepts.
func TestCtrlCLeavesAResumableCheckpoint(t *testing.T) {
	interruptLeavesAResumableCheckpoint(t, os.Interrupt)
}

// startTrainingUntilFirstEpoch starts `mnist train args...` and returns
// once its stdout has printed the first epoch's line, with what it printed
// so far; the caller reads the rest of stdout and waits for the command.
func startTrainingUntilFirstEpoch(t *testing.T, args ...string) (cmd *exec.Cmd, stdout io.Reader, stderr *bytes.Buffer, seen []byte) {
	t.Helper()
	cmd = exec.Command(binary, append([]string{"train"}, args...)...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte("epoch=1 ")) {
		n, err := pipe.Read(buf)
		if err != nil {
			t.Fatalf("no epoch line before %v; stderr:\n%s", err, stderr.String())
		}
		seen = append(seen, buf[:n]...)
	}
	return cmd, pipe, stderr, seen
}

// interruptLeavesAResumableCheckpoint sends sig to a training run in its
// second epoch and resumes from the checkpoint it leaves.
func interruptLeavesAResumableCheckpoint(t *testing.T, sig os.Signal) {
	out := t.TempDir()
	// Interrupt once the first epoch has been reported, mid-way through the
	// second.
	cmd, stdout, stderr, _ := startTrainingUntilFirstEpoch(t, "-out", out, "-train-limit", "6000", "-test-limit", "200", "-epochs", "100", "-progress", "none", "-plots=false")
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "-resume") {
		t.Errorf("no resume hint on stderr:\n%s", stderr.String())
	}
	if strings.Contains(string(rest), "epoch=100 ") {
		t.Fatalf("training ran to the end despite the interrupt")
	}
	_, resumeErr, code := runBinary(t, "train", "-resume", filepath.Join(out, lastFile), "-train-limit", "6000", "-test-limit", "200", "-epochs", "3", "-progress", "none", "-plots=false")
	if code != 0 {
		t.Fatalf("resuming the interrupted run: exit %d\n%s", code, resumeErr)
	}
}
