//go:build amd64 && !purego

#include "textflag.h"

// func reluMask32AVX2(x, src, dst *float32, n int)
//
// dst[i] = src[i] where x[i] > 0, else +0, for n float32s (n a multiple of
// 16): the compare is ordered (GT_OQ), so a NaN in x is not positive, and
// the AND with an all-zero mask gives +0, as reluMask's scalar loop does.
TEXT ·reluMask32AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ src+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0

relu32_loop:
	CMPQ AX, CX
	JGE  relu32_done
	VMOVUPS 0(SI)(AX*1), Y1
	VMOVUPS 32(SI)(AX*1), Y2
	VCMPPS  $0x1e, Y0, Y1, Y1
	VCMPPS  $0x1e, Y0, Y2, Y2
	VANDPS  0(BX)(AX*1), Y1, Y1
	VANDPS  32(BX)(AX*1), Y2, Y2
	VMOVUPS Y1, 0(DI)(AX*1)
	VMOVUPS Y2, 32(DI)(AX*1)
	ADDQ    $64, AX
	JMP     relu32_loop

relu32_done:
	VZEROUPPER
	RET

// func reluMask64AVX2(x, src, dst *float64, n int)
//
// reluMask32AVX2 for n float64s (n a multiple of 8).
TEXT ·reluMask64AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ src+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ n+24(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	VXORPD Y0, Y0, Y0

relu64_loop:
	CMPQ AX, CX
	JGE  relu64_done
	VMOVUPD 0(SI)(AX*1), Y1
	VMOVUPD 32(SI)(AX*1), Y2
	VCMPPD  $0x1e, Y0, Y1, Y1
	VCMPPD  $0x1e, Y0, Y2, Y2
	VANDPD  0(BX)(AX*1), Y1, Y1
	VANDPD  32(BX)(AX*1), Y2, Y2
	VMOVUPD Y1, 0(DI)(AX*1)
	VMOVUPD Y2, 32(DI)(AX*1)
	ADDQ    $64, AX
	JMP     relu64_loop

relu64_done:
	VZEROUPPER
	RET
