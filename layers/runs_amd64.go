//go:build amd64 && !purego

package layers

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX512Runs selects the AVX-512 kernels of copyRuns and addRuns. A
// variable, so that tests can compare them with the loops.
var useAVX512Runs = cpu.X86.HasAVX512F

//go:noescape
func copyRuns32AVX512(dst, src *float32, n, runs, dstStride, srcStride int)

//go:noescape
func addRuns32AVX512(dst, src *float32, n, runs, dstStride, srcStride int)

//go:noescape
func copyRuns32AVX2(dst, src *float32, n, runs, dstStride, srcStride int)

//go:noescape
func addRuns32AVX2(dst, src *float32, n, runs, dstStride, srcStride int)

// runsVec does copyRuns (add false) or addRuns with a vector kernel, the
// AVX-512 one or else the AVX2 one (useAVX2), and reports whether it did;
// the caller has checked the bounds.
func runsVec[T float](add bool, dst, src []T, n, runs, dstStride, srcStride int) bool {
	d, ok := any(dst).([]float32)
	if !ok || !(useAVX512Runs || useAVX2) {
		return false
	}
	s := any(src).([]float32)
	if !useAVX512Runs {
		if add {
			addRuns32AVX2(unsafe.SliceData(d), unsafe.SliceData(s), n, runs, dstStride, srcStride)
		} else {
			copyRuns32AVX2(unsafe.SliceData(d), unsafe.SliceData(s), n, runs, dstStride, srcStride)
		}
		return true
	}
	if add {
		addRuns32AVX512(unsafe.SliceData(d), unsafe.SliceData(s), n, runs, dstStride, srcStride)
	} else {
		copyRuns32AVX512(unsafe.SliceData(d), unsafe.SliceData(s), n, runs, dstStride, srcStride)
	}
	return true
}
