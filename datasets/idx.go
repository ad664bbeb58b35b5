package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pkg/errors"
)

// IDX magic numbers (http://yann.lecun.com/exdb/mnist/, "file formats"):
// two zero bytes, the element type (0x08 = unsigned byte) and the number of
// dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
	// maxIDXBytes bounds the payload a header may announce, so a forged
	// header cannot make us reserve memory for data that is not there; it
	// is far above any MNIST-style file (47 MB for MNIST's training set).
	maxIDXBytes = 1 << 32
)

// IDXImages is the content of an idx3-ubyte file: Count images of
// Rows × Cols pixels, 0 (background) to 255 (ink), row-major, one image
// after the other.
type IDXImages struct {
	Count, Rows, Cols int
	Pixels            []byte
}

// Image returns the pixels of image i (sharing memory with Pixels).
func (m *IDXImages) Image(i int) []byte {
	n := m.Rows * m.Cols
	return m.Pixels[i*n : (i+1)*n]
}

// ReadIDXImages parses an idx3-ubyte image file, gzipped or raw (it sniffs
// the gzip magic 1f 8b). name labels the errors, which say what was
// expected and what was found: a wrong magic number, a zero dimension, a
// payload shorter or longer than the header promises, or a corrupted gzip
// stream are all errors, never a short result.
func ReadIDXImages(r io.Reader, name string) (*IDXImages, error) {
	body, closeFn, err := openIDX(r, name)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var hdr [16]byte
	if err := readHeader(body, hdr[:4], name); err != nil {
		return nil, err
	}
	if magic := binary.BigEndian.Uint32(hdr[:4]); magic != idxImagesMagic {
		return nil, badMagic(name, magic, idxImagesMagic, "idx3-ubyte images")
	}
	if err := readHeader(body, hdr[4:], name); err != nil {
		return nil, err
	}
	dims := [3]uint64{
		uint64(binary.BigEndian.Uint32(hdr[4:])),
		uint64(binary.BigEndian.Uint32(hdr[8:])),
		uint64(binary.BigEndian.Uint32(hdr[12:])),
	}
	for i, d := range dims {
		if d == 0 {
			return nil, errors.Errorf("datasets: %s: dimension %d (%s) is 0, want ≥ 1", name, i, [3]string{"images", "rows", "columns"}[i])
		}
	}
	total := dims[0] * dims[1] * dims[2]
	if dims[1]*dims[2] > maxIDXBytes || total/dims[0] != dims[1]*dims[2] || total > maxIDXBytes {
		return nil, errors.Errorf("datasets: %s: header announces %d images of %d×%d pixels, more than the %d bytes an IDX file may hold here", name, dims[0], dims[1], dims[2], uint64(maxIDXBytes))
	}
	pixels, err := readPayload(body, total, name, func(got uint64) string {
		return fmt.Sprintf("%d images of %d×%d pixels (%d bytes), found %d bytes (%d whole images)", dims[0], dims[1], dims[2], total, got, got/(dims[1]*dims[2]))
	})
	if err != nil {
		return nil, err
	}
	return &IDXImages{Count: int(dims[0]), Rows: int(dims[1]), Cols: int(dims[2]), Pixels: pixels}, nil
}

// ReadIDXLabels parses an idx1-ubyte label file, gzipped or raw, with the
// same checks as ReadIDXImages, and returns one byte per label.
func ReadIDXLabels(r io.Reader, name string) ([]byte, error) {
	body, closeFn, err := openIDX(r, name)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var hdr [8]byte
	if err := readHeader(body, hdr[:4], name); err != nil {
		return nil, err
	}
	if magic := binary.BigEndian.Uint32(hdr[:4]); magic != idxLabelsMagic {
		return nil, badMagic(name, magic, idxLabelsMagic, "idx1-ubyte labels")
	}
	if err := readHeader(body, hdr[4:], name); err != nil {
		return nil, err
	}
	n := uint64(binary.BigEndian.Uint32(hdr[4:]))
	if n == 0 {
		return nil, errors.Errorf("datasets: %s: label count is 0, want ≥ 1", name)
	}
	return readPayload(body, n, name, func(got uint64) string {
		return fmt.Sprintf("%d labels, found %d", n, got)
	})
}

// openIDX returns a reader of the decompressed file.
func openIDX(r io.Reader, name string) (io.Reader, func(), error) {
	if r == nil {
		return nil, nil, errors.Errorf("datasets: %s: nil reader", name)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && len(magic) < 2 {
		if err == io.EOF {
			return nil, nil, errors.Errorf("datasets: %s: file is empty or shorter than an IDX header (%d bytes)", name, len(magic))
		}
		return nil, nil, errors.Wrapf(err, "datasets: reading %s", name)
	}
	if magic[0] != 0x1f || magic[1] != 0x8b {
		return br, func() {}, nil
	}
	z, err := gzip.NewReader(br)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "datasets: %s: corrupted gzip header", name)
	}
	return z, func() { z.Close() }, nil
}

func badMagic(name string, got, want uint32, what string) error {
	hint := ""
	switch got {
	case idxImagesMagic:
		hint = " (an image file: images and labels swapped?)"
	case idxLabelsMagic:
		hint = " (a label file: images and labels swapped?)"
	}
	return errors.Errorf("datasets: %s: magic number 0x%08x, want 0x%08x (%s)%s", name, got, want, what, hint)
}

func readHeader(r io.Reader, buf []byte, name string) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return errors.Errorf("datasets: %s: truncated header: file ends inside the first 16 bytes", name)
		}
		return errors.Wrapf(err, "datasets: reading %s (corrupted gzip stream?)", name)
	}
	return nil
}

// readPayload reads exactly n bytes and then insists on the end of the
// stream: reading to EOF is also what makes gzip verify its CRC-32, so a
// corrupted archive cannot pass as a complete one. The buffer is sized
// from the header up to maxPrealloc (enough for MNIST's 47 MB of training
// images, so they are read without regrowing); beyond that it grows with
// the data actually read, so a header claiming terabytes cannot make us
// allocate them.
func readPayload(r io.Reader, n uint64, name string, want func(got uint64) string) ([]byte, error) {
	const maxPrealloc = 64 << 20
	var buf bytes.Buffer
	buf.Grow(int(min(n, maxPrealloc)))
	got, err := io.Copy(&buf, io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, errors.Wrapf(err, "datasets: reading %s after %d of %d payload bytes (corrupted gzip stream?)", name, got, n)
	}
	if uint64(got) < n {
		return nil, errors.Errorf("datasets: %s: truncated: header promises %s", name, want(uint64(got)))
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		extra, _ := io.Copy(io.Discard, r)
		return nil, errors.Errorf("datasets: %s: %d bytes after the %d the header promises (wrong header or concatenated files?)", name, extra+1, n)
	case err != io.EOF:
		return nil, errors.Wrapf(err, "datasets: %s: checking the end of the file (corrupted gzip stream?)", name)
	}
	return buf.Bytes(), nil
}
