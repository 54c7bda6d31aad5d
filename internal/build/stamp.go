package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// Update is smol build: it removes what killed smol processes left behind
// (Sweep), and then, unless force is set or the build is up to date (see
// stamp), runs it (Run) and records what it built from. A build is up to
// date when the last successful build into p.OutDir with this cache had the
// same inputs (every field the manifest records, which includes the plan,
// the version stamp, the image ID and smol's version; the content of every
// source file, go.mod, go.sum and vendor/) and every output listed in
// SHA256SUMS still holds the bytes listed: then Update says so in one line
// and changes nothing. upToDate reports that.
//
// The source is read before the compile starts: a file edited while the
// build runs leaves a stamp that does not match it, and the next build runs
// again.
func Update(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, rec Record, force bool, log, stderr io.Writer) (upToDate bool, err error) {
	// The sweep waits mostly on the engine's CLI, the stamp on the disk and
	// the CPU: they overlap, since together they are the whole cost of a
	// build that is up to date. With nothing to compare the stamp with
	// (the first build into p.OutDir with this cache, or force), the build
	// does not wait for them: they run beside its first steps, and only
	// the compile waits, so that the source is still read before it.
	// What the sweep says is held until then, in order.
	var (
		st       stamp
		stampErr error
		swept    bytes.Buffer
		wg       sync.WaitGroup
		once     sync.Once
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		Sweep(ctx, p, x, &swept)
	}()
	go func() {
		defer wg.Done()
		st, stampErr = newStamp(ctx, p, rec, x.Name())
	}()
	ready := func() error {
		wg.Wait()
		once.Do(func() { log.Write(swept.Bytes()) })
		return stampErr
	}
	defer ready()
	if _, err := os.Stat(stampPath(p)); err == nil && !force {
		if err := ready(); err != nil {
			return false, err
		}
		if st.current() {
			fmt.Fprintf(log, "smol: up to date: %s matches its sources and SHA256SUMS (--force to build anyway)\n", relTo(p, p.OutDir))
			return true, nil
		}
	}
	m, err := run(ctx, p, x, host, rec, ready, log, stderr)
	if err != nil {
		return false, err
	}
	if err := st.save(m); err != nil {
		// The build succeeded; only the next one's shortcut is lost.
		fmt.Fprintf(log, "smol: could not record the build for the next one (%v); it will build again\n", err)
	}
	return false, nil
}

// stamp is what a build was made from, kept in the cache directory, one file
// per output directory.
type stamp struct {
	path   string // the stamp file
	outDir string
	inputs string // hex digest of the build's inputs
}

func newStamp(ctx context.Context, p plan.Plan, rec Record, engineName string) (stamp, error) {
	h := sha256.New()
	fmt.Fprintf(h, "smol stamp 1\n")
	// Everything the manifest records about the build, less the outputs:
	// a new tag (another git describe), image, tool version, flag or
	// platform all change it.
	h.Write(record(p, rec, engineName).Marshal())
	// Who the outputs belong to is not in the manifest but is in dist/.
	fmt.Fprintf(h, "uid %d gid %d\n", p.UID, p.GID)
	src, err := sourceDigest(ctx, p)
	if err != nil {
		return stamp{}, err
	}
	h.Write(src)
	return stamp{
		path:   stampPath(p),
		outDir: p.OutDir,
		inputs: hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// stampPath is the stamp file of builds into p.OutDir with p's cache.
func stampPath(p plan.Plan) string {
	dir := sha256.Sum256([]byte(p.OutDir))
	return filepath.Join(p.CacheDir, "built", hex.EncodeToString(dir[:16]))
}

// text is the stamp file's content for the outputs whose SHA256SUMS and
// manifest are sums and man.
func (s stamp) text(sums, man []byte) []byte {
	return fmt.Appendf(nil, "inputs %s\nsums %x\nmanifest %x\n", s.inputs, sha256.Sum256(sums), sha256.Sum256(man))
}

// current reports whether the last build into s.outDir had these inputs and
// its outputs are still there, unchanged.
func (s stamp) current() bool {
	saved, err := os.ReadFile(s.path)
	if err != nil {
		return false
	}
	sums, err1 := os.ReadFile(filepath.Join(s.outDir, manifest.SumsFile))
	man, err2 := os.ReadFile(filepath.Join(s.outDir, manifest.ManifestFile))
	if err1 != nil || err2 != nil || !bytes.Equal(saved, s.text(sums, man)) {
		return false
	}
	list, err := manifest.ParseSums(sums)
	if err != nil || len(list) == 0 {
		return false
	}
	for name, want := range list {
		got, _, err := manifest.HashFile(filepath.Join(s.outDir, name))
		if err != nil || got != want {
			return false
		}
	}
	return true
}

// save records that the outputs of m were built from s's inputs.
func (s stamp) save(m manifest.Manifest) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(s.path, s.text(m.Sums(), m.Marshal()), 0o644)
}

// sourceDigest hashes the name and content of every file the build can
// read from the module: the source set (package source), and go.mod, go.sum
// and vendor/ whether git tracks them or not. Contents, not modification
// times: a checkout or a touch changes times without changing the build.
func sourceDigest(ctx context.Context, p plan.Plan) ([]byte, error) {
	dir := p.Module.Dir
	files, err := source.Files(ctx, dir, p.OutDir)
	if err != nil {
		return nil, err
	}
	extra := []string{"go.mod", "go.sum"}
	filepath.WalkDir(filepath.Join(dir, "vendor"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, err := filepath.Rel(dir, path); err == nil {
				extra = append(extra, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	seen := map[string]bool{}
	for _, f := range files {
		seen[f] = true
	}
	for _, f := range extra {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	sums := make([]string, len(files))
	// Files are independent: hash them on every core.
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sums[i] = fileDigest(filepath.Join(dir, filepath.FromSlash(files[i])))
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	h := sha256.New()
	for i, f := range files {
		fmt.Fprintf(h, "%q %s\n", f, sums[i])
	}
	return h.Sum(nil), nil
}

// fileDigest describes one file's content: its sha256, the target of a
// symbolic link, or why it cannot be read (a tracked file deleted from the
// work tree is "missing", which is a state like any other).
func fileDigest(path string) string {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case err != nil:
		return "error " + err.Error()
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(path)
		if err != nil {
			return "error " + err.Error()
		}
		return "link " + t
	case fi.IsDir():
		return "dir" // a submodule: git tracks it as one entry
	}
	f, err := os.Open(path)
	if err != nil {
		return "error " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "error " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil)) + " " + fi.Mode().Perm().String()
}
