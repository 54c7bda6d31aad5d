package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// Subject is one module the proof builds.
type Subject struct {
	Name     string   // short name, used in paths and the report
	Module   string   // module path; "" for this repository
	Version  string   // exact module version (third-party only)
	Packages []string // what smol builds
	// VersionVar and SetVersion are passed to smol as --version-var and
	// --set-version when set: the stamp the module's own release build uses.
	VersionVar string
	SetVersion string
	Shape      string // why this module is here, for the report
	// Cgo builds with smol build --cgo in the cgo builder image (smol
	// image --cgo); verify then rebuilds in that image only, since --cgo
	// has no native build.
	Cgo bool
}

// subjects are pinned: a new version is a new proof, made on purpose.
var subjects = []Subject{
	{
		Name:     "gohttp-smol",
		Packages: []string{"./cmd/gohttp-smol"},
		Shape:    "this repository's server (HEAD, cloned)",
	},
	{
		// A well-known CLI with five dependencies (timefmt-go, go-isatty,
		// go-runewidth, uniseg, yaml.v3, x/sys). v0.12.20 is newer but needs a
		// go-yaml pseudo-version the module proxy does not serve.
		Name:     "gojq",
		Module:   "github.com/itchyny/gojq",
		Version:  "v0.12.17",
		Packages: []string{"./cmd/gojq"},
		// gojq's Makefile stamps cli.revision with the git revision.
		VersionVar: "github.com/itchyny/gojq/cli.revision",
		Shape:      "CLI with dependencies; main in ./cmd/gojq; go 1.21, no toolchain line",
	},
	{
		// A library with four commands, x/crypto and filippo.io deps, and a
		// toolchain line naming a newer Go (go1.27.0) than the pin here.
		Name:       "age",
		Module:     "filippo.io/age",
		Version:    "v1.3.2",
		Packages:   []string{"./cmd/..."},
		VersionVar: "main.Version",
		SetVersion: "v1.3.2",
		Shape:      "library with 4 main packages (./cmd/...); go 1.25.0, toolchain go1.27.0",
	},
	{
		// C code: the SQLite amalgamation through cgo. Its own example
		// program opens a database file, writes 100 rows and reads them.
		Name:     "go-sqlite3",
		Module:   "github.com/mattn/go-sqlite3",
		Version:  "v1.14.53",
		Packages: []string{"./_example/simple"},
		Cgo:      true,
		Shape:    "cgo (SQLite in C), built with --cgo: static, musl; its _example/simple opens a file, writes and reads rows",
	},
}

func subjectNames() []string {
	var names []string
	for _, s := range subjects {
		names = append(names, s.Name)
	}
	return names
}

// selectSubjects returns the subjects named in the comma-separated list,
// in their pinned order; all of them for "".
func selectSubjects(list string) ([]Subject, error) {
	if list == "" {
		return subjects, nil
	}
	want := strings.Split(list, ",")
	for _, n := range want {
		if !slices.Contains(subjectNames(), n) {
			return nil, fmt.Errorf("-only: unknown subject %q: choose from %s", n, strings.Join(subjectNames(), ", "))
		}
	}
	var out []Subject
	for _, s := range subjects {
		if slices.Contains(want, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Checkout is a subject's source, ready for smol: a git repository with one
// commit (third-party) or a clone of this repository's HEAD.
type Checkout struct {
	Dir      string
	Revision string   // the commit built, abbreviated
	Notes    []string // what was changed in the third-party source, for the report
}

// checkout puts s's source in dir.
func checkout(ctx context.Context, e Env, s Subject, dir string) (Checkout, error) {
	if s.Module == "" {
		if err := gitClone(ctx, e.Repo, dir); err != nil {
			return Checkout{}, err
		}
		return Checkout{Dir: dir}, nil
	}
	return importModule(ctx, e, s, dir)
}

// download is what `go mod download -json` says about one module.
type download struct {
	Dir   string
	Info  string
	Error string
}

// importModule fetches s through the module proxy and turns it into a git
// repository at dir.
func importModule(ctx context.Context, e Env, s Subject, dir string) (Checkout, error) {
	prep := filepath.Join(e.Base, "prep")
	modCache := filepath.Join(prep, "mod")
	if err := os.MkdirAll(prep, 0o755); err != nil {
		return Checkout{}, err
	}
	goEnv := prepEnv(e.Getenv, modCache, filepath.Join(prep, "home"))
	out, err := runCmd(ctx, prep, goEnv, "go", "mod", "download", "-json", s.Module+"@"+s.Version)
	var d download
	if jerr := json.Unmarshal(out, &d); jerr == nil && d.Error != "" {
		return Checkout{}, fmt.Errorf("go mod download %s@%s: %s", s.Module, s.Version, d.Error)
	}
	if err != nil {
		return Checkout{}, fmt.Errorf("go mod download %s@%s: %w", s.Module, s.Version, err)
	}
	if d.Dir == "" {
		return Checkout{}, fmt.Errorf("go mod download %s@%s: no Dir in %s", s.Module, s.Version, out)
	}
	when, err := versionTime(d.Info)
	if err != nil {
		return Checkout{}, err
	}
	// Module cache trees are read-only; the copy is ours to edit.
	if err := tree.Copy(d.Dir, dir, nil); err != nil {
		return Checkout{}, fmt.Errorf("copy %s: %w", s.Module, err)
	}
	var co Checkout
	co.Dir = dir
	gm := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gm)
	if err != nil {
		return co, err
	}
	edited, note := SetToolchain(data, "go"+e.Pin)
	if err := os.WriteFile(gm, edited, 0o644); err != nil {
		return co, err
	}
	co.Notes = append(co.Notes, note)

	// go.sum must cover every package smol builds for every platform, or
	// the hermetic compile step (-mod=readonly, GOPROXY=off) fails. Check
	// that the way the go command would, and tidy only when it is short.
	if _, err := runCmd(ctx, dir, goEnv, "go", "mod", "download"); err != nil {
		return co, fmt.Errorf("%s: go mod download: %w", s.Name, err)
	}
	if err := listDeps(ctx, dir, goEnv, e.Platforms, s.Packages); err != nil {
		if !sumShort(err) {
			return co, fmt.Errorf("%s: %w", s.Name, err)
		}
		if _, err := runCmd(ctx, dir, goEnv, "go", "mod", "tidy"); err != nil {
			return co, fmt.Errorf("%s: go mod tidy: %w", s.Name, err)
		}
		co.Notes = append(co.Notes, "go.sum was incomplete: ran go mod tidy (host go) and committed the result")
		if err := listDeps(ctx, dir, goEnv, e.Platforms, s.Packages); err != nil {
			return co, fmt.Errorf("%s: after go mod tidy: %w", s.Name, err)
		}
	}
	if err := gitImport(ctx, dir, s.Module+" "+s.Version, when); err != nil {
		return co, err
	}
	return co, nil
}

// prepEnv is the go command's environment for fetching and checking a
// module before smol sees it: a scratch module cache (writable, so it can
// be removed), the pinned toolchain only, and the caller's proxy settings.
func prepEnv(getenv func(string) string, modCache, home string) []string {
	env := []string{
		"PATH=" + getenv("PATH"),
		"HOME=" + home,
		"GOMODCACHE=" + modCache,
		"GOCACHE=" + filepath.Join(home, "go-build"),
		"GOFLAGS=-modcacherw",
		"GOTOOLCHAIN=local",
		"GOENV=off",
		"GOWORK=off",
		"GO111MODULE=on",
		"CGO_ENABLED=0",
	}
	return append(env, passThrough(getenv, "GOPROXY", "GOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE", "SSL_CERT_FILE", "SSL_CERT_DIR")...)
}

func passThrough(getenv func(string) string, keys ...string) []string {
	var env []string
	for _, k := range keys {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// listDeps loads the package graph for each platform with go.sum as it is.
func listDeps(ctx context.Context, dir string, env []string, platforms string, pkgs []string) error {
	for _, pl := range strings.Split(platforms, ",") {
		goos, goarch, ok := strings.Cut(pl, "/")
		if !ok {
			return fmt.Errorf("-platform: %q is not GOOS/GOARCH", pl)
		}
		args := append([]string{"list", "-mod=readonly", "-deps"}, pkgs...)
		penv := append(slices.Clone(env), "GOOS="+goos, "GOARCH="+goarch, "GOPROXY=off")
		if _, err := runCmd(ctx, dir, penv, "go", args...); err != nil {
			return err
		}
	}
	return nil
}

// sumShort reports whether a go command failed because go.sum lacks entries.
func sumShort(err error) bool {
	s := err.Error()
	return strings.Contains(s, "missing go.sum entry") || strings.Contains(s, "updates to go.sum needed")
}

var toolchainLine = regexp.MustCompile(`^toolchain\s+(\S+)\s*(//.*)?$`)

// SetToolchain returns go.mod text that pins toolchain (e.g. "go1.26.8"),
// and a note saying what changed. An existing toolchain directive is
// replaced in place; otherwise one line is appended. Everything else is
// kept byte for byte.
func SetToolchain(gomod []byte, toolchain string) ([]byte, string) {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	depth, found, old := 0, false, ""
	for sc.Scan() {
		line := sc.Text()
		code, _, _ := strings.Cut(line, "//")
		fields := strings.Fields(code)
		switch {
		case depth > 0 && len(fields) > 0 && fields[0] == ")":
			depth--
		case len(fields) > 0 && fields[len(fields)-1] == "(":
			depth++
		case depth == 0 && toolchainLine.MatchString(strings.TrimSpace(line)):
			old = toolchainLine.FindStringSubmatch(strings.TrimSpace(line))[1]
			line, found = "toolchain "+toolchain, true
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	switch {
	case found && old == toolchain:
		return gomod, "go.mod already pins toolchain " + toolchain
	case found:
		return out.Bytes(), fmt.Sprintf("go.mod: replaced toolchain %s with %s (the pin smol builds with here)", old, toolchain)
	}
	b := slices.Clone(gomod)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, "toolchain "+toolchain+"\n"...)
	return b, "go.mod: appended toolchain " + toolchain + " (smol needs an exact pin)"
}

// versionTime reads the publication time of a module version from the
// .info file the go command downloaded.
func versionTime(info string) (time.Time, error) {
	data, err := os.ReadFile(info)
	if err != nil {
		return time.Time{}, fmt.Errorf("module info: %w", err)
	}
	var v struct{ Time time.Time }
	if err := json.Unmarshal(data, &v); err != nil || v.Time.IsZero() {
		return time.Time{}, fmt.Errorf("module info %s: no time (%v)", info, err)
	}
	return v.Time.UTC(), nil
}

// gitEnv makes commits repeatable: no user or system configuration, a fixed
// identity, and the given date for author and committer.
func gitEnv(home string, when time.Time) []string {
	date := when.UTC().Format(time.RFC3339)
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=smol proof",
		"GIT_AUTHOR_EMAIL=proof@gohttp-smol.invalid",
		"GIT_COMMITTER_NAME=smol proof",
		"GIT_COMMITTER_EMAIL=proof@gohttp-smol.invalid",
		"GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_DATE=" + date,
		"TZ=UTC",
	}
}

// gitImport makes dir a repository with one commit of everything in it.
// Ignored files are added too (-f): the module zip is the source, whatever
// its .gitignore says.
func gitImport(ctx context.Context, dir, msg string, when time.Time) error {
	home := filepath.Join(filepath.Dir(dir), ".git-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	env := gitEnv(home, when)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A", "-f", "."},
		{"-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "import " + msg},
	} {
		if _, err := runCmd(ctx, dir, env, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

func gitClone(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_, err := runCmd(ctx, filepath.Dir(dst), gitEnv(filepath.Dir(dst), time.Unix(0, 0)), "git", "clone", "-q", "--no-hardlinks", src, dst)
	return err
}

// headRevision is the abbreviated HEAD of the repository at repo.
func headRevision(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// repoPin is the Go toolchain this repository pins: the one smol's builder
// image and the native rebuild use, and the one third-party modules get.
func repoPin(repo string) (string, error) {
	m, err := gomod.Read(repo)
	if err != nil {
		return "", err
	}
	return m.Pin()
}

// runCmd runs name with exactly env in dir and returns its stdout. On
// failure the error carries the end of stderr.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
