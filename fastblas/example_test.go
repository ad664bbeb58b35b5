package fastblas_test

import (
	"fmt"

	"github.com/adamant-ml/adamant/fastblas"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Install fastblas once at program start, then build and run graphs as
// usual: Gorgonia's matrix products now go through it.
func ExampleInstall() {
	defer G.Use(G.WhichBLAS()) // restore the previous BLAS when the example ends
	fastblas.Install()

	g := G.NewGraph()
	a := G.NewMatrix(g, G.Float32, G.WithName("a"), G.WithShape(2, 3),
		G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))))
	b := G.NewMatrix(g, G.Float32, G.WithName("b"), G.WithShape(3, 2),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{1, 0, 0, 1, 1, 1}))))
	c := G.Must(G.Mul(a, b))

	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Value().Data())
	// Output: [4 5 10 11]
}

// An Implementation can also be used directly through gonum's blas.Float32
// interface, without Gorgonia: here C = A·Bᵀ for a 2×3 A and a 2×3 B.
func ExampleNew() {
	impl := fastblas.New(fastblas.WithThreads(1))
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 1, 0, 1, 0}
	c := make([]float32, 4)
	impl.Sgemm(blas.NoTrans, blas.Trans, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

// Code that splits its own work over goroutines (the convolution runs a
// chunk of images per thread) takes the one-thread view, whose products
// stay on the calling goroutine and give the same bits.
func ExampleImplementation_OneThread() {
	impl := fastblas.New(fastblas.WithThreads(2))
	one := impl.OneThread()
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 1, 0, 1}
	c := make([]float32, 4)
	one.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [1 3 3 7]
}

// ExampleImplementation_SgemmGathered multiplies the unrolled 2×2 windows
// of a 3×3 image (im2col: four windows, four cells each) by a 2×2 kernel
// without unrolling them, reading the windows from the image through two
// offset tables; where the kernels do not run, it unrolls them and calls
// Sgemm, as a caller would.
func ExampleImplementation_SgemmGathered() {
	impl := fastblas.New(fastblas.WithThreads(1))
	image := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	windows := []int32{0, 1, 3, 4} // top-left corner of each 2×2 window
	cells := []int32{0, 1, 3, 4}   // each cell's offset within a window
	kernel := []float32{1, 0, 0, -1}
	out := make([]float32, 4)
	if !impl.SgemmGathered(blas.NoTrans, 4, 1, 4, 1, image, windows, cells, kernel, 1, 0, out, 1) {
		unrolled := make([]float32, 16)
		for i, w := range windows {
			for p, c := range cells {
				unrolled[i*4+p] = image[w+c]
			}
		}
		impl.Sgemm(blas.NoTrans, blas.NoTrans, 4, 1, 4, 1, unrolled, 4, kernel, 1, 0, out, 1)
	}
	fmt.Println(out)
	// Output: [-4 -4 -4 -4]
}
