package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair through /dev/ptmx: the ioctls are
// three lines with golang.org/x/sys/unix, which the module already
// requires, so the test needs neither creack/pty nor script(1).
func openPTY(t *testing.T, cols, rows uint16) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// screen replays what a terminal shows for output: carriage returns, line
// feeds and erase-to-end-of-line (the only controls the progress bar
// uses); other escape sequences are dropped.
func screen(out []byte) []string {
	lines := [][]rune{nil}
	row, col := 0, 0
	rs := []rune(string(out))
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			row++
			if row == len(lines) {
				lines = append(lines, nil)
			}
		case r == 0x1b && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < 0x40 || rs[j] > 0x7e) {
				j++
			}
			if j < len(rs) && rs[j] == 'K' && col < len(lines[row]) {
				lines[row] = lines[row][:col]
			}
			i = j
		default:
			for len(lines[row]) <= col {
				lines[row] = append(lines[row], ' ')
			}
			lines[row][col] = r
			col++
		}
	}
	text := make([]string, len(lines))
	for i, l := range lines {
		text[i] = strings.TrimRight(string(l), " ")
	}
	return text
}

// TestProgressBarOnATerminal runs train with stdout and stderr on one
// pseudo-terminal, as in an interactive shell, and checks the screen: the
// live bar was drawn, and every stdout epoch line starts a line of its own
// rather than being glued to a half-drawn bar.
func TestProgressBarOnATerminal(t *testing.T) {
	master, slave := openPTY(t, 200, 50)
	defer master.Close()
	cmd := exec.Command(binary, "train", "-out", t.TempDir(), "-train-limit", "3000", "-test-limit", "200",
		"-epochs", "2", "-hidden", "32", "-plots=false")
	cmd.Stdout, cmd.Stderr = slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	// Reading fails with EIO once the child has exited and the slave
	// side is closed: that is the end of the output.
	_, _ = io.Copy(&out, master)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("train: %v\n%s", err, out.Bytes())
	}
	if !bytes.Contains(out.Bytes(), []byte("\x1b[K")) {
		t.Fatalf("no live bar drawn on the terminal:\n%q", out.Bytes())
	}
	lines := screen(out.Bytes())
	var epochLines int
	for _, l := range lines {
		if i := strings.Index(l, "epoch="); i >= 0 {
			epochLines++
			if i > 0 {
				t.Errorf("epoch line glued to other output on screen: %q", l)
			}
		}
	}
	if epochLines != 2 {
		t.Errorf("%d epoch lines on screen, want 2:\n%s", epochLines, strings.Join(lines, "\n"))
	}
	for _, want := range []string{"Epoch 1/2 [==============================] ", "Epoch 2/2 [==============================] ", "test_accuracy="} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("screen lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}
