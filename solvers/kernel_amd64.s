//go:build amd64 && !purego

#include "textflag.h"

// The exponent masks of float32 and float64, for flush32 and flush64.
DATA exp32<>+0(SB)/4, $0x7f800000
GLOBL exp32<>(SB), RODATA|NOPTR, $4
DATA exp64<>+0(SB)/8, $0x7ff0000000000000
GLOBL exp64<>(SB), RODATA|NOPTR, $8

// AVX2 kernels for kernel_amd64.go. No FMA anywhere: every product and sum
// is rounded on its own, exactly as the portable Go kernels round it.
// The kernel32/kernel64 offsets follow the field order in kernel.go
// (TestKernelLayout checks them).

// func update32AVX2(k *kernel32, p, grad, m, v, vmax *float32, n int)
//
// One Adam step over n float32s (n a multiple of 8), the operations of
// update32Go in the same order. Registers: DI k, AX p, BX g, CX m,
// DX v, R8 vmax, R9 end (bytes), R10 offset (bytes), R11 flags; Y8–Y15
// hold β1, 1−β1, β2, 1−β2, ε, decay, −step, √(1−β2ᵗ); Y7 is zero.
TEXT ·update32AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), DI
	MOVQ p+8(FP), AX
	MOVQ grad+16(FP), BX
	MOVQ m+24(FP), CX
	MOVQ v+32(FP), DX
	MOVQ vmax+40(FP), R8
	MOVQ n+48(FP), R9
	SHLQ $2, R9
	MOVL 52(DI), R11
	VBROADCASTSS 0(DI), Y8
	VBROADCASTSS 4(DI), Y9
	VBROADCASTSS 8(DI), Y10
	VBROADCASTSS 12(DI), Y11
	VBROADCASTSS 16(DI), Y12
	VBROADCASTSS 20(DI), Y13
	VBROADCASTSS 40(DI), Y14
	VBROADCASTSS 44(DI), Y15
	VXORPS Y7, Y7, Y7
	XORQ R10, R10

update32avx2_loop:
	CMPQ R10, R9
	JGE  update32avx2_done
	VMOVUPS (BX)(R10*1), Y0
	VMOVUPS (AX)(R10*1), Y1
	TESTL R11, R11
	JZ   update32avx2_moments
	TESTL $1, R11
	JZ   update32avx2_noscale
	VBROADCASTSS 28(DI), Y4
	VMULPS Y4, Y0, Y0 // g·scale

update32avx2_noscale:
	TESTL $2, R11
	JZ   update32avx2_noclip
	VBROADCASTSS 36(DI), Y4
	VMAXPS Y4, Y0, Y0 // max(g, −clip)
	VBROADCASTSS 32(DI), Y4
	VMINPS Y4, Y0, Y0 // min(·, clip)

update32avx2_noclip:
	TESTL $4, R11
	JZ   update32avx2_nomax
	VBROADCASTSS 48(DI), Y4
	VXORPS Y4, Y0, Y0 // −g

update32avx2_nomax:
	TESTL $8, R11
	JZ   update32avx2_moments
	VBROADCASTSS 24(DI), Y4
	VMULPS Y1, Y4, Y4 // λ·θ
	VADDPS Y4, Y0, Y0 // g + λ·θ

update32avx2_moments:
	VMULPS Y13, Y1, Y1 // θ·decay
	VMOVUPS (CX)(R10*1), Y2
	VMULPS Y8, Y2, Y2 // m·β1
	VMULPS Y9, Y0, Y4 // (1−β1)·g
	VADDPS Y4, Y2, Y2 // m
	VMOVUPS (DX)(R10*1), Y3
	VMULPS Y10, Y3, Y3 // v·β2
	VMULPS Y11, Y0, Y4 // (1−β2)·g
	VMULPS Y0, Y4, Y4 // ((1−β2)·g)·g
	VADDPS Y4, Y3, Y3 // v
	VBROADCASTSS exp32<>(SB), Y4
	VANDPS Y4, Y2, Y6
	VPCMPEQD Y7, Y6, Y6 // m's exponent bits all zero: subnormal or zero
	VANDNPS Y2, Y6, Y2 // flush32(m)
	VANDPS Y4, Y3, Y6
	VPCMPEQD Y7, Y6, Y6
	VANDNPS Y3, Y6, Y3 // flush32(v)
	VMOVUPS Y2, (CX)(R10*1)
	VMOVUPS Y3, (DX)(R10*1)
	TESTL $16, R11
	JZ   update32avx2_denom
	VMOVUPS (R8)(R10*1), Y5
	VMAXPS Y3, Y5, Y3 // max(v̂, v)
	VMOVUPS Y3, (R8)(R10*1)

update32avx2_denom:
	VSQRTPS Y3, Y5
	VDIVPS Y15, Y5, Y5 // √v/√(1−β2ᵗ)
	VADDPS Y12, Y5, Y5 // + ε
	VMULPS Y14, Y2, Y4 // −step·m
	VDIVPS Y5, Y4, Y4 // / denom
	VADDPS Y4, Y1, Y1 // θ + ·
	VMOVUPS Y1, (AX)(R10*1)
	VMOVUPS Y7, (BX)(R10*1)
	ADDQ $32, R10
	JMP  update32avx2_loop

update32avx2_done:
	VZEROUPPER
	RET

// func update64AVX2(k *kernel64, p, grad, m, v, vmax *float64, n int)
//
// One Adam step over n float64s (n a multiple of 4), the operations of
// update64Go in the same order. Registers: DI k, AX p, BX g, CX m,
// DX v, R8 vmax, R9 end (bytes), R10 offset (bytes), R11 flags; Y8–Y15
// hold β1, 1−β1, β2, 1−β2, ε, decay, −step, √(1−β2ᵗ); Y7 is zero.
TEXT ·update64AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), DI
	MOVQ p+8(FP), AX
	MOVQ grad+16(FP), BX
	MOVQ m+24(FP), CX
	MOVQ v+32(FP), DX
	MOVQ vmax+40(FP), R8
	MOVQ n+48(FP), R9
	SHLQ $3, R9
	MOVQ 104(DI), R11
	VBROADCASTSD 0(DI), Y8
	VBROADCASTSD 8(DI), Y9
	VBROADCASTSD 16(DI), Y10
	VBROADCASTSD 24(DI), Y11
	VBROADCASTSD 32(DI), Y12
	VBROADCASTSD 40(DI), Y13
	VBROADCASTSD 80(DI), Y14
	VBROADCASTSD 88(DI), Y15
	VXORPS Y7, Y7, Y7
	XORQ R10, R10

update64avx2_loop:
	CMPQ R10, R9
	JGE  update64avx2_done
	VMOVUPD (BX)(R10*1), Y0
	VMOVUPD (AX)(R10*1), Y1
	TESTQ R11, R11
	JZ   update64avx2_moments
	TESTQ $1, R11
	JZ   update64avx2_noscale
	VBROADCASTSD 56(DI), Y4
	VMULPD Y4, Y0, Y0 // g·scale

update64avx2_noscale:
	TESTQ $2, R11
	JZ   update64avx2_noclip
	VBROADCASTSD 72(DI), Y4
	VMAXPD Y4, Y0, Y0 // max(g, −clip)
	VBROADCASTSD 64(DI), Y4
	VMINPD Y4, Y0, Y0 // min(·, clip)

update64avx2_noclip:
	TESTQ $4, R11
	JZ   update64avx2_nomax
	VBROADCASTSD 96(DI), Y4
	VXORPS Y4, Y0, Y0 // −g

update64avx2_nomax:
	TESTQ $8, R11
	JZ   update64avx2_moments
	VBROADCASTSD 48(DI), Y4
	VMULPD Y1, Y4, Y4 // λ·θ
	VADDPD Y4, Y0, Y0 // g + λ·θ

update64avx2_moments:
	VMULPD Y13, Y1, Y1 // θ·decay
	VMOVUPD (CX)(R10*1), Y2
	VMULPD Y8, Y2, Y2 // m·β1
	VMULPD Y9, Y0, Y4 // (1−β1)·g
	VADDPD Y4, Y2, Y2 // m
	VMOVUPD (DX)(R10*1), Y3
	VMULPD Y10, Y3, Y3 // v·β2
	VMULPD Y11, Y0, Y4 // (1−β2)·g
	VMULPD Y0, Y4, Y4 // ((1−β2)·g)·g
	VADDPD Y4, Y3, Y3 // v
	VBROADCASTSD exp64<>(SB), Y4
	VANDPD Y4, Y2, Y6
	VPCMPEQQ Y7, Y6, Y6 // m's exponent bits all zero: subnormal or zero
	VANDNPD Y2, Y6, Y2 // flush64(m)
	VANDPD Y4, Y3, Y6
	VPCMPEQQ Y7, Y6, Y6
	VANDNPD Y3, Y6, Y3 // flush64(v)
	VMOVUPD Y2, (CX)(R10*1)
	VMOVUPD Y3, (DX)(R10*1)
	TESTQ $16, R11
	JZ   update64avx2_denom
	VMOVUPD (R8)(R10*1), Y5
	VMAXPD Y3, Y5, Y3 // max(v̂, v)
	VMOVUPD Y3, (R8)(R10*1)

update64avx2_denom:
	VSQRTPD Y3, Y5
	VDIVPD Y15, Y5, Y5 // √v/√(1−β2ᵗ)
	VADDPD Y12, Y5, Y5 // + ε
	VMULPD Y14, Y2, Y4 // −step·m
	VDIVPD Y5, Y4, Y4 // / denom
	VADDPD Y4, Y1, Y1 // θ + ·
	VMOVUPD Y1, (AX)(R10*1)
	VMOVUPD Y7, (BX)(R10*1)
	ADDQ $32, R10
	JMP  update64avx2_loop

update64avx2_done:
	VZEROUPPER
	RET

// func sumsq32AVX2(x *float32, n int, s *[sumLanes]float64)
//
// Adds the squares of n float32s (n a multiple of 16), in float64, into the
// 16 lanes of s: element i to lane i mod 16, as sumsq32Go does.
TEXT ·sumsq32AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ s+16(FP), DI
	SHLQ $2, CX
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	XORQ AX, AX

sumsq32avx2_loop:
	CMPQ AX, CX
	JGE  sumsq32avx2_done
	VCVTPS2PD 0(SI)(AX*1), Y4
	VCVTPS2PD 16(SI)(AX*1), Y5
	VCVTPS2PD 32(SI)(AX*1), Y6
	VCVTPS2PD 48(SI)(AX*1), Y7
	VMULPD Y4, Y4, Y4
	VMULPD Y5, Y5, Y5
	VMULPD Y6, Y6, Y6
	VMULPD Y7, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, AX
	JMP  sumsq32avx2_loop

sumsq32avx2_done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func sumsq64AVX2(x *float64, n int, s *[sumLanes]float64)
//
// Adds the squares of n float64s (n a multiple of 16), in float64, into the
// 16 lanes of s: element i to lane i mod 16, as sumsq64Go does.
TEXT ·sumsq64AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ s+16(FP), DI
	SHLQ $3, CX
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	XORQ AX, AX

sumsq64avx2_loop:
	CMPQ AX, CX
	JGE  sumsq64avx2_done
	VMOVUPD 0(SI)(AX*1), Y4
	VMOVUPD 32(SI)(AX*1), Y5
	VMOVUPD 64(SI)(AX*1), Y6
	VMOVUPD 96(SI)(AX*1), Y7
	VMULPD Y4, Y4, Y4
	VMULPD Y5, Y5, Y5
	VMULPD Y6, Y6, Y6
	VMULPD Y7, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $128, AX
	JMP  sumsq64avx2_loop

sumsq64avx2_done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET
