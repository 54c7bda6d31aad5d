//go:build !linux

package systemd

import "errors"

// monotonicUsec is only needed under systemd, which runs on Linux alone.
func monotonicUsec() (uint64, error) {
	return 0, errors.New("CLOCK_MONOTONIC is read on Linux only")
}
