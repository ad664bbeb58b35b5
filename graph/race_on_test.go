//go:build race

package graph

// raceEnabled: the race detector allocates for its own bookkeeping, which
// the allocation tests must not count against our code.
const raceEnabled = true
