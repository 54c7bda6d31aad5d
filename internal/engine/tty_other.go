//go:build !linux

package engine

import "os"

// isTerminal reports whether f is a character device other than /dev/null,
// which outside Linux is the best guess without a dependency.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && f.Name() != os.DevNull
}
