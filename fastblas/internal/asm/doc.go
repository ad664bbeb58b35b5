// Package asm holds fastblas's AVX2+FMA kernels. They live in a package of
// their own because Go does not build a package that has both assembly and
// cgo files, and fastblas has an optional cgo file (the openblas build tag).
// The kernels are generated; see gen.py.
package asm
