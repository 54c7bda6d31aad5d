// Package build carries out a plan: it runs the dependency and compile steps
// with an executor, checks what they produced, and puts the outputs, their
// checksums and the manifest in place without ever leaving a partial file
// where a good one stood.
package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

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
}

// Run builds p with x. host is the host side of x's layout; host.Out is a
// scratch directory inside p.OutDir that Run creates and removes. Progress
// goes to log, one line per step; the go command's own output goes to
// stderr. On success the outputs, SHA256SUMS and manifest.json are in
// p.OutDir and the manifest is returned.
//
// On failure or cancellation nothing in p.OutDir has changed.
func Run(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, rec Record, log, stderr io.Writer) (manifest.Manifest, error) {
	if err := prepareDirs(p, host); err != nil {
		return manifest.Manifest{}, err
	}
	defer os.RemoveAll(host.Out)

	if err := Deps(ctx, p, x, host, p.BuildDepsSteps(x.Layout()), log, stderr); err != nil {
		return manifest.Manifest{}, err
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
	return publish(p, rec, x.Name(), outs, log)
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
func Deps(ctx context.Context, p plan.Plan, x engine.Executor, host plan.Layout, steps []plan.Step, log, stderr io.Writer) error {
	for _, d := range []string{host.GoCache, host.ModCache, host.Home} {
		if err := mkdirFor(d, p); err != nil {
			return fmt.Errorf("cache directory: %w: choose another with --cache-dir", err)
		}
	}
	if len(steps) == 0 {
		fmt.Fprintf(log, "smol: deps                     vendored, nothing to download\n")
		return nil
	}
	stamp, err := depsStamp(p, steps)
	if err != nil {
		return err
	}
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	start := time.Now()
	// The dependency steps' standard output is go list's package list:
	// only their errors are worth showing.
	if err := stepErrors(ctx, steps, x.RunAll(ctx, steps, io.Discard, stderr)); err != nil {
		return err
	}
	fmt.Fprintf(log, "smol: %-22s %6.1fs  %s\n", "deps", time.Since(start).Seconds(), strings.Join(steps[0].Args[:2], " "))
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err == nil {
		os.WriteFile(stamp, nil, 0o644)
	}
	return nil
}

func depsStamp(p plan.Plan, steps []plan.Step) (string, error) {
	h := sha256.New()
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
	case strings.Contains(goStderr, "no main packages to build"):
		hint = ": no main package among " + strings.Join(s.Args[len(s.Args)-1:], " ") + ": smol builds commands; name the package that holds func main, e.g. ./cmd/NAME"
	case strings.Contains(goStderr, "GOPROXY=off") || strings.Contains(goStderr, "no required module provides package") ||
		strings.Contains(goStderr, "cannot find module providing package"):
		hint = ": a package comes from a module that go.mod does not declare (or the module cache lacks it): run \"go get\" for it or \"go mod tidy\", and commit go.mod and go.sum"
	case strings.Contains(goStderr, "updates to go.sum needed") || strings.Contains(goStderr, "missing go.sum entry"):
		hint = ": go.sum is incomplete: run \"go mod tidy\" and commit go.sum"
	case strings.Contains(goStderr, "requires go >=") || strings.Contains(goStderr, "GOTOOLCHAIN=local"):
		hint = ": a module needs a newer Go than the pinned toolchain: raise the toolchain line in go.mod"
	case strings.Contains(goStderr, "Unable to find image") || strings.Contains(goStderr, "No such image"):
		hint = ": the builder image is missing: run \"smol image\" to make it"
	}
	return fmt.Errorf("%s: %s failed: %v%s", s.Name, strings.Join(s.Args[:2], " "), err, hint)
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

var majorRE = regexp.MustCompile(`^v[2-9][0-9]*$`)

// ExecName is the file name go build gives the command built from the
// package pattern pkg (relative to the module root) of module modPath: the
// last element of its import path, skipping a major-version suffix (/v2).
func ExecName(modPath, pkg string) string {
	imp := modPath
	if rel := strings.TrimPrefix(path.Clean(filepath.ToSlash(pkg)), "./"); rel != "." {
		imp = modPath + "/" + rel
	}
	elems := strings.Split(imp, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && majorRE.MatchString(name) {
		name = elems[len(elems)-2]
	}
	return name
}

// publish moves the checked outputs into place and writes SHA256SUMS and
// the manifest. Binaries are renamed first and the record last, each rename
// atomic, so a reader never sees a partial binary.
func publish(p plan.Plan, rec Record, engineName string, outs []built, log io.Writer) (manifest.Manifest, error) {
	m := manifest.Manifest{
		Schema:     manifest.Schema,
		Tool:       manifest.Tool{Name: "smol", Version: rec.ToolVersion},
		Engine:     engineName,
		Image:      manifest.Image{Ref: rec.ImageRef, ID: rec.ImageID},
		GoVersion:  p.GoVersion,
		Module:     p.Module.Path,
		Source:     p.Source,
		Packages:   p.Packages,
		Version:    p.Version,
		VersionVar: p.VersionVar,
		Tags:       p.Tags,
		LDFlags:    p.LDFlags,
		Flags:      p.Flags(),
		Env:        p.Env(),
	}
	for _, pl := range p.Platforms {
		m.Platforms = append(m.Platforms, pl.String())
	}
	seen := map[string]bool{}
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
	}
	for _, b := range outs {
		if err := os.Rename(b.path, filepath.Join(p.OutDir, b.out.Name)); err != nil {
			return manifest.Manifest{}, fmt.Errorf("publish %s: %w", b.out.Name, err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(p.OutDir, manifest.SumsFile), m.Sums(), 0o644); err != nil {
		return manifest.Manifest{}, err
	}
	if err := atomicfile.WriteFile(filepath.Join(p.OutDir, manifest.ManifestFile), m.Marshal(), 0o644); err != nil {
		return manifest.Manifest{}, err
	}
	rel := p.OutDir
	if r, err := filepath.Rel(p.Module.Dir, p.OutDir); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	fmt.Fprintf(log, "smol: wrote %d output(s), %s and %s in %s\n", len(outs), manifest.SumsFile, manifest.ManifestFile, rel)
	return m, nil
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
