//go:build openblas && cgo

package main

import "github.com/adamant-ml/adamant/fastblas"

// This build links OpenBLAS (go build -tags openblas): -blas openblas
// becomes available.
func init() {
	blasInstallers["openblas"] = func(threads int) { fastblas.InstallOpenBLAS(fastblas.WithThreads(threads)) }
}
