//go:build !amd64 || purego

package asm

import "unsafe"

// Available is false: without the assembly kernels fastblas calls gonum.
const Available = false

// AvailableAVX512 is false: see Available.
const AvailableAVX512 = false

// Sgemm6x16 is not available on this platform (see Available).
func Sgemm6x16(k int, a *float32, ars, aps int, b, c *float32, ldc int, alpha, beta float32, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// Dgemm6x8 is not available on this platform (see Available).
func Dgemm6x8(k int, a *float64, ars, aps int, b, c *float64, ldc int, alpha, beta float64, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// PackRows64 is not available on this platform (see Available).
func PackRows64(dst, src unsafe.Pointer, rows, stride int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// Sgemm6x32AVX512 is not available on this platform (see Available).
func Sgemm6x32AVX512(k int, a *float32, ars, aps int, b, c *float32, ldc int, alpha, beta float32, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// Dgemm6x16AVX512 is not available on this platform (see Available).
func Dgemm6x16AVX512(k int, a *float64, ars, aps int, b, c *float64, ldc int, alpha, beta float64, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// PackRows128AVX512 is not available on this platform (see Available).
func PackRows128AVX512(dst, src unsafe.Pointer, rows, stride int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// Sgemm6x16Gathered is not available on this platform (see Available).
func Sgemm6x16Gathered(k int, a *float32, rows, cols *int32, b, c *float32, ldc int, alpha, beta float32, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}

// Sgemm6x32AVX512Gathered is not available on this platform (see Available).
func Sgemm6x32AVX512Gathered(k int, a *float32, rows, cols *int32, b, c *float32, ldc int, alpha, beta float32, load int) {
	panic("fastblas/internal/asm: kernel called on a platform without it")
}
