//go:build amd64 && !purego

#include "textflag.h"

// func copyRuns32AVX512(dst, src *float32, n, runs, dstStride, srcStride int)
//
// Copies runs runs of n float32s, run r from src+r·srcStride to
// dst+r·dstStride (strides in elements): whole 16-value vectors, then the
// rest of the run with one masked load and store, so a run of 14 (the
// MNIST CNN's second layer) is two instructions instead of a memmove call.
TEXT ·copyRuns32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ runs+24(FP), DX
	MOVQ dstStride+32(FP), R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ BX, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	SUBL $1, AX
	KMOVW AX, K1
	SHRQ $4, BX

copy_run:
	TESTQ DX, DX
	JE    copy_done
	MOVQ  SI, R10
	MOVQ  DI, R11
	MOVQ  BX, R12

copy_full:
	TESTQ   R12, R12
	JE      copy_tail
	VMOVUPS (R10), Z0
	VMOVUPS Z0, (R11)
	ADDQ    $64, R10
	ADDQ    $64, R11
	DECQ    R12
	JMP     copy_full

copy_tail:
	VMOVUPS (R10), K1, Z0
	VMOVUPS Z0, K1, (R11)
	ADDQ    R9, SI
	ADDQ    R8, DI
	DECQ    DX
	JMP     copy_run

copy_done:
	VZEROUPPER
	RET

// func addRuns32AVX512(dst, src *float32, n, runs, dstStride, srcStride int)
//
// copyRuns32AVX512 with dst[i] += src[i]: each element gets one addition,
// with dst as the first operand as in the scalar loop, so the bits are
// the loop's.
TEXT ·addRuns32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ runs+24(FP), DX
	MOVQ dstStride+32(FP), R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ BX, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	SUBL $1, AX
	KMOVW AX, K1
	SHRQ $4, BX

add_run:
	TESTQ DX, DX
	JE    add_done
	MOVQ  SI, R10
	MOVQ  DI, R11
	MOVQ  BX, R12

add_full:
	TESTQ   R12, R12
	JE      add_tail
	VMOVUPS (R10), Z0
	VMOVUPS (R11), Z1
	VADDPS  Z0, Z1, Z1
	VMOVUPS Z1, (R11)
	ADDQ    $64, R10
	ADDQ    $64, R11
	DECQ    R12
	JMP     add_full

add_tail:
	VMOVUPS (R10), K1, Z0
	VMOVUPS (R11), K1, Z1
	VADDPS  Z0, Z1, Z1
	VMOVUPS Z1, K1, (R11)
	ADDQ    R9, SI
	ADDQ    R8, DI
	DECQ    DX
	JMP     add_run

add_done:
	VZEROUPPER
	RET

// Lanes in use of a masked last vector: the 8 int32 at runsMask<>+4·(8−r)
// are r times −1, then 0.
DATA runsMask<>+0(SB)/8, $0xffffffffffffffff
DATA runsMask<>+8(SB)/8, $0xffffffffffffffff
DATA runsMask<>+16(SB)/8, $0xffffffffffffffff
DATA runsMask<>+24(SB)/8, $0xffffffffffffffff
DATA runsMask<>+32(SB)/8, $0
DATA runsMask<>+40(SB)/8, $0
DATA runsMask<>+48(SB)/8, $0
DATA runsMask<>+56(SB)/8, $0
GLOBL runsMask<>(SB), RODATA|NOPTR, $64

// func copyRuns32AVX2(dst, src *float32, n, runs, dstStride, srcStride int)
//
// copyRuns32AVX512 with AVX2, for CPUs without AVX-512: whole 8-value
// vectors, then the rest of the run with VMASKMOVPS.
TEXT ·copyRuns32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ runs+24(FP), DX
	MOVQ dstStride+32(FP), R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ BX, CX
	ANDQ $7, CX
	LEAQ runsMask<>(SB), AX
	NEGQ CX
	LEAQ 32(AX)(CX*4), AX
	VMOVDQU (AX), Y7
	SHRQ $3, BX

copy2_run:
	TESTQ DX, DX
	JE    copy2_done
	MOVQ  SI, R10
	MOVQ  DI, R11
	MOVQ  BX, R12

copy2_full:
	TESTQ   R12, R12
	JE      copy2_tail
	VMOVUPS (R10), Y0
	VMOVUPS Y0, (R11)
	ADDQ    $32, R10
	ADDQ    $32, R11
	DECQ    R12
	JMP     copy2_full

copy2_tail:
	VMASKMOVPS (R10), Y7, Y0
	VMASKMOVPS Y0, Y7, (R11)
	ADDQ       R9, SI
	ADDQ       R8, DI
	DECQ       DX
	JMP        copy2_run

copy2_done:
	VZEROUPPER
	RET

// func addRuns32AVX2(dst, src *float32, n, runs, dstStride, srcStride int)
//
// copyRuns32AVX2 with dst[i] += src[i], with dst as the first operand as
// in the scalar loop.
TEXT ·addRuns32AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ runs+24(FP), DX
	MOVQ dstStride+32(FP), R8
	MOVQ srcStride+40(FP), R9
	SHLQ $2, R8
	SHLQ $2, R9
	MOVQ BX, CX
	ANDQ $7, CX
	LEAQ runsMask<>(SB), AX
	NEGQ CX
	LEAQ 32(AX)(CX*4), AX
	VMOVDQU (AX), Y7
	SHRQ $3, BX

add2_run:
	TESTQ DX, DX
	JE    add2_done
	MOVQ  SI, R10
	MOVQ  DI, R11
	MOVQ  BX, R12

add2_full:
	TESTQ   R12, R12
	JE      add2_tail
	VMOVUPS (R10), Y0
	VMOVUPS (R11), Y1
	VADDPS  Y0, Y1, Y1
	VMOVUPS Y1, (R11)
	ADDQ    $32, R10
	ADDQ    $32, R11
	DECQ    R12
	JMP     add2_full

add2_tail:
	VMASKMOVPS (R10), Y7, Y0
	VMASKMOVPS (R11), Y7, Y1
	VADDPS     Y0, Y1, Y1
	VMASKMOVPS Y1, Y7, (R11)
	ADDQ       R9, SI
	ADDQ       R8, DI
	DECQ       DX
	JMP        add2_run

add2_done:
	VZEROUPPER
	RET
