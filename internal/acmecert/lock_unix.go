//go:build unix

package acmecert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lock takes an exclusive flock(2) on path, waiting for other processes
// that hold it until ctx ends. The lock is released when unlock is called
// or the process dies, so a crashed holder never blocks the others.
//
// flock works across processes on one host and on most network file
// systems that emulate it (NFSv4, recent Linux clients over NFSv3 with
// lockd); a file system without working locks makes every process order
// on its own, which the CA's rate limits tolerate for a few processes.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("acme: lock: %w", err)
	}
	// Polled rather than blocking, so that a cancelled context (shutdown)
	// is not held up by another process's order.
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("acme: lock %s: %w", path, err)
		}
		if !sleep(ctx, 200*time.Millisecond) {
			f.Close()
			return nil, fmt.Errorf("acme: lock %s: %w", path, ctx.Err())
		}
	}
}
