package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		old     string // existing content; "" means no file
		write   func(io.Writer) error
		want    string // content afterwards; "" means no file
		wantErr error
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }, "hello", nil},
		{"replaces", "old", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"failure keeps the old file", "old", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "old", boom},
		{"failure creates nothing", "", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.bin")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, tt.write)
			if !errors.Is(err, tt.wantErr) && !(err != nil && tt.wantErr != nil && strings.Contains(err.Error(), tt.wantErr.Error())) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case tt.want == "" && rerr == nil:
				t.Errorf("file exists with %q, want none", got)
			case tt.want != "" && string(got) != tt.want:
				t.Errorf("content %q, want %q (read error %v)", got, tt.want, rerr)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "f.bin" {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
			if tt.wantErr == nil {
				st, _ := os.Stat(path)
				if st.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", st.Mode().Perm())
				}
			}
		})
	}
}

func TestWriteBytesIntoMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f.bin")
	if err := WriteBytes(path, []byte("x")); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want an error naming %s", err, path)
	}
}
