package main

import (
	"strings"
	"testing"
)

// TestMemoryEstimateCountsTheModelsParameters ties the estimate to the
// layers buildModel declares: a change to either shows up here.
func TestMemoryEstimateCountsTheModelsParameters(t *testing.T) {
	for _, tc := range []struct {
		model  string
		hidden []int
	}{
		{"mlp", []int{128}},
		{"mlp", []int{256, 128}},
		{"mlp", nil},
		{"cnn", []int{64}},
	} {
		c := defaultConfig()
		c.Model, c.Hidden = tc.model, tc.hidden
		m, err := buildModel(&c)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, p := range m.Params() {
			n += p.Value.Shape().TotalSize()
		}
		m.Close()
		if got := estimateMemory(&c).params; got != float64(n) {
			t.Errorf("%s %v: estimated %v parameters, the model has %d", tc.model, tc.hidden, got, n)
		}
	}
}

func TestCheckMemory(t *testing.T) {
	limit, _ := memoryLimit()
	if limit == 0 {
		t.Skip("no memory limit readable here")
	}
	c := defaultConfig()
	if err := checkMemory(&c, 1); err != nil {
		t.Errorf("the default run is refused: %v", err)
	}
	// Workers multiply the estimate: enough of them refuse any run.
	runs := int(limit/estimateMemory(&c).total()) + 1
	if err := checkMemory(&c, runs); err == nil || !strings.Contains(err.Error(), "-workers") {
		t.Errorf("%d parallel runs: %v, want a refusal naming -workers", runs, err)
	}
	c.Hidden = []int{1 << 26}
	err := checkMemory(&c, 1)
	if err == nil || !strings.Contains(err.Error(), "-hidden 67108864") {
		t.Errorf("-hidden 2^26: %v, want a refusal naming -hidden", err)
	}
}

func TestByteAndCountStrings(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{byteString(512), "512.0 B"},
		{byteString(1536), "1.5 KiB"},
		{byteString(1.3 * (1 << 40)), "1.3 TiB"},
		{countString(950), "950"},
		{countString(79.5e9), "79.5 G"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
