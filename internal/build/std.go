package build

import (
	"errors"
	"fmt"
	gobuild "go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// StdSteps are the plan's std steps (plan.Plan.StdSteps) with l as their
// layout: for each platform, the standard-library packages that StdImports
// finds. There are none when a matched directory holds a default.pgo, which
// changes how the command's standard library is compiled (go build's
// -pgo=auto), so that a compile without the profile would be wasted.
func StdSteps(p plan.Plan, l plan.Layout) ([]plan.Step, error) {
	dirs, err := patternDirs(p)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "default.pgo")); err == nil {
			return nil, nil
		}
	}
	pkgs := map[plan.Platform][]string{}
	for _, pl := range p.Platforms {
		pkgs[pl] = stdImports(p, pl, dirs)
	}
	return p.StdSteps(l, pkgs), nil
}

// StdImports returns, sorted, the standard-library packages that the
// packages of p (p.Packages, relative to the module root or under the
// module's path) import when built for pl, those that the module's own
// packages they import, directly or not, import in turn, and runtime, which
// every command links. It reads only the source: packages of other modules
// are not followed, so what only they import is missing, and the build
// compiles that itself.
//
// The files of a package are chosen as the go command chooses them, by
// file name, build constraints (pl, p's build tags, cgo as p builds, the
// release tags of p.GoVersion) and _test.go, except that the architecture
// feature tags (amd64.v3, ...) and GOEXPERIMENT tags are never set, which
// can only leave packages out. Every file of a directory holding two
// packages counts, and a file that does not parse adds what was read before
// the error: the build fails on those anyway. A standard-library package is
// one whose path's first element has no dot and that is not under the
// module's path; "C" (cgo) is not one.
//
// Patterns other than relative paths and the module's own import paths
// (std, all, another module's packages) add nothing.
func StdImports(p plan.Plan, pl plan.Platform) ([]string, error) {
	dirs, err := patternDirs(p)
	if err != nil {
		return nil, err
	}
	return stdImports(p, pl, dirs), nil
}

func stdImports(p plan.Plan, pl plan.Platform, dirs []string) []string {
	ctx := gobuild.Context{
		GOOS:        pl.OS,
		GOARCH:      pl.Arch,
		CgoEnabled:  p.Cgo == plan.CgoOn,
		BuildTags:   p.BuildTags(),
		ReleaseTags: releaseTags(p.GoVersion),
		Compiler:    "gc",
	}
	mod := p.Module.Path
	seen := map[string]bool{}
	std := map[string]bool{}
	if len(dirs) > 0 {
		// Every command links the runtime, imported or not.
		std["runtime"] = true
	}
	for len(dirs) > 0 {
		dir := dirs[0]
		dirs = dirs[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		// An error other than no Go files (a file that does not parse, two
		// packages in one directory) leaves the imports of the files read,
		// and the compile reports it.
		bp, err := ctx.ImportDir(dir, 0)
		var noGo *gobuild.NoGoError
		if bp == nil || errors.As(err, &noGo) {
			continue
		}
		for _, imp := range bp.Imports {
			switch {
			case imp == mod || strings.HasPrefix(imp, mod+"/"):
				dirs = append(dirs, filepath.Join(p.Module.Dir, filepath.FromSlash(strings.TrimPrefix(imp, mod))))
			case isStd(imp):
				std[imp] = true
			}
		}
	}
	var out []string
	for imp := range std {
		out = append(out, imp)
	}
	slices.Sort(out)
	return out
}

// isStd reports whether import path imp names a standard-library package:
// its first element has no dot. "C" is cgo's, not a package.
func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return imp != "C" && first != "" && !strings.Contains(first, ".")
}

// releaseTags are go1.1 to go1.N for a Go version 1.N[.x], as the go
// command of that version sets them; none for a version it cannot read.
func releaseTags(goVersion string) []string {
	_, minor, _ := strings.Cut(goVersion, ".")
	minor, _, _ = strings.Cut(minor, ".")
	minor, _, _ = strings.Cut(minor, "rc")
	minor, _, _ = strings.Cut(minor, "beta")
	n, err := strconv.Atoi(minor)
	if err != nil {
		return nil
	}
	var tags []string
	for i := 1; i <= n; i++ {
		tags = append(tags, "go1."+strconv.Itoa(i))
	}
	return tags
}

// patternDirs are the host directories of the packages p.Packages match:
// each relative or module-path pattern's directory and, for a pattern
// ending in /..., every directory below it that the go command would match
// (not vendor, testdata, names starting with . or _, or nested modules).
func patternDirs(p plan.Plan) ([]string, error) {
	var dirs []string
	for _, pat := range p.Packages {
		rel, ok := relPattern(p.Module.Path, filepath.ToSlash(pat))
		if !ok {
			continue
		}
		root, all := strings.CutSuffix(rel, "/...")
		if rel == "..." {
			root, all = ".", true
		}
		if strings.Contains(root, "...") {
			// A wildcard in the middle (./cmd/.../server): every
			// directory under the part before it, more than it matches.
			root, _, _ = strings.Cut(root, "...")
			root, all = strings.TrimSuffix(root, "/"), true
		}
		dir := filepath.Join(p.Module.Dir, filepath.FromSlash(root))
		if !all {
			dirs = append(dirs, dir)
			continue
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == dir && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipAll
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if path != dir && skipDir(path, d.Name()) {
				return filepath.SkipDir
			}
			dirs = append(dirs, path)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("std imports: %w", err)
		}
	}
	return dirs, nil
}

// relPattern returns pattern pat relative to the module root, "." for the
// root, and whether pat names packages of module mod at all.
func relPattern(mod, pat string) (string, bool) {
	switch {
	case pat == "." || pat == "./...":
		return strings.TrimPrefix(pat, "./"), true
	case strings.HasPrefix(pat, "./"):
		return strings.TrimPrefix(pat, "./"), true
	case pat == mod:
		return ".", true
	case strings.HasPrefix(pat, mod+"/"):
		return strings.TrimPrefix(pat, mod+"/"), true
	}
	return "", false
}

// skipDir reports whether the go command leaves directory path (named
// name) out of a ... pattern and of the module.
func skipDir(path, name string) bool {
	if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "go.mod"))
	return err == nil
}
