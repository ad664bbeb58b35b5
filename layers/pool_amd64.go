//go:build amd64 && !purego

package layers

//go:noescape
func pool2x2PlaneF32AVX512(p, q *float32, win *int32, w, oh, ow, groups, tailOut, tailLo, tailHi, record int) (ok bool)

//go:noescape
func pool2x2PlaneF32AVX2(p, q *float32, win *int32, w, oh, ow, groups int, masks *[3][8]int32, record int) (ok bool)

// pool2x2PlaneVec pools a float32 plane with the AVX-512 kernel
// (pool_amd64.s, the same switch as the runs kernels) or else the AVX2
// one (useAVX2), and reports whether it did: not for float64, nor for a
// plane with a NaN in a window, which pool2x2Plane then pools with its
// scalar rule.
func pool2x2PlaneVec[T float](g poolGeom, p, q []T, win []int32) bool {
	ps, ok := any(p).([]float32)
	if !ok || !(useAVX512Runs || useAVX2) || g.oh == 0 || g.ow == 0 {
		return false
	}
	qs := any(q).([]float32)
	// The kernel reads rows 0 to 2·oh−1, columns 0 to 2·ow−1 of p and
	// writes oh·ow values of q and win.
	if len(ps) < (2*g.oh-1)*g.w+2*g.ow || len(qs) < g.oh*g.ow || (win != nil && len(win) < g.oh*g.ow) {
		panic("layers: pool2x2PlaneVec: plane too short")
	}
	var w *int32
	record := 0
	if win != nil {
		w, record = &win[0], 1
	}
	if !useAVX512Runs {
		// Lanes in use of the last group of 8: its inputs in two vectors
		// of the top row (and the bottom one), then its outputs.
		var masks [3][8]int32
		tail := g.ow % 8
		for i := 0; i < 8; i++ {
			masks[0][i] = -int32(b2i(i < 2*tail))
			masks[1][i] = -int32(b2i(8+i < 2*tail))
			masks[2][i] = -int32(b2i(i < tail))
		}
		return pool2x2PlaneF32AVX2(&ps[0], &qs[0], w, g.w, g.oh, g.ow, g.ow/8, &masks, record)
	}
	tail := g.ow % 16
	tailOut := 1<<tail - 1
	tailIn := 1<<(2*tail) - 1
	return pool2x2PlaneF32AVX512(&ps[0], &qs[0], w, g.w, g.oh, g.ow, g.ow/16, tailOut, tailIn&0xffff, tailIn>>16, record)
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

//go:noescape
func pool2x2BackwardF32AVX512(d, grad *float32, win *int32, w, oh, ow, groups, tailOut, tailLo, tailHi int)

// pool2x2BackwardVec writes a float32 plane's input gradient from the
// recorded winners of a 2×2 stride-2 pooling with the AVX-512 kernel and
// reports whether it did (not for float64). Every cell a window covers is
// written; the caller clears the rest.
func pool2x2BackwardVec[T float](g poolGeom, grad, d []T, win []int32) bool {
	ds, ok := any(d).([]float32)
	if !ok || !useAVX512Runs || g.oh == 0 || g.ow == 0 {
		return false
	}
	gs := any(grad).([]float32)
	if len(ds) < (2*g.oh-1)*g.w+2*g.ow || len(gs) < g.oh*g.ow || len(win) < g.oh*g.ow {
		panic("layers: pool2x2BackwardVec: plane too short")
	}
	tail := g.ow % 16
	tailIn := 1<<(2*tail) - 1
	pool2x2BackwardF32AVX512(&ds[0], &gs[0], &win[0], g.w, g.oh, g.ow, g.ow/16, 1<<tail-1, tailIn&0xffff, tailIn>>16)
	return true
}
