//go:build unix

package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLock: a second holder waits for the first, gives up when its
// context ends, and gets the lock as soon as the first releases it.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(context.Background(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path, 0o600); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Lock while held: %v, want a deadline error", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), path, 0o600)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("Lock after release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("lock not granted after release")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

// TestLockNoSymlink: a symbolic link at the lock's path is refused, not
// followed to create or lock another file.
func TestLockNoSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	link := filepath.Join(dir, "lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), link, 0o644); err == nil {
		t.Fatal("Lock followed a symbolic link")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock created the link's target: %v", err)
	}
}
