//go:build !amd64 || purego

package layers

// useAVX512Runs is false: there are no vector kernels here.
var useAVX512Runs = false

// runsVec: without vector kernels, the loops of copyRuns and addRuns do
// all the work.
func runsVec[T float](add bool, dst, src []T, n, runs, dstStride, srcStride int) bool { return false }

// transposeVec: without vector kernels, transpose's loop does all the
// work.
func transposeVec[T float](dst, src, bias []T, rows, cols int) (doneRows, doneCols int) {
	return 0, 0
}

// pool2x2PlaneVec: without vector kernels, pool2x2Plane's loop does all
// the work.
func pool2x2PlaneVec[T float](g poolGeom, p, q []T, win []int32) bool { return false }

// pool2x2BackwardVec: without vector kernels, poolBackward's loop does
// all the work.
func pool2x2BackwardVec[T float](g poolGeom, grad, d []T, win []int32) bool { return false }
