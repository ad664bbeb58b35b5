//go:build !amd64 || purego

package workpool

// pause does nothing here: Go has no portable spin-wait hint, and the
// polling loops call runtime.Gosched often enough without one.
func pause(n int) {}
