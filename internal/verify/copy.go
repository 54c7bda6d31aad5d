package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// cacheRoom is the space a cold rebuild's caches take beyond the source
// copy: the module cache and build cache of a mid-sized service for one
// platform measure well under half of this.
const cacheRoom = 1 << 30

// ErrNoRoom means the scratch directory's filesystem is too full.
var ErrNoRoom = errors.New("no room for the scratch copy")

// checkSpace fails early, before any copy, when parent's filesystem has
// less than need bytes plus room for fresh caches.
func checkSpace(parent string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(parent, &st); err != nil {
		return fmt.Errorf("verify: scratch directory %s: %w", parent, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if want := need + cacheRoom; free < want {
		return fmt.Errorf("%w: %s has %d MiB free, a rebuild needs about %d MiB (source copy and empty caches): free some space or set TMPDIR to a roomier filesystem", ErrNoRoom, parent, free>>20, want>>20)
	}
	return nil
}

// treeSize adds up the regular files under dir, skipping .git and the
// output directory, which are not copied.
func treeSize(dir, outDir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || p == outDir) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}

// copySource puts a clean copy of the module's source at dst: `git archive`
// of the recorded revision when the build came from a clean git checkout
// (so untracked and ignored files cannot sneak in), else a copy of the tree
// without .git and the output directory.
func copySource(ctx context.Context, dir, outDir string, m manifest.Manifest, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if m.Source.Revision != "" && !m.Source.Dirty {
		return gitArchive(ctx, dir, m.Source.Revision, dst)
	}
	skip := func(p string, d fs.DirEntry) bool { return d.IsDir() && (d.Name() == ".git" || p == outDir) }
	if err := tree.Copy(dir, dst, skip); err != nil {
		return fmt.Errorf("verify: copy the source: %w", noRoom(err))
	}
	return nil
}

func gitArchive(ctx context.Context, dir, rev, dst string) error {
	prefix, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--show-prefix").Output()
	if err != nil {
		return fmt.Errorf("verify: git rev-parse: %w", err)
	}
	var tarball, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "archive", "--format=tar", rev+":"+strings.TrimSpace(string(prefix)))
	cmd.Stdout, cmd.Stderr = &tarball, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("verify: git archive %s: %v: %s", short(rev), err, strings.TrimSpace(stderr.String()))
	}
	return untar(&tarball, dst)
}

// untar extracts a git archive into dst. Entries with absolute names, ".."
// or a path through a symlink are refused, so the archive cannot write
// outside dst.
func untar(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	links := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("verify: read archive: %w", err)
		}
		name := path.Clean(h.Name)
		if h.Typeflag == tar.TypeXGlobalHeader || name == "." {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("verify: archive entry %q escapes the copy", h.Name)
		}
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if links[d] {
				return fmt.Errorf("verify: archive entry %q goes through the symlink %s", h.Name, d)
			}
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = tree.WriteNew(target, tr, h.FileInfo().Mode().Perm()|0o444)
		case tar.TypeSymlink:
			links[name] = true
			err = os.Symlink(h.Linkname, target)
		default:
			err = fmt.Errorf("unsupported entry type %q", h.Typeflag)
		}
		if err != nil {
			return fmt.Errorf("verify: extract %s: %w", h.Name, noRoom(err))
		}
	}
}

// noRoom turns ENOSPC into ErrNoRoom, which says what to do.
func noRoom(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w (%v): free some space or set TMPDIR to a roomier filesystem", ErrNoRoom, err)
	}
	return err
}
