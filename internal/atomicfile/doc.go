// Package atomicfile writes files so that readers see either the old
// content or the complete new one, never a half-written file: the data goes
// to a temporary file in the same directory, is fsynced, and is renamed over
// the destination, and the directory is fsynced so the rename survives a
// crash.
//
// RemoveStale cleans up the temporary files of writes that a kill -9 cut
// short; it recognises only the names Write gives them.
package atomicfile
