//go:build amd64 && !purego

package solvers

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the AVX2 kernels (kernel_amd64.s). They do the portable
// kernels' operations in the same order, eight float32 or four float64
// lanes at a time, without FMA: IEEE-754 rounds each lane exactly as the
// scalar code rounds it, so both give the same bits. A variable, not a
// constant, so that tests can compare the two on the same machine.
var useAVX2 = cpu.X86.HasAVX2

// The assembly kernels. n is a multiple of 8 (update32), 4 (update64) or
// 16 (sumsq); vmax may be nil when the AMSGrad flag is clear.
//
//go:noescape
func update32AVX2(k *kernel32, p, grad, m, v, vmax *float32, n int)

//go:noescape
func update64AVX2(k *kernel64, p, grad, m, v, vmax *float64, n int)

//go:noescape
func sumsq32AVX2(x *float32, n int, s *[sumLanes]float64)

//go:noescape
func sumsq64AVX2(x *float64, n int, s *[sumLanes]float64)

func update32(k *kernel, p, g, m, v, vmax []float32) {
	n := len(p)
	if !useAVX2 || n < 8 {
		update32Go(k, p, g, m, v, vmax)
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	var x *float32
	if k.f32.flags&flagAMSGrad != 0 {
		vmax = vmax[:n]
		x = unsafe.SliceData(vmax)
	}
	n8 := n &^ 7
	update32AVX2(&k.f32, &p[0], &g[0], &m[0], &v[0], x, n8)
	if n8 < n {
		if x != nil {
			vmax = vmax[n8:]
		}
		update32Go(k, p[n8:], g[n8:], m[n8:], v[n8:], vmax)
	}
}

func update64(k *kernel, p, g, m, v, vmax []float64) {
	n := len(p)
	if !useAVX2 || n < 4 {
		update64Go(k, p, g, m, v, vmax)
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	var x *float64
	if k.k64.flags&flagAMSGrad != 0 {
		vmax = vmax[:n]
		x = unsafe.SliceData(vmax)
	}
	n4 := n &^ 3
	update64AVX2(&k.k64, &p[0], &g[0], &m[0], &v[0], x, n4)
	if n4 < n {
		if x != nil {
			vmax = vmax[n4:]
		}
		update64Go(k, p[n4:], g[n4:], m[n4:], v[n4:], vmax)
	}
}

// sumsq32Vec accumulates x (a multiple of sumLanes long) into s.
func sumsq32Vec(x []float32, s *[sumLanes]float64) {
	if !useAVX2 || len(x) == 0 {
		sumsq32Go(x, s)
		return
	}
	sumsq32AVX2(&x[0], len(x), s)
}

func sumsq64Vec(x []float64, s *[sumLanes]float64) {
	if !useAVX2 || len(x) == 0 {
		sumsq64Go(x, s)
		return
	}
	sumsq64AVX2(&x[0], len(x), s)
}

// kernelName names the kernels in use, for tests and benchmarks.
func kernelName() string {
	if useAVX2 {
		return "AVX2"
	}
	return "portable Go"
}

// setVector switches the vector kernels on or off (tests) and returns the
// previous setting.
func setVector(on bool) bool {
	prev := useAVX2
	useAVX2 = on && cpu.X86.HasAVX2
	return prev
}
