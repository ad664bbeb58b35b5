//go:build amd64 && !purego

package layers

//go:noescape
func transpose8F32AVX2(dst *float32, dstStride int, src *float32, srcStride int, tiles int)

//go:noescape
func transposeBias8F32AVX2(dst *float32, dstStride int, src *float32, srcStride int, tiles int, bias *float32)

// transposeVec transposes the leading rows&^7 × cols&^7 block of src
// into dst, adding bias[c] to output row c when bias is not nil, with the
// AVX2 kernels (transpose_amd64.s; useAVX2, the ReLU kernels' switch),
// and reports how many rows and columns it did; transpose does the rest.
// The caller has checked the bounds.
func transposeVec[T float](dst, src, bias []T, rows, cols int) (doneRows, doneCols int) {
	d, ok := any(dst).([]float32)
	if !ok || !useAVX2 || rows < 8 || cols < 8 {
		return 0, 0
	}
	s, b := any(src).([]float32), any(bias).([]float32)
	doneRows, doneCols = rows&^7, cols&^7
	for r0 := 0; r0 < doneRows; r0 += 8 {
		if b == nil {
			transpose8F32AVX2(&d[r0], rows, &s[r0*cols], cols, doneCols/8)
		} else {
			transposeBias8F32AVX2(&d[r0], rows, &s[r0*cols], cols, doneCols/8, &b[0])
		}
	}
	return doneRows, doneCols
}
