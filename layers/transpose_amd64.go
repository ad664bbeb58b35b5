//go:build amd64 && !purego

package layers

//go:noescape
func transpose16F32AVX512(dst *float32, dstStride int, src *float32, srcStride int, tiles int)

//go:noescape
func transposeBias16F32AVX512(dst *float32, dstStride int, src *float32, srcStride int, tiles int, bias *float32)

// transposeVec transposes the leading rows&^15 × cols&^15 block of src
// into dst, adding bias[c] to output row c when bias is not nil, with the
// AVX-512 kernels (transpose_amd64.s, the same switch as the runs
// kernels), and reports how many rows and columns it did; transpose does
// the rest. The caller has checked the bounds.
func transposeVec[T float](dst, src, bias []T, rows, cols int) (doneRows, doneCols int) {
	d, ok := any(dst).([]float32)
	if !ok || !useAVX512Runs || rows < 16 || cols < 16 {
		return 0, 0
	}
	s, b := any(src).([]float32), any(bias).([]float32)
	doneRows, doneCols = rows&^15, cols&^15
	for r0 := 0; r0 < doneRows; r0 += 16 {
		if b == nil {
			transpose16F32AVX512(&d[r0], rows, &s[r0*cols], cols, doneCols/16)
		} else {
			transposeBias16F32AVX512(&d[r0], rows, &s[r0*cols], cols, doneCols/16, &b[0])
		}
	}
	return doneRows, doneCols
}
