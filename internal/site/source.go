package site

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// errOutside reports a symlink that leads out of the root or into a
// dot-directory. It is answered like a missing file.
var errOutside = errors.New("symlink target outside the served tree")

// source is where a Site's files live: a directory on disk (dir, the real
// path of Options.Dir) or an fs.FS.
type source struct {
	dir  string
	fsys fs.FS
}

// file is an open streamed file: an *os.File for a directory, so that
// net/http can hand it to sendfile(2).
type file interface {
	fs.File
	io.Seeker
}

// open opens a streamed file by its slash-separated name and returns it with
// its current metadata. For a directory the name is resolved again, since the
// tree may have changed since Load: a symlink must still lead to a regular
// file inside the root and outside dot-directories, and the file is opened
// through os.OpenInRoot so that a symlink swapped in between the check and
// the open cannot lead out of the root either.
func (s source) open(name string) (file, fs.FileInfo, error) {
	var f file
	if s.dir != "" {
		rel, err := s.inside(filepath.Join(s.dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, nil, err
		}
		osf, err := os.OpenInRoot(s.dir, rel)
		if err != nil {
			return nil, nil, err
		}
		f = osf
	} else {
		ff, err := s.fsys.Open(name)
		if err != nil {
			return nil, nil, err
		}
		rs, ok := ff.(file)
		if !ok {
			ff.Close()
			return nil, nil, fmt.Errorf("open %s: %T cannot seek", name, ff)
		}
		f = rs
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, fi, nil
}

// inside resolves the symlinks in full, a path under s.dir, and returns the
// result relative to s.dir, or errOutside when it leaves s.dir or passes
// through a dot-directory (other than a top-level .well-known).
func (s source) inside(full string) (string, error) {
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(s.dir, real)
	if err != nil || !filepath.IsLocal(rel) {
		return "", errOutside
	}
	for i, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(seg, ".") && (i != 0 || seg != wellKnown) {
			return "", errOutside
		}
	}
	return rel, nil
}
