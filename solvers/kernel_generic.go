package solvers

// The portable kernels; kernel_amd64.go replaces them with vector code
// where the CPU allows.
var (
	update32 = update32Go
	update64 = update64Go
	sumsq32  = sumsq32Go
	sumsq64  = sumsq64Go
)
