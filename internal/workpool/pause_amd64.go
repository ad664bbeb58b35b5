//go:build amd64 && !purego

package workpool

// pause executes the PAUSE instruction n (≥ 1) times: the spin-wait hint
// that lets a polling thread leave the core's resources (and, on a
// hyperthreaded host, its sibling's) to others.
func pause(n int)
