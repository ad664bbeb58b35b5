//go:build amd64 && !purego

package layers

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the AVX2 ReLU and transpose kernels (relu_amd64.s,
// transpose_amd64.s), which give the scalar loops' bits. A variable, so
// that tests can compare the two.
var useAVX2 = cpu.X86.HasAVX2

// The assembly kernels; n is a multiple of 16 (float32) or 8 (float64).
//
//go:noescape
func reluMask32AVX2(x, src, dst *float32, n int)

//go:noescape
func reluMask64AVX2(x, src, dst *float64, n int)

// reluMaskVec does the leading multiple of the vector width of reluMask
// and returns how many elements it did.
func reluMaskVec[T float](x, src, dst []T) int {
	if !useAVX2 {
		return 0
	}
	switch xs := any(x).(type) {
	case []float32:
		n := len(xs) &^ 15
		if n > 0 {
			s, d := any(src).([]float32)[:n], any(dst).([]float32)[:n]
			reluMask32AVX2(unsafe.SliceData(xs), unsafe.SliceData(s), unsafe.SliceData(d), n)
		}
		return n
	case []float64:
		n := len(xs) &^ 7
		if n > 0 {
			s, d := any(src).([]float64)[:n], any(dst).([]float64)[:n]
			reluMask64AVX2(unsafe.SliceData(xs), unsafe.SliceData(s), unsafe.SliceData(d), n)
		}
		return n
	}
	return 0
}
