package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// faultyFile wraps the real temporary file and fails as told: a write
// stored only in part (what a full disk does to a write), a failing fsync
// or close.
type faultyFile struct {
	*os.File
	shortAfter int // bytes stored before writes fail with ENOSPC; < 0: never
	syncErr    error
	closeErr   error
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.shortAfter < 0 || len(p) <= f.shortAfter {
		if f.shortAfter >= 0 {
			f.shortAfter -= len(p)
		}
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.shortAfter])
	f.shortAfter = 0
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func (f *faultyFile) Sync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

func (f *faultyFile) Close() error {
	err := f.File.Close()
	if f.closeErr != nil {
		return f.closeErr
	}
	return err
}

// TestWriteFaults injects every failure a write can meet after the
// temporary file exists: the destination keeps its old content, the error
// names it and the cause, and no temporary file is left.
func TestWriteFaults(t *testing.T) {
	eio := syscall.EIO
	tests := []struct {
		name      string
		file      faultyFile
		renameErr error
		want      string // in the error
	}{
		{"short write (disk full)", faultyFile{shortAfter: 3}, nil, "no space left on device"},
		{"short write of nothing", faultyFile{shortAfter: 0}, nil, "no space left on device"},
		{"fsync fails", faultyFile{shortAfter: -1, syncErr: eio}, nil, "syncing"},
		{"close fails", faultyFile{shortAfter: -1, closeErr: eio}, nil, "input/output error"},
		{"rename fails", faultyFile{shortAfter: -1}, syscall.EXDEV, "renaming into"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "last.ckpt")
			if err := os.WriteFile(path, []byte("previous checkpoint"), 0o644); err != nil {
				t.Fatal(err)
			}
			restore := injectFaults(t, tt.file, tt.renameErr)
			defer restore()
			err := WriteBytes(path, []byte("the new checkpoint, longer than the short write"))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s and %q", err, path, tt.want)
			}
			assertOnly(t, dir, "last.ckpt", "previous checkpoint")
		})
	}
}

// injectFaults makes Write's next temporary file behave as proto and its
// rename fail with renameErr (if not nil).
func injectFaults(t *testing.T, proto faultyFile, renameErr error) (restore func()) {
	t.Helper()
	oldCreate, oldRename := createTemp, rename
	createTemp = func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		ff := proto
		ff.File = f
		return &ff, nil
	}
	if renameErr != nil {
		rename = func(from, to string) error { return &os.LinkError{Op: "rename", Old: from, New: to, Err: renameErr} }
	}
	return func() { createTemp, rename = oldCreate, oldRename }
}

// assertOnly checks that dir holds exactly one file, name, with content.
func assertOnly(t *testing.T, dir, name, content string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != name {
			t.Errorf("%s left behind", e.Name())
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || string(got) != content {
		t.Errorf("%s holds %q (%v), want the old %q", name, got, err, content)
	}
}

// TestWriteOnFullDisk fills a real 200 KB tmpfs: the write that does not
// fit fails with ENOSPC and the previous file survives whole. It needs
// root to mount.
func TestWriteOnFullDisk(t *testing.T) {
	dir := mountTinyTmpfs(t, "200k")
	path := filepath.Join(dir, "last.ckpt")
	old := strings.Repeat("a", 120<<10)
	if err := WriteBytes(path, []byte(old)); err != nil {
		t.Fatalf("the first 120 KB should fit: %v", err)
	}
	err := WriteBytes(path, []byte(strings.Repeat("b", 120<<10)))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ENOSPC naming %s", err, path)
	}
	assertOnly(t, dir, "last.ckpt", old)
}

// mountTinyTmpfs mounts a tmpfs of the given size on a fresh directory and
// unmounts it when the test ends; it skips the test unless it runs as root
// on Linux with mount(8).
func mountTinyTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; run the tests as root to exercise a full disk")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("no mount(8) on this system")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (a container without CAP_SYS_ADMIN?): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"best.ckpt", ".best.ckpt.tmp-", ".best.ckpt.tmp-12ab", "notes.tmp-123", "..tmp-1"}
	stale := []string{".best.ckpt.tmp-4081234567", ".last.ckpt.tmp-1", ".results.json.tmp-99"}
	for _, n := range append(slices.Clone(keep), stale...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a temporary's name and a stale file below dir are
	// not ours to remove.
	if err := os.Mkdir(filepath.Join(dir, ".x.tmp-5"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".x.tmp-5", ".y.tmp-6"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, n := range append(keep, ".x.tmp-5", filepath.Join(".x.tmp-5", ".y.tmp-6")) {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing")); err != nil || removed != nil {
		t.Errorf("missing directory: %v, %v; want nothing, no error", removed, err)
	}
}

// TestRemoveStaleMatchesWrite ties the pattern RemoveStale knows to the
// names Write really creates.
func TestRemoveStaleMatchesWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "best.ckpt")
	var name string
	err := Write(path, func(w io.Writer) error {
		name = filepath.Base(w.(tempFile).Name())
		return errors.New("killed")
	})
	if err == nil || !staleTemp.MatchString(name) {
		t.Fatalf("temporary %q does not match %v (err %v)", name, staleTemp, err)
	}
}
