package workpool_test

import (
	"fmt"

	"github.com/adamant-ml/adamant/internal/workpool"
)

// squares fills out[i] = i² in parts of 4 elements; parts write disjoint
// memory, so the result does not depend on which goroutine ran which part.
type squares struct {
	workpool.State
	out []int
}

func (s *squares) RunPart(p, _ int) {
	for i := p * 4; i < min((p+1)*4, len(s.out)); i++ {
		s.out[i] = i * i
	}
}

// A job cut into parts runs on the caller and on one pool worker; Run
// returns once every part is done.
func ExampleRun() {
	job := &squares{out: make([]int, 10)}
	workpool.Run(job, 3, 1)
	fmt.Println(job.out)
	// Output: [0 1 4 9 16 25 36 49 64 81]
}
