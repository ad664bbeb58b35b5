package datasets_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/adamant-ml/adamant/datasets"
)

func TestBlobsIsValidAndSeeded(t *testing.T) {
	a, b, c := datasets.Blobs(30, 4), datasets.Blobs(30, 4), datasets.Blobs(30, 5)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 30 || a.FeatureLen() != 4 || a.Classes != 3 {
		t.Fatalf("Blobs(30): %d examples of %d values, %d classes", a.Len(), a.FeatureLen(), a.Classes)
	}
	if !slices.Equal(a.X32, b.X32) || slices.Equal(a.X32, c.X32) {
		t.Fatal("Blobs: the same seed must give the same data, another seed other data")
	}
	for i, l := range a.Labels {
		if l != i%3 {
			t.Fatalf("label %d is %d, want %d", i, l, i%3)
		}
	}
}

// Blobs is a small dataset that trains for real in milliseconds.
func ExampleBlobs() {
	ds := datasets.Blobs(6, 1)
	fmt.Println(ds.Len(), "examples of shape", ds.ExampleShape, "labels", ds.Labels)
	// Output:
	// 6 examples of shape [4] labels [0 1 2 0 1 2]
}
