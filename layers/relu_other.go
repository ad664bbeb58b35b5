//go:build !amd64 || purego

package layers

// reluMaskVec: without vector kernels, reluMask's loop does all the work.
func reluMaskVec[T float](x, src, dst []T) int { return 0 }

// useAVX2 is false: there are no vector kernels here.
var useAVX2 = false
