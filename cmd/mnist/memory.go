package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// memoryFraction is the share of the machine's memory a run may be
// estimated to need before it is refused: the rest is left to the Go
// runtime's headroom, the operating system and whatever else runs.
const memoryFraction = 0.9

// The Go runtime, Gorgonia's graph and our buffers hold several arrays per
// parameter and per activation; the factors below are what a run needs of
// each, counted from the code (weights, gradient, Adam's m and v, AMSGrad's
// running maximum; an activation's value, its gradient and the
// pre-activation kept for the backward pass), rounded up.
const (
	arraysPerParam      = 4 // weight, gradient, m, v (+1 with -amsgrad)
	arraysPerActivation = 4
)

// memoryEstimate is what a configuration is expected to allocate, in bytes,
// by cause.
type memoryEstimate struct {
	params, state, activations, data float64
}

func (m memoryEstimate) total() float64 { return m.state + m.activations + m.data }

// estimateMemory counts the parameters and the per-batch activations of the
// model c builds (the layers of buildModel) and the images it loads.
func estimateMemory(c *config) memoryEstimate {
	elem := 4.0
	if c.Dtype == "float64" {
		elem = 8
	}
	rows := float64(c.TrainLimit)
	if rows <= 0 || rows > 60000 {
		rows = 60000
	}
	testRows := float64(c.TestLimit)
	if testRows <= 0 || testRows > 10000 {
		testRows = 10000
	}
	batch := math.Min(float64(c.BatchSize), rows)

	var params, perRow float64 // perRow: activations of one example
	dense := func(in, out float64) float64 {
		params += in*out + out
		perRow += out
		return out
	}
	width := 28.0 * 28
	perRow += width
	if c.Model == "cnn" {
		// conv 16·5×5 pad 2 on 1×28×28, its im2col buffer, pool to 14×14,
		// conv 32·5×5 on 16×14×14, its im2col buffer, pool to 7×7.
		params += 16*1*25 + 16 + 32*16*25 + 32
		perRow += 1*25*28*28 + 2*16*28*28 + 16*14*14 + 16*25*14*14 + 2*32*14*14 + 32*7*7
		width = 32 * 7 * 7
		hidden := 128.0
		if len(c.Hidden) > 0 {
			hidden = float64(c.Hidden[0])
		}
		width = dense(width, hidden)
	} else {
		for _, h := range c.Hidden {
			width = dense(width, float64(h))
		}
	}
	dense(width, mnistClasses)
	arrays := float64(arraysPerParam)
	if c.AMSGrad {
		arrays++
	}
	return memoryEstimate{
		params:      params,
		state:       params * arrays * elem,
		activations: batch * perRow * arraysPerActivation * elem,
		// Training and test images as float32, plus the raw copy an
		// augmented run keeps.
		data: (rows + testRows) * 28 * 28 * 4 * 2,
	}
}

// checkMemory refuses a configuration whose estimated memory, times runs
// (the trials tune trains at once), exceeds memoryFraction of the memory
// limit. The error names the flag that drives the estimate.
func checkMemory(c *config, runs int) error {
	limit, source := memoryLimit()
	if limit <= 0 {
		return nil
	}
	m := estimateMemory(c)
	need := m.total() * float64(runs)
	if need <= memoryFraction*limit {
		return nil
	}
	times := ""
	if runs > 1 {
		times = fmt.Sprintf(" × %d -workers", runs)
	}
	culprit := fmt.Sprintf("-hidden %s (%s parameters: %s of weights, gradients and Adam state)", intList{&c.Hidden}.String(), countString(m.params), byteString(m.state))
	if m.activations > m.state {
		culprit = fmt.Sprintf("-batch-size %d with -hidden %s (%s of activations per batch)", c.BatchSize, intList{&c.Hidden}.String(), byteString(m.activations))
	}
	return usagef("%s: the run needs about %s%s, more than %.0f%% of the %s of memory (%s) allows; choose smaller sizes",
		culprit, byteString(m.total()), times, memoryFraction*100, byteString(limit), source)
}

// memoryLimit is the memory this process may use: the machine's
// (/proc/meminfo's MemTotal), or the cgroup's limit when that is lower (a
// container, a Katib trial's pod). It returns 0 when neither can be read,
// and then nothing is refused.
func memoryLimit() (bytes float64, source string) {
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64); err == nil {
					bytes, source = kb*1024, "MemTotal in /proc/meminfo"
				}
			}
		}
		f.Close()
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err == nil && v > 0 && (bytes == 0 || v < bytes) {
			bytes, source = v, "the cgroup limit in "+p
		}
	}
	return bytes, source
}

// byteString prints a size in binary units, "1.5 GiB".
func byteString(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + " " + units[i]
}

// countString prints a count with an SI suffix, "78.4 G".
func countString(n float64) string {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{" T", 1e12}, {" G", 1e9}, {" M", 1e6}, {" k", 1e3}} {
		if n >= u.scale {
			return strconv.FormatFloat(n/u.scale, 'f', 1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(n, 'f', 0, 64)
}
