//go:build !amd64 || purego

package solvers

// Without vector kernels, the portable ones do all the work.

func update32(k *kernel, p, g, m, v, vmax []float32) { update32Go(k, p, g, m, v, vmax) }
func update64(k *kernel, p, g, m, v, vmax []float64) { update64Go(k, p, g, m, v, vmax) }

func sumsq32Vec(x []float32, s *[sumLanes]float64) { sumsq32Go(x, s) }
func sumsq64Vec(x []float64, s *[sumLanes]float64) { sumsq64Go(x, s) }

// kernelName names the kernels in use, for tests and benchmarks.
func kernelName() string { return "portable Go" }

// setVector is a no-op without vector kernels.
func setVector(bool) bool { return false }
