package datasets

import (
	"context"
	"math/rand/v2"
	"testing"
)

// mnistLike is a synthetic MNIST-shaped dataset: benchmarks should not pay
// for reading the real files, and resampling cost does not depend on the
// pixel values.
func mnistLike(n int) *Dataset {
	ds := &Dataset{Name: "mnist-like", ExampleShape: []int{1, 28, 28}, X32: make([]float32, n*784), Labels: make([]int, n), Classes: 10}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range ds.X32 {
		if r.IntN(5) == 0 {
			ds.X32[i] = r.Float32()
		}
	}
	for i := range ds.Labels {
		ds.Labels[i] = i % 10
	}
	return ds
}

// BenchmarkLoader measures batches of 64 (one op = one batch) and reports
// images/s; run with -cpu 1 for the single-core figure.
func BenchmarkLoader(b *testing.B) {
	ds := mnistLike(10000)
	augment := WithTransforms(RandomRotation(15), RandomShift(2), Normalize(MNISTMean, MNISTStd))
	for _, bc := range []struct {
		name string
		opts []LoaderOption
	}{
		{"plain/sync", []LoaderOption{WithPrefetch(0)}},
		{"plain/prefetch", nil},
		{"rotate+shift/sync", []LoaderOption{augment, WithPrefetch(0)}},
		{"rotate+shift/prefetch", []LoaderOption{augment}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := NewLoader(ds, append(bc.opts, WithShuffle(1), WithBatchSize(64))...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			epoch := 0
			it := l.Epoch(ctx, epoch)
			images := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				batch, ok := it.Next()
				if !ok {
					it.Close()
					epoch++
					it = l.Epoch(ctx, epoch)
					batch, _ = it.Next()
				}
				images += batch.Size
			}
			b.StopTimer()
			it.Close()
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkTransform measures one 28×28 image per op.
func BenchmarkTransform(b *testing.B) {
	ds := mnistLike(1)
	for _, bc := range []struct {
		name string
		t    Transform
	}{
		{"RandomRotation", RandomRotation(15)},
		{"RandomShift", RandomShift(2)},
		{"RandomHorizontalFlip", RandomHorizontalFlip(0.5)},
		{"Normalize", Normalize(MNISTMean, MNISTStd)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ex := &Example{Shape: ds.ExampleShape, X32: make([]float32, 784), Scratch32: make([]float32, 784)}
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for range b.N {
				copy(ex.X32, ds.X32)
				if err := bc.t.Apply(rng, ex); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
