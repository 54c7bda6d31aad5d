package tree

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCopy(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "a", "b"), 0o755))
	must(os.MkdirAll(filepath.Join(src, ".git"), 0o755))
	must(os.WriteFile(filepath.Join(src, "a", "b", "ro.txt"), []byte("read-only"), 0o444))
	must(os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, ".git", "HEAD"), []byte("ref"), 0o644))
	must(os.WriteFile(filepath.Join(src, "skip.me"), []byte("x"), 0o644))
	must(os.Symlink("a/b/ro.txt", filepath.Join(src, "link")))

	dst := filepath.Join(t.TempDir(), "copy")
	must(Copy(src, dst, func(p string, d fs.DirEntry) bool { return d.Name() == ".git" || d.Name() == "skip.me" }))

	for name, want := range map[string]fs.FileMode{"a/b/ro.txt": 0o644, "run.sh": 0o755} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v; want %v", name, err, fi.Mode().Perm(), want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "a/b/ro.txt" {
		t.Errorf("link: %q, %v", l, err)
	}
	for _, gone := range []string{".git", "skip.me"} {
		if _, err := os.Lstat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s was copied", gone)
		}
	}
	if err := Copy(src, dst, nil); err == nil {
		t.Errorf("Copy over an existing copy did not fail")
	}
}

func TestRemoveAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	os.MkdirAll(filepath.Join(dir, "mod", "x@v1"), 0o755)
	os.WriteFile(filepath.Join(dir, "mod", "x@v1", "go.mod"), []byte("module x\n"), 0o444)
	os.Chmod(filepath.Join(dir, "mod", "x@v1"), 0o555)
	os.Chmod(filepath.Join(dir, "mod"), 0o555)
	if err := RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("%s is still there", dir)
	}
	if err := RemoveAll(dir); err != nil {
		t.Errorf("removing what is not there: %v", err)
	}
}
