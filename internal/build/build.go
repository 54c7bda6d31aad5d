// Package build carries out a plan: it runs the dependency and compile steps
// with an executor, checks what they produced, and puts the outputs, their
// checksums and the manifest in place without ever leaving a partial file
// where a good one stood.
//
// Run always builds. Update, which smol build uses, first removes what smol
// processes that have gone left behind (Sweep), then skips the build when
// its inputs and outputs are unchanged since the last one. Outputs are
// published as one set that replaces the previous build's: the output
// directory ends up holding what SHA256SUMS lists, plus files smol never
// wrote, which it never touches. Output names follow the go command's rule
// (ExecName).
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/staticbin"
)

// Record is what the manifest says about who built: the parts of a build
// that are not in the plan.
type Record struct {
	ToolVersion string
	ImageRef    string // "" for the native engine
	ImageID     string
	// CToolchain names the C compiler and C library packages of a --cgo
	// build's image, with their versions.
	CToolchain []string
}

// Run builds p with x. host is the host side of x's layout; host.Out is a
// scratch directory inside p.OutDir that Run creates and removes. Progress
// goes to log, one line per step; the go command's own output goes to
// stderr. On success the outputs, SHA256SUMS and manifest.json are in
// p.OutDir and the manifest is returned; outputs that the previous build's
// manifest lists, that this build did not produce and that still hold the
// recorded bytes are removed, so p.OutDir holds what SHA256SUMS lists and
// files smol never wrote. Nothing else in p.OutDir is touched.
//
// On failure or cancellation nothing in p.OutDir has changed: the outputs
// are published as one set (see publish), and a failed step undoes the
// earlier ones. Only a process killed outright (SIGKILL, power loss) during
// the renames of a publish, a window of a few system calls, can leave old
// and new binaries side by side; SHA256SUMS and manifest.json are renamed
// last, so such a mix never matches SHA256SUMS, and the next build sees that
// and rebuilds. The killed process's scratch directory is removed by the
// next build (see Sweep).
func Run(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, rec Record, log, stderr io.Writer) (m manifest.Manifest, err error) {
	return run(ctx, p, x, host, rec, nil, log, stderr)
}

// run is Run; beforeCompile, when not nil, is called between the dependency
// steps and the compile, and its error ends the build.
func run(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, rec Record, beforeCompile func() error, log, stderr io.Writer) (m manifest.Manifest, err error) {
	_, statErr := os.Stat(p.OutDir)
	if err := prepareDirs(p, host); err != nil {
		return manifest.Manifest{}, err
	}
	if os.IsNotExist(statErr) {
		// A build that fails leaves no trace, not even an empty output
		// directory; Remove keeps it if anything else appeared there. It
		// runs after the scratch directory's removal below.
		defer func() {
			if err != nil {
				os.Remove(p.OutDir)
			}
		}()
	}
	defer os.RemoveAll(host.Out)
	if err := markOwner(x, host.Out); err != nil {
		return manifest.Manifest{}, fmt.Errorf("output directory %s: %w", p.OutDir, err)
	}

	std, err := StdSteps(p, x.Layout())
	if err != nil {
		return manifest.Manifest{}, err
	}
	if err := deps(ctx, p, x, host, p.BuildDepsSteps(x.Layout()), std, log, stderr); err != nil {
		return manifest.Manifest{}, err
	}
	if beforeCompile != nil {
		if err := beforeCompile(); err != nil {
			return manifest.Manifest{}, err
		}
	}
	var outs []built
	steps := p.BuildSteps(x.Layout())
	start := time.Now()
	results := x.RunAll(ctx, steps, stderr, stderr)
	if err := stepErrors(ctx, steps, results); err != nil {
		return manifest.Manifest{}, err
	}
	for _, s := range steps {
		got, err := collect(p, s.Platform, filepath.Join(host.Out, s.Platform.OS+"_"+s.Platform.Arch))
		if err != nil {
			return manifest.Manifest{}, err
		}
		var names []string
		for _, b := range got {
			names = append(names, fmt.Sprintf("%s %s", b.out.Name, size(b.out.Size)))
		}
		fmt.Fprintf(log, "smol: %-22s %6.1fs  %s\n", s.Name, time.Since(start).Seconds(), strings.Join(names, ", "))
		outs = append(outs, got...)
	}
	return publish(p, rec, x.Name(), outs, host.Out, log)
}

type built struct {
	path string // in the scratch directory
	out  manifest.Output
}

func prepareDirs(p plan.Plan, host plan.Layout) error {
	if err := mkdirFor(p.OutDir, p); err != nil {
		return fmt.Errorf("output directory: %w: choose another with --out", err)
	}
	os.RemoveAll(host.Out) // a scratch directory left by a killed smol with our pid
	if err := mkdirFor(host.Out, p); err != nil {
		return fmt.Errorf("output directory %s is not writable: %w: fix its permissions or choose another with --out", p.OutDir, err)
	}
	return nil
}

// mkdirFor creates dir (and parents) and, when the build runs as another
// user than smol (smol verify as root rebuilds as a second uid), gives the
// new directories to that user so the build can write there.
func mkdirFor(dir string, p plan.Plan) error {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if p.UID != os.Getuid() || p.GID != os.Getgid() {
		for _, d := range created {
			if err := os.Chown(d, p.UID, p.GID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Deps runs the dependency steps (none when the module is vendored) unless
// they, go.mod, go.sum and the imports of the module's packages are
// unchanged since they last succeeded with this cache: then the module cache
// already holds what they fetch and another container start would only cost
// time. The steps carry the packages, platforms, tags and proxy settings, so
// the stamp covers those too. The compile step cannot be fooled by a stale
// stamp: it runs with GOPROXY=off and fails loudly on a missing module.
//
// The steps may include the cgo scan (plan.CgoScanSteps): its findings are
// kept in the stamp, so a skipped step still gives them, and a build graph
// with C code the user has not chosen about fails here, before the compile
// (plan.CgoVerdict).
func Deps(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, steps []plan.Step, log, stderr io.Writer) error {
	return deps(ctx, p, x, host, steps, nil, log, stderr)
}

// deps is Deps, and when the dependency steps run, it runs std (see
// plan.Plan.StdSteps) at the same time and waits for them too: a cold build
// then compiles the standard library while the dependency steps wait on the
// network. When the dependency steps are skipped, the build cache almost
// always holds that standard library already, and a container start would
// cost more than it saves. The native engine runs them too, as go commands
// beside the dependency steps: its cold build waits on the network just the
// same, and the same flags give it the same cache hits.
func deps(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, steps, std []plan.Step, log, stderr io.Writer) error {
	for _, d := range []string{host.GoCache, host.ModCache, host.Home} {
		if err := mkdirFor(d, p); err != nil {
			return fmt.Errorf("cache directory: %w: choose another with --cache-dir", err)
		}
	}
	if len(steps) == 0 {
		fmt.Fprintf(log, "smol: deps                     vendored, nothing to download\n")
		return nil
	}
	var cacheKey string
	if k, ok := x.(engine.CacheKeyer); ok {
		var err error
		if cacheKey, err = k.CacheKey(ctx); err != nil {
			return err
		}
	}
	stamp, err := depsStamp(p, steps, cacheKey)
	if err != nil {
		return err
	}
	found, ok := readDepsStamp(stamp)
	if !ok {
		waitStd := startStd(ctx, p, x, std, log)
		start := time.Now()
		// The dependency steps' standard output is go list's package
		// list: only the cgo scan's marker lines are kept, and only
		// errors are shown.
		var out bytes.Buffer
		if err := stepErrors(ctx, steps, x.RunAll(ctx, steps, &out, stderr)); err != nil {
			waitStd(true)
			return err
		}
		fmt.Fprintf(log, "smol: %-22s %6.1fs  %s\n", "deps", time.Since(start).Seconds(), strings.Join(steps[0].Args[:2], " "))
		waitStd(false)
		found = plan.ParseCgoScan(out.String())
		if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err == nil {
			atomicfile.WriteFile(stamp, formatDepsStamp(found), 0o644)
		}
	}
	return p.CgoVerdict(found)
}

// startStd starts the std steps of p in the background and returns the
// function that waits for them: with stop, it stops them first and says
// nothing; without, it writes one line per step to log. A failed std step
// is not an error, since the compile then builds what it lacks itself: its
// line says so, with the last line the step wrote.
func startStd(ctx context.Context, p plan.Plan, x engine.Executor, steps []plan.Step, log io.Writer) (wait func(stop bool)) {
	if len(steps) == 0 {
		return func(bool) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var res []engine.Result
	var took time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		// Output only explains a failure, which is kept in the results.
		res = x.RunAll(ctx, steps, io.Discard, io.Discard)
		took = time.Since(start)
	}()
	return func(stop bool) {
		if stop {
			cancel()
		}
		<-done
		cancel()
		if stop {
			return
		}
		for i, s := range steps {
			if res[i].Err != nil {
				fmt.Fprintf(log, "smol: %-22s %6.1fs  failed, so the compile builds the standard library itself: %s\n", s.Name, took.Seconds(), lastLine(res[i]))
				continue
			}
			n := len(s.Args) - 2 - len(p.Flags())
			fmt.Fprintf(log, "smol: %-22s %6.1fs  go build, %d standard packages into the build cache\n", s.Name, took.Seconds(), n)
		}
	}
}

// lastLine is the last line a failed step wrote, or its error.
func lastLine(r engine.Result) string {
	out := strings.TrimSpace(r.Stderr)
	if out == "" {
		return r.Err.Error()
	}
	return out[strings.LastIndexByte(out, '\n')+1:]
}

// depsStampHeader starts a dependency stamp's content; a stamp without it
// (an older smol's, which kept no cgo findings) counts as absent.
const depsStampHeader = "smol deps 2\n"

// formatDepsStamp is the content of a dependency stamp: the header, then
// one line per package with cgo files that the scan found, in the scan's
// own format.
func formatDepsStamp(pkgs []plan.CgoPackage) []byte {
	var b bytes.Buffer
	b.WriteString(depsStampHeader)
	for _, pk := range pkgs {
		for _, pl := range pk.Platforms {
			fmt.Fprintf(&b, "%s%s %s %s\n", plan.CgoMarker, pl, pk.ImportPath, strings.Join(pk.Files, ","))
		}
	}
	return b.Bytes()
}

// readDepsStamp reads the cgo findings kept in a dependency stamp; ok is
// false when there is no usable stamp and the steps must run.
func readDepsStamp(name string) (pkgs []plan.CgoPackage, ok bool) {
	b, err := os.ReadFile(name)
	if err != nil || !bytes.HasPrefix(b, []byte(depsStampHeader)) {
		return nil, false
	}
	return plan.ParseCgoScan(string(b)), true
}

// depsStamp names the stamp of steps; cacheKey names the module cache when
// it is not the plan's cache directory (engine.CacheKeyer).
func depsStamp(p plan.Plan, steps []plan.Step, cacheKey string) (string, error) {
	h := sha256.New()
	if cacheKey != "" {
		fmt.Fprintf(h, "cache %q\n", cacheKey)
	}
	for _, s := range steps {
		fmt.Fprintf(h, "%q %q\n", s.Args, s.Env)
	}
	imports, err := ModuleImports(p.Module.Dir)
	if err != nil {
		return "", fmt.Errorf("deps: %w", err)
	}
	fmt.Fprintf(h, "%q\n", imports)
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(p.Module.Dir, f))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("deps: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "%q\n", p.Proxy)
	return filepath.Join(p.CacheDir, "deps-ok", hex.EncodeToString(h.Sum(nil))), nil
}

// stepErrors explains every failed step, one line each, or returns nil when
// all succeeded. An interrupted run is one error, not one per step.
func stepErrors(ctx context.Context, steps []plan.Step, results []engine.Result) error {
	var errs []error
	for i, s := range steps {
		if err := results[i].Err; err != nil {
			errs = append(errs, stepError(ctx, s, err, results[i].Stderr))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// stepError explains a failed step in one line; the go command's own output
// has already been shown.
func stepError(ctx context.Context, s plan.Step, err error, goStderr string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted", s.Name)
	}
	var hint string
	switch {
	case errors.Is(err, engine.ErrDaemon):
		return err
	case s.Network && unreachable(goStderr):
		hint = ": the container cannot reach the module proxy from the daemon's network: set GOPROXY to a proxy it can reach, try --deps-network host, or vendor the dependencies (go mod vendor) so that nothing is downloaded"
	case strings.Contains(goStderr, "no main packages to build"):
		hint = ": no main package among " + strings.Join(s.Args[len(s.Args)-1:], " ") + ": smol builds commands; name the package that holds func main, e.g. ./cmd/NAME"
	case strings.Contains(goStderr, "GOPROXY=off") || strings.Contains(goStderr, "no required module provides package") ||
		strings.Contains(goStderr, "cannot find module providing package"):
		hint = ": a package comes from a module that go.mod does not declare (or the module cache lacks it): run \"go get\" for it or \"go mod tidy\", and commit go.mod and go.sum"
	case strings.Contains(goStderr, "updates to go.sum needed") || strings.Contains(goStderr, "missing go.sum entry"):
		hint = ": go.sum is incomplete: run \"go mod tidy\" and commit go.sum"
	case strings.Contains(goStderr, "requires go >=") || strings.Contains(goStderr, "GOTOOLCHAIN=local"):
		hint = ": a module needs a newer Go than the pinned toolchain: raise the toolchain line in go.mod"
	case missingCLibrary(goStderr) != "":
		lib := missingCLibrary(goStderr)
		hint = fmt.Sprintf(": the C library %s (-l%s) is not in the builder image: find the Debian package that has lib%s.a (usually lib%s-dev), make an image with it for each platform, e.g. smol image --cgo --add-package lib%s-dev:amd64=VERSION --add-package lib%s-dev:arm64=VERSION (apt-cache policy shows VERSION), and build with --image and the tag it prints", lib, lib, lib, lib, lib, lib)
	case strings.Contains(goStderr, "Unable to find image") || strings.Contains(goStderr, "No such image"):
		hint = ": the builder image is missing: run \"smol image\" to make it"
	}
	return fmt.Errorf("%s: %s failed: %v%s", s.Name, strings.Join(s.Args[:2], " "), err, hint)
}

// unreachable reports whether the go command's output says a module
// download could not connect.
func unreachable(goStderr string) bool {
	for _, sign := range []string{"dial tcp", "no such host", "i/o timeout", "connection refused", "network is unreachable", "TLS handshake timeout"} {
		if strings.Contains(goStderr, sign) {
			return true
		}
	}
	return false
}

// missingCLibrary returns the library name the C linker could not find
// ("cannot find -lrocksdb" gives "rocksdb"), or "".
func missingCLibrary(linkerOutput string) string {
	_, rest, ok := strings.Cut(linkerOutput, "cannot find -l")
	if !ok {
		return ""
	}
	end := strings.IndexFunc(rest, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '+' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r))
	})
	if end < 0 {
		end = len(rest)
	}
	return strings.TrimRight(rest[:end], ".:")
}

// collect finds the binaries a build step wrote into dir, checks them and
// names them NAME_OS_ARCH[.exe].
func collect(p plan.Plan, pl plan.Platform, dir string) ([]built, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("build %s: %w", pl, err)
	}
	have := map[string]bool{}
	var outs []built
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		cmd := strings.TrimSuffix(e.Name(), pl.Exe())
		have[cmd] = true
		src := filepath.Join(dir, e.Name())
		if pl.OS == "linux" {
			if err := staticbin.Check(src); err != nil {
				return nil, fmt.Errorf("build %s: %w", pl, err)
			}
		}
		sum, n, err := manifest.HashFile(src)
		if err != nil {
			return nil, err
		}
		outs = append(outs, built{src, manifest.Output{
			Name:     cmd + "_" + pl.OS + "_" + pl.Arch + pl.Exe(),
			Package:  cmd,
			Platform: pl.String(),
			Size:     n,
			SHA256:   sum,
		}})
	}
	for _, pkg := range p.Packages {
		if strings.Contains(pkg, "...") {
			continue
		}
		if want := ExecName(p.Module.Path, pkg); !have[want] {
			return nil, fmt.Errorf("package %s is not a main package (go build produced no command %q): smol builds commands; name the package that holds func main, e.g. ./cmd/NAME", pkg, want)
		}
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("no main package among %s: smol builds commands; name the packages that hold func main, e.g. ./cmd/NAME or \"./cmd/...\"", strings.Join(p.Packages, " "))
	}
	return outs, nil
}

// ExecName is the file name go build gives the command built from the
// package pattern pkg (relative to the module root) of module modPath, less
// the .exe a windows build adds: the last element of the package's import
// path, or, when that element is a major-version suffix (v2, v12; not v0, v1
// or v1x) and not the whole path, the element before it. This is the go
// command's own rule for module-aware builds.
func ExecName(modPath, pkg string) string {
	imp := modPath
	if rel := strings.TrimPrefix(path.Clean(filepath.ToSlash(pkg)), "./"); rel != "." {
		imp = modPath + "/" + rel
	}
	dir, name := path.Split(imp)
	if dir != "" && isMajorVersion(name) {
		_, name = path.Split(path.Dir(imp))
	}
	return name
}

// isMajorVersion reports whether elem is a major-version path element: v
// and a decimal number of at least 2 without a leading zero. v0 and v1 are
// never written as suffixes, so the go command keeps them as names.
func isMajorVersion(elem string) bool {
	if len(elem) < 2 || elem[0] != 'v' || elem[1] == '0' || elem == "v1" {
		return false
	}
	for _, c := range elem[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// publish puts the checked outputs, SHA256SUMS and manifest.json in place
// as one set, and removes the outputs of the previous build (those its
// manifest lists, unchanged since) that this build did not produce, so that
// the output directory holds exactly what SHA256SUMS lists plus files smol
// never wrote. scratch is the build's scratch directory, on the same file
// system as p.OutDir.
//
// Every file replaced or removed is first hard-linked (or, where links are
// not supported, renamed) into scratch; every change is then one rename.
// If any step fails, the changes made so far are undone in reverse order and
// the output directory is as it was.
func publish(p plan.Plan, rec Record, engineName string, outs []built, scratch string, log io.Writer) (manifest.Manifest, error) {
	m := record(p, rec, engineName)
	seen := map[string]bool{}
	var changes []change
	for _, b := range outs {
		if seen[b.out.Name] {
			return manifest.Manifest{}, fmt.Errorf("two commands named %s for %s: give them different directory names", b.out.Package, b.out.Platform)
		}
		seen[b.out.Name] = true
		if p.Source.Epoch > 0 {
			t := time.Unix(p.Source.Epoch, 0)
			if err := os.Chtimes(b.path, t, t); err != nil {
				return manifest.Manifest{}, fmt.Errorf("set mtime: %w", err)
			}
		}
		m.Outputs = append(m.Outputs, b.out)
		changes = append(changes, change{name: b.out.Name, src: b.path})
	}
	slices.SortFunc(changes, func(a, b change) int { return strings.Compare(a.name, b.name) })

	stale, kept := staleOutputs(p.OutDir, seen)
	for _, name := range kept {
		fmt.Fprintf(log, "smol: kept %s: the previous manifest lists it, but it has changed since, so smol did not write what is there\n", name)
	}
	for _, name := range stale {
		changes = append(changes, change{name: name}) // no src: remove
	}

	// The record goes last: while the binaries are being replaced a reader
	// of SHA256SUMS sees the old list, never one naming files not yet there.
	staged := filepath.Join(scratch, "publish")
	if err := os.Mkdir(staged, 0o755); err != nil {
		return manifest.Manifest{}, fmt.Errorf("publish: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{manifest.SumsFile, m.Sums()}, {manifest.ManifestFile, m.Marshal()}} {
		src := filepath.Join(staged, f.name)
		if err := os.WriteFile(src, f.data, 0o644); err != nil {
			return manifest.Manifest{}, fmt.Errorf("publish: %w", err)
		}
		changes = append(changes, change{name: f.name, src: src})
	}
	if err := swap(p.OutDir, filepath.Join(scratch, "previous"), changes); err != nil {
		return manifest.Manifest{}, fmt.Errorf("%w: %s is unchanged", err, p.OutDir)
	}
	rel := p.OutDir
	if r, err := filepath.Rel(p.Module.Dir, p.OutDir); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	for _, name := range stale {
		fmt.Fprintf(log, "smol: removed %s: the previous build wrote it and this one did not\n", filepath.Join(rel, name))
	}
	fmt.Fprintf(log, "smol: wrote %d output(s), %s and %s in %s\n", len(outs), manifest.SumsFile, manifest.ManifestFile, rel)
	return m, nil
}

// record is the manifest of a build of p, without its outputs.
func record(p plan.Plan, rec Record, engineName string) manifest.Manifest {
	m := p.Manifest(manifest.Tool{Name: "smol", Version: rec.ToolVersion}, engineName, manifest.Image{Ref: rec.ImageRef, ID: rec.ImageID})
	m.CToolchain = rec.CToolchain
	return m
}

// change is one step of a publish: src renamed to dir/name, or, with no
// src, dir/name removed.
type change struct {
	name string
	src  string
}

// Function values so that tests can make a step of a publish fail.
var (
	rename = os.Rename
	link   = os.Link
)

// swap carries out changes in dir in order, keeping what each replaces or
// removes in backup. When one fails it undoes the earlier ones, newest
// first. A file is replaced by one rename, so a reader sees the old file or
// the new one, never none.
func swap(dir, backup string, changes []change) (err error) {
	if err := os.Mkdir(backup, 0o755); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	type done struct {
		name  string
		saved bool // the earlier file is in backup
	}
	var undo []done
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			d := undo[i]
			dst := filepath.Join(dir, d.name)
			var uerr error
			if d.saved {
				uerr = rename(filepath.Join(backup, d.name), dst)
			} else {
				uerr = os.Remove(dst)
			}
			if uerr != nil {
				err = fmt.Errorf("%w; undoing it failed too, so %s may be the new file: %v", err, dst, uerr)
			}
		}
	}()
	for _, c := range changes {
		dst := filepath.Join(dir, c.name)
		fi, err := os.Lstat(dst)
		saved := err == nil && fi.Mode().IsRegular()
		if saved {
			keep := filepath.Join(backup, c.name)
			if err := link(dst, keep); err != nil {
				// No hard links here: move the file aside instead; it is
				// missing until the rename below.
				if err := rename(dst, keep); err != nil {
					return fmt.Errorf("publish %s: keep the earlier file: %w", c.name, err)
				}
			}
			// From here on, undoing this step puts the earlier file back,
			// whether or not the step below succeeds.
			undo = append(undo, done{c.name, true})
		}
		if c.src == "" {
			if saved {
				if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("remove %s: %w", c.name, err)
				}
			}
			continue
		}
		if err := rename(c.src, dst); err != nil {
			return fmt.Errorf("publish %s: %w", c.name, err)
		}
		if !saved {
			undo = append(undo, done{c.name, false})
		}
	}
	return nil
}

// staleOutputs lists the outputs that the manifest in dir records, that are
// not in now, and that still hold the bytes the manifest records: files
// smol wrote that the next build will not replace. kept lists those whose
// bytes differ: whoever changed them owns them now.
func staleOutputs(dir string, now map[string]bool) (stale, kept []string) {
	data, err := os.ReadFile(filepath.Join(dir, manifest.ManifestFile))
	if err != nil {
		return nil, nil
	}
	prev, err := manifest.Parse(data)
	if err != nil {
		return nil, nil
	}
	for _, o := range prev.Outputs {
		if now[o.Name] {
			continue
		}
		path := filepath.Join(dir, o.Name)
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		sum, n, err := manifest.HashFile(path)
		if err != nil || sum != o.SHA256 || n != o.Size {
			kept = append(kept, o.Name)
			continue
		}
		stale = append(stale, o.Name)
	}
	return stale, kept
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
