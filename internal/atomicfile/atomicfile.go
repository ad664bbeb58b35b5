// Package atomicfile writes files so that readers see either the old
// content or the complete new one, never a half-written file: the data goes
// to a temporary file in the same directory, is fsynced, and is renamed over
// the destination, and the directory is fsynced so the rename survives a
// crash.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// Write atomically replaces path with what write produces. If write or any
// file operation fails, path is left untouched and the temporary file is
// removed. The file gets mode 0644.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
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
	if err = os.Rename(tmp.Name(), path); err != nil {
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
