//go:build !race

package graph

// raceEnabled: see race_on_test.go.
const raceEnabled = false
