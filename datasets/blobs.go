package datasets

import "math/rand/v2"

// Blobs returns n examples of three Gaussian blobs in four dimensions,
// float32, labelled 0, 1, 2 in turn: class c is centred at 3 on axis c and
// 0 elsewhere, with unit variance. A small MLP separates it almost
// perfectly in a few epochs, which makes it the data of examples and tests
// that must train for real in milliseconds. The same seed gives the same
// data.
func Blobs(n int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &Dataset{Name: "blobs", ExampleShape: []int{4}, Classes: 3, Labels: make([]int, 0, n), X32: make([]float32, 0, 4*n)}
	for i := range n {
		c := i % 3
		ds.Labels = append(ds.Labels, c)
		for j := range 4 {
			v := rng.NormFloat64()
			if j == c {
				v += 3
			}
			ds.X32 = append(ds.X32, float32(v))
		}
	}
	return ds
}
