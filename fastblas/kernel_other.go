//go:build !amd64 || purego

package fastblas

import "unsafe"

// Without the assembly kernels every call goes to gonum's implementation.
const hasAsmKernels = false

func sgemmKernel6x16(k int, a *float32, ars, aps int, b, c *float32, ldc int, alpha, beta float32, load int) {
	panic("fastblas: assembly kernel called on a platform without it")
}

func dgemmKernel6x8(k int, a *float64, ars, aps int, b, c *float64, ldc int, alpha, beta float64, load int) {
	panic("fastblas: assembly kernel called on a platform without it")
}

func packRows64(dst, src unsafe.Pointer, rows, stride int) {
	panic("fastblas: assembly kernel called on a platform without it")
}
