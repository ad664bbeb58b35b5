//go:build amd64 && !purego

#include "textflag.h"

// func pause(n int)
TEXT ·pause(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
pause_loop:
	PAUSE
	DECQ CX
	JNZ pause_loop
	RET
