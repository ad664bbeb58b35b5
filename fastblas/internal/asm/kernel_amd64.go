//go:build amd64 && !purego

package asm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Available reports whether the AVX2+FMA kernels may run here.
// x/sys/cpu's HasAVX2 already includes the check that the operating system
// saves the YMM registers on a context switch.
var Available = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// AvailableAVX512 reports whether the AVX-512 kernels may run here as well;
// x/sys/cpu checks that the operating system saves the ZMM registers.
var AvailableAVX512 = Available && cpu.X86.HasAVX512F

// Sgemm6x16 computes a 6×16 block of C from a 6×k block of A, whose
// element (r, p) is at a[r*ars+p*aps] (so A is read in place, transposed or
// not, or from a packed panel), and a packed k×16 panel of B (row p at
// b[16p:]): with load == 0 it stores alpha·(A·B), otherwise
// beta·C + alpha·(A·B) (one fused multiply-add per element). Every element's
// products are accumulated in order of k by one FMA chain starting from 0,
// which is what makes results independent of where the element sits in C.
//
//go:noescape
func Sgemm6x16(k int, a *float32, ars, aps int, b, c *float32, ldc int, alpha, beta float32, load int)

// Dgemm6x8 is Sgemm6x16 for float64 with 6×8 blocks.
//
//go:noescape
func Dgemm6x8(k int, a *float64, ars, aps int, b, c *float64, ldc int, alpha, beta float64, load int)

// PackRows64 copies rows runs of 64 bytes, stride bytes apart in src, to
// consecutive 64-byte slots of dst: a kc×16 float32 or kc×8 float64 panel
// of B. It exists because the compiler copies a generic [16]T with a call
// to memmove, which took a tenth of the time of a 64×784·784×128 product.
//
//go:noescape
func PackRows64(dst, src unsafe.Pointer, rows, stride int)

// Sgemm6x32AVX512 is Sgemm6x16 with 6×32 blocks in ZMM registers (B panels
// of 32 columns); it computes every element exactly as Sgemm6x16 does.
//
//go:noescape
func Sgemm6x32AVX512(k int, a *float32, ars, aps int, b, c *float32, ldc int, alpha, beta float32, load int)

// Dgemm6x16AVX512 is Dgemm6x8 with 6×16 blocks in ZMM registers.
//
//go:noescape
func Dgemm6x16AVX512(k int, a *float64, ars, aps int, b, c *float64, ldc int, alpha, beta float64, load int)

// PackRows128AVX512 is PackRows64 for runs of 128 bytes: panels of B for
// the AVX-512 kernels.
//
//go:noescape
func PackRows128AVX512(dst, src unsafe.Pointer, rows, stride int)

// Sgemm6x16Gathered is Sgemm6x16 with A gathered instead of strided:
// element (r, p) of the 6×k block is a[rows[r]+cols[p]] (rows holds 6
// offsets, cols k), so that the unrolled view of images (im2col) can be
// read from the images themselves. The FMAs are Sgemm6x16's, in the same
// order: the same bits as the kernel on the unrolled matrix.
//
//go:noescape
func Sgemm6x16Gathered(k int, a *float32, rows, cols *int32, b, c *float32, ldc int, alpha, beta float32, load int)

// Sgemm6x32AVX512Gathered is Sgemm6x32AVX512 with A gathered as in
// Sgemm6x16Gathered.
//
//go:noescape
func Sgemm6x32AVX512Gathered(k int, a *float32, rows, cols *int32, b, c *float32, ldc int, alpha, beta float32, load int)
