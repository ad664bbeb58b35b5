package layers

import "fmt"

// checkRuns panics, as an out-of-range slice would, when runs runs of n
// values at the given strides do not fit in dst and src: the vector
// kernels read and write through pointers.
func checkRuns[T float](dst, src []T, n, runs, dstStride, srcStride int) {
	if n < 0 || runs < 0 || (runs > 0 && n > 0 && ((runs-1)*dstStride+n > len(dst) || (runs-1)*srcStride+n > len(src))) {
		panic(fmt.Sprintf("layers: %d runs of %d at strides %d/%d overflow %d/%d values", runs, n, dstStride, srcStride, len(dst), len(src)))
	}
}

// copyRuns copies runs runs of n values, run r from src[r·srcStride:] to
// dst[r·dstStride:]: one call for every row of a kernel cell in im2col,
// where a copy per row (14 values in the MNIST CNN's second layer) cost
// more in calls than in copying.
func copyRuns[T float](dst, src []T, n, runs, dstStride, srcStride int) {
	checkRuns(dst, src, n, runs, dstStride, srcStride)
	if n == 0 || runs == 0 || runsVec(false, dst, src, n, runs, dstStride, srcStride) {
		return
	}
	for r := 0; r < runs; r++ {
		copy(dst[r*dstStride:r*dstStride+n], src[r*srcStride:r*srcStride+n])
	}
}

// addRuns is copyRuns with dst[i] += src[i], the runs of col2im; the runs
// must not overlap in dst.
func addRuns[T float](dst, src []T, n, runs, dstStride, srcStride int) {
	checkRuns(dst, src, n, runs, dstStride, srcStride)
	if n == 0 || runs == 0 || runsVec(true, dst, src, n, runs, dstStride, srcStride) {
		return
	}
	for r := 0; r < runs; r++ {
		d, s := dst[r*dstStride:r*dstStride+n], src[r*srcStride:r*srcStride+n]
		for q, v := range s {
			d[q] += v
		}
	}
}
