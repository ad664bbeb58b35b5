//go:build amd64 && !purego

package layers

//go:noescape
func transpose16F32AVX512(dst *float32, dstStride int, src *float32, srcStride int, tiles int)

// transposeVec transposes the leading rows&^15 × cols&^15 block of src
// into dst with the AVX-512 kernel (the same switch as the runs kernels)
// and reports how many rows and columns it did; transposeInto does the
// rest. The caller has checked the bounds.
func transposeVec[T float](dst, src []T, rows, cols int) (doneRows, doneCols int) {
	d, ok := any(dst).([]float32)
	if !ok || !useAVX512Runs || rows < 16 || cols < 16 {
		return 0, 0
	}
	s := any(src).([]float32)
	doneRows, doneCols = rows&^15, cols&^15
	for r0 := 0; r0 < doneRows; r0 += 16 {
		transpose16F32AVX512(&d[r0], rows, &s[r0*cols], cols, doneCols/16)
	}
	return doneRows, doneCols
}
