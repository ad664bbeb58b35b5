package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestMeasureParsesEpochLines(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		wantEpoch []float64
		wantAcc   float64
		wantErr   string
	}{
		{"adamant lines", "echo 'epoch=1 loss=0.3 epoch_seconds=2.5'; echo 'epoch=2 epoch_seconds=2.25'; echo 'test_loss=0.1 test_accuracy=0.9875 seconds=7'",
			[]float64{2.5, 2.25}, 0.9875, ""},
		{"pytorch line", "echo 'epoch=1 epoch_seconds=31.000 adam_step_us=90.1 test_accuracy=0.9828'", []float64{31}, 0.9828, ""},
		{"no epoch", "echo hello", nil, 0, "printed no epoch_seconds"},
		{"failure", "echo boom >&2; exit 3", nil, 0, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := measure(exec.Command("sh", "-c", tt.script))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.epochSeconds) != len(tt.wantEpoch) || s.accuracy != tt.wantAcc {
				t.Fatalf("got %v accuracy %v, want %v accuracy %v", s.epochSeconds, s.accuracy, tt.wantEpoch, tt.wantAcc)
			}
			for i, v := range tt.wantEpoch {
				if s.epochSeconds[i] != v {
					t.Fatalf("epoch %d: %v, want %v", i, s.epochSeconds[i], v)
				}
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
