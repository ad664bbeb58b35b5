package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
)

// idxFile encodes an IDX file with the given magic and dimensions around
// payload.
func idxFile(magic uint32, dims []uint32, payload []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

func TestReadIDXValid(t *testing.T) {
	pixels := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	raw := idxFile(idxImagesMagic, []uint32{2, 2, 3}, pixels)
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		imgs, err := ReadIDXImages(bytes.NewReader(data), name)
		if err != nil {
			t.Fatal(err)
		}
		if imgs.Count != 2 || imgs.Rows != 2 || imgs.Cols != 3 || !bytes.Equal(imgs.Pixels, pixels) || !bytes.Equal(imgs.Image(1), pixels[6:]) {
			t.Fatalf("%s: %+v", name, imgs)
		}
	}
	lraw := idxFile(idxLabelsMagic, []uint32{3}, []byte{7, 0, 9})
	for name, data := range map[string][]byte{"raw": lraw, "gzip": gz(lraw)} {
		labels, err := ReadIDXLabels(bytes.NewReader(data), name)
		if err != nil || !bytes.Equal(labels, []byte{7, 0, 9}) {
			t.Fatalf("%s: %v, %v", name, labels, err)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	img := idxFile(idxImagesMagic, []uint32{2, 2, 2}, make([]byte, 8))
	lab := idxFile(idxLabelsMagic, []uint32{4}, make([]byte, 4))
	corrupt := gz(img)
	corrupt[len(corrupt)-6] ^= 0xff // inside the CRC-32 trailer
	noise := make([]byte, 2*100*100)
	for i := range noise {
		noise[i] = byte(i * i * 31 >> 3)
	}
	badDeflate := gz(idxFile(idxImagesMagic, []uint32{2, 100, 100}, noise))
	badDeflate[len(badDeflate)/2] ^= 0x55
	for _, tt := range []struct {
		name   string
		labels bool
		data   []byte
		want   string
	}{
		{"empty", false, nil, "file is empty or shorter than an IDX header"},
		{"one byte", false, []byte{0}, "shorter than an IDX header"},
		{"short header", false, img[:10], "truncated header"},
		{"label magic in image file", false, lab, "magic number 0x00000801, want 0x00000803 (idx3-ubyte images) (a label file: images and labels swapped?)"},
		{"image magic in label file", true, img, "magic number 0x00000803, want 0x00000801 (idx1-ubyte labels) (an image file"},
		{"wrong type", false, idxFile(0x00000d03, []uint32{1, 1, 1}, []byte{0}), "magic number 0x00000d03"},
		{"zero images", false, idxFile(idxImagesMagic, []uint32{0, 28, 28}, nil), "dimension 0 (images) is 0"},
		{"zero columns", false, idxFile(idxImagesMagic, []uint32{1, 28, 0}, nil), "dimension 2 (columns) is 0"},
		{"zero labels", true, idxFile(idxLabelsMagic, []uint32{0}, nil), "label count is 0"},
		{"huge header", false, idxFile(idxImagesMagic, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), "more than the"},
		{"truncated payload", false, img[:len(img)-3], "truncated: header promises 2 images of 2×2 pixels (8 bytes), found 5 bytes (1 whole images)"},
		{"truncated labels", true, lab[:len(lab)-1], "truncated: header promises 4 labels, found 3"},
		{"trailing bytes", true, append(lab, 1, 2), "2 bytes after the 4 the header promises"},
		{"truncated gzip", false, gz(img)[:20], "corrupted gzip"},
		{"gzip crc", false, corrupt, "corrupted gzip"},
		{"gzip deflate", false, badDeflate, "corrupted gzip"},
		{"gzip header", false, []byte{0x1f, 0x8b, 0, 0}, "corrupted gzip header"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.labels {
				_, err = ReadIDXLabels(bytes.NewReader(tt.data), "file.idx")
			} else {
				_, err = ReadIDXImages(bytes.NewReader(tt.data), "file.idx")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), "file.idx") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to name file.idx and contain %q", err, tt.want)
			}
		})
	}
	if _, err := ReadIDXImages(nil, "nil.idx"); err == nil {
		t.Error("nil reader accepted")
	}
}

// FuzzReadIDX feeds arbitrary bytes (raw or gzip) to both readers: they
// must never panic, and whatever they accept must re-encode to the input.
// The seed corpus lives in testdata/fuzz/FuzzReadIDX.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxFile(idxImagesMagic, []uint32{1, 2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxFile(idxLabelsMagic, []uint32{2}, []byte{3, 4}))
	f.Add(gz(idxFile(idxImagesMagic, []uint32{2, 1, 1}, []byte{5, 6})))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b
		if imgs, err := ReadIDXImages(bytes.NewReader(data), "fuzz"); err == nil {
			if len(imgs.Pixels) != imgs.Count*imgs.Rows*imgs.Cols || imgs.Count < 1 {
				t.Fatalf("accepted %d×%d×%d with %d pixels", imgs.Count, imgs.Rows, imgs.Cols, len(imgs.Pixels))
			}
			if enc := idxFile(idxImagesMagic, []uint32{uint32(imgs.Count), uint32(imgs.Rows), uint32(imgs.Cols)}, imgs.Pixels); raw && !bytes.Equal(enc, data) {
				t.Fatal("accepted image file does not re-encode to the input")
			}
		} else if !strings.Contains(err.Error(), "fuzz") {
			t.Fatalf("error does not name the file: %v", err)
		}
		if labels, err := ReadIDXLabels(bytes.NewReader(data), "fuzz"); err == nil {
			if enc := idxFile(idxLabelsMagic, []uint32{uint32(len(labels))}, labels); raw && !bytes.Equal(enc, data) {
				t.Fatal("accepted label file does not re-encode to the input")
			}
		} else if !strings.Contains(err.Error(), "fuzz") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
