#include "textflag.h"

// func prefetch(lines []unsafe.Pointer)
//
// PREFETCHT0 asks for each line into every cache level and does not wait:
// unlike a load, it retires at once, so the decisions computed meanwhile
// are not held up behind the misses in the reorder buffer.
TEXT ·prefetch(SB), NOSPLIT, $0-24
	MOVQ lines_base+0(FP), SI
	MOVQ lines_len+8(FP), CX
	TESTQ CX, CX
	JZ done
loop:
	MOVQ (SI), AX
	PREFETCHT0 (AX)
	ADDQ $8, SI
	DECQ CX
	JNZ loop
done:
	RET
