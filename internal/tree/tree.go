// Package tree copies, re-owns and removes directory trees: the scratch
// copies of a module that verify and the proof build from, and the Go module
// caches such builds leave, whose directories are read-only by design.
package tree

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Copy copies the tree at src to dst: directories, regular files (with
// their permission bits, plus the owner's write bit so the copy can be
// edited and removed) and symbolic links (as links, never followed). Any
// other kind of file is an error. skip, when not nil, is asked about every
// entry below src; a directory it accepts is left out with all it holds.
// Files already at dst are not overwritten: Copy fails instead.
func Copy(src, dst string, skip func(path string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != src && skip != nil && skip(p, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			return CopyFile(p, target)
		}
		return fmt.Errorf("copy %s: not a regular file, directory or symbolic link", p)
	})
}

// CopyFile copies the regular file src to dst, which must not exist, with
// src's permission bits plus the owner's write bit.
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// WriteNew writes what r holds to a new file name, with perm, creating the
// directories above it. A file already there is an error, not replaced:
// unpacking an archive must not let one entry overwrite another.
func WriteNew(name string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Chown gives root and everything below it to uid:gid, links themselves
// rather than what they point at.
func Chown(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// RemoveAll removes dir and everything below it, first making its
// directories writable: a Go module cache's are not. A dir that does not
// exist is not an error.
func RemoveAll(dir string) error {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
