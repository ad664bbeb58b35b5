package main

import "testing"

func TestResumeCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-trials", "4"}, "mnist tune -trials 4 -out runs/tune-1"},
		{[]string{"-space", "lr=log:1e-4:1e-2,beta1=0.8|0.9"}, "mnist tune -space 'lr=log:1e-4:1e-2,beta1=0.8|0.9' -out runs/tune-1"},
		{[]string{"-out", "my dir"}, "mnist tune -out 'my dir'"},
		{[]string{"--out=x"}, "mnist tune --out=x"},
		{[]string{"-outside", "it's"}, `mnist tune -outside 'it'\''s' -out runs/tune-1`},
		{nil, "mnist tune -out runs/tune-1"},
	} {
		if got := resumeCommand(tc.args, "runs/tune-1"); got != tc.want {
			t.Errorf("resumeCommand(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}
