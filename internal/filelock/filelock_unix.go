//go:build unix

// Package filelock serialises processes of one host on a lock file.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Lock takes an exclusive flock(2) on path, made with mode perm if it is
// missing, waiting until ctx ends for other processes that hold it. The
// lock is released when unlock is called or the process dies, so a crashed
// holder never blocks the others.
//
// The file is opened read-only and never through a symbolic link: flock
// needs no write access, so processes of other users can share one lock
// file (perm 0o644) in a shared directory such as /tmp. An existing file is
// opened without O_CREAT, which protected_regular refuses for another
// user's file in a sticky directory.
//
// flock works across processes on one host and on most network file
// systems that emulate it (NFSv4, recent Linux clients over NFSv3 with
// lockd). The lock is per open file: a second Lock of the same path in
// the same process waits as another process would.
func Lock(ctx context.Context, path string, perm os.FileMode) (unlock func(), err error) {
	f, err := open(path, perm)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	// Polled rather than blocking, so that a cancelled context is not
	// held up by another process's work.
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// open opens the lock file at path, making it with perm if it is missing.
func open(path string, perm os.FileMode) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
		// Made by another process in between: open that one.
	}
}
