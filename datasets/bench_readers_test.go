package datasets

import (
	"bytes"
	"fmt"
	"image"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkReadCSV reads 10,000 rows of 20 features and a string label.
func BenchmarkReadCSV(b *testing.B) {
	var buf bytes.Buffer
	for j := range 20 {
		buf.WriteString("f" + strconv.Itoa(j) + ",")
	}
	buf.WriteString("label\n")
	for i := range 10000 {
		for j := range 20 {
			buf.WriteString(strconv.FormatFloat(float64(i*j%997)/7, 'g', -1, 32) + ",")
		}
		buf.WriteString([]string{"cat", "dog", "bird"}[i%3] + "\n")
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCSV(bytes.NewReader(data), "bench.csv"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadImageFolder decodes 300 PNGs of 32×32 RGB pixels in three
// classes, resized to 28×28 grey, with 1 and GOMAXPROCS decoders.
func BenchmarkReadImageFolder(b *testing.B) {
	root := b.TempDir()
	for c, class := range []string{"a", "b", "c"} {
		for i := range 100 {
			img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
			for p := range img.Pix {
				img.Pix[p] = uint8(p*7 + i + c*50)
			}
			writeImage(b, filepath.Join(root, class, fmt.Sprintf("%03d.png", i)), img)
		}
	}
	for _, workers := range []int{1, 0} {
		name := "workers=" + strconv.Itoa(workers)
		if workers == 0 {
			name = "workers=GOMAXPROCS"
		}
		b.Run(name, func(b *testing.B) {
			opts := []ImageFolderOption{WithImageSize(28, 28)}
			if workers > 0 {
				opts = append(opts, WithDecodeWorkers(workers))
			}
			for b.Loop() {
				if _, err := ReadImageFolder(root, opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*300)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
