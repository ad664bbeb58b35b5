package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/pkg/errors"
)

// tempFile is what Write needs of its temporary file; tests replace
// createTemp and rename to inject faults.
type tempFile interface {
	io.Writer
	Chmod(mode os.FileMode) error
	Sync() error
	Close() error
	Name() string
}

var (
	createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
	rename     = os.Rename
)

// tempPattern is the os.CreateTemp pattern of path's temporary file:
// ".NAME.tmp-" followed by the random digits CreateTemp puts for "*".
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// staleTemp matches the names tempPattern produces, and nothing else.
var staleTemp = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)

// Write atomically replaces path with what write produces. If write or any
// file operation fails, path is left untouched and the temporary file is
// removed. The file gets mode 0644.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, tempPattern(path))
	if err != nil {
		return errors.Wrapf(err, "writing %s", path)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return errors.Wrapf(err, "writing %s", path)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return errors.Wrapf(err, "writing %s", path)
	}
	if err = tmp.Sync(); err != nil {
		return errors.Wrapf(err, "syncing %s", path)
	}
	if err = tmp.Close(); err != nil {
		return errors.Wrapf(err, "writing %s", path)
	}
	if err = rename(tmp.Name(), path); err != nil {
		return errors.Wrapf(err, "renaming into %s", path)
	}
	if d, derr := os.Open(dir); derr == nil {
		// Without this the rename itself may be lost in a crash; some
		// file systems refuse to sync a directory, which is not an error
		// worth failing the write for.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes atomically replaces path with data.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// RemoveStale deletes the temporary files that a Write killed before its
// rename (kill -9, a power cut) left in dir, and returns their names. It
// removes only regular files named as Write names its temporaries
// (".NAME.tmp-DIGITS"), only in dir itself, never below it. Call it when a
// program starts using a directory, before it writes there: a temporary
// file of a Write running concurrently in dir would be removed too.
func RemoveStale(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, errors.Wrapf(err, "looking for stale temporary files in %s", dir)
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !staleTemp.MatchString(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
			return removed, errors.Wrapf(err, "removing stale temporary file %s", filepath.Join(dir, e.Name()))
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
