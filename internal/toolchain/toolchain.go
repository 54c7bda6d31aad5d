// Package toolchain finds a Go toolchain of an exact version: the host's
// GOROOT when the go command on PATH is that version, else the toolchain
// module the go command downloads for GOTOOLCHAIN=go<version> and checks
// against the checksum database. The native engine builds with it and the
// builder image is made from it, so both use the same bytes of the same
// release.
//
// Every go command this package runs gets the environment Env makes, never
// the caller's as it is: a GOROOT, GOFLAGS or GOTOOLCHAIN left in a shell
// must not change which toolchain answers or what it reports.
package toolchain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
)

// Toolchain is a Go toolchain found by Find.
type Toolchain struct {
	Version string // without the "go" prefix, e.g. "1.26.8"
	GOROOT  string
	// Host is true when GOROOT is the one of the go command on PATH, false
	// when it was downloaded into the caller's module cache (which another
	// user may not be able to read).
	Host bool
	// Source says where GOROOT came from, in one line: "host GOROOT /usr/local/go",
	// or the toolchain module's path, version and checksum.
	Source string
}

// Go returns the path of the toolchain's go command.
func (t Toolchain) Go() string { return filepath.Join(t.GOROOT, "bin", "go") }

// ErrVersion is wrapped by the error for a version that names no toolchain.
var ErrVersion = errors.New("not a Go toolchain version")

// versionRE matches toolchain versions: releases (1.26.8) and prereleases
// (1.27rc1, 1.27beta2). A language version such as 1.26 names no toolchain.
var versionRE = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+|(rc|beta)[1-9][0-9]*)$`)

// CheckVersion accepts toolchain versions, without the "go" prefix, and
// refuses language versions (1.26) and anything else.
func CheckVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("%w: Go version %q: want a toolchain version such as 1.26.8, without the go prefix", ErrVersion, v)
	}
	return nil
}

// Module returns the module the go command downloads for
// GOTOOLCHAIN=go<version> on goos/goarch.
func Module(version, goos, goarch string) string {
	return "golang.org/toolchain@v0.0.1-go" + version + "." + goos + "-" + goarch
}

// Find returns the Go toolchain go<version> that runs on goos/goarch (""
// means the host's: runtime.GOOS, runtime.GOARCH). The builder image asks
// for linux and the engine's architecture, the native engine for the host.
//
// It is the host's GOROOT when the go command on PATH reports exactly
// go<version> for goos/goarch (`go env GOVERSION GOHOSTOS GOHOSTARCH`, what
// `go version` prints; a build with experiments, "go1.26.8 X:...", does not
// match). Otherwise it is the toolchain module Module(version, goos, goarch), which
// is what the go command downloads for GOTOOLCHAIN=go<version>: `go mod
// download` fetches it through GOPROXY into the module cache (the directory
// GOTOOLCHAIN uses too) and checks it against the checksum database
// (GOSUMDB); the cached copy is reused next time. That GOROOT keeps the
// module's layout. `go mod download` rather than `GOTOOLCHAIN=go<v> go env
// GOROOT`, because it also fetches other architectures, reports the
// module's checksum for Source, and works with any module-aware go, not only
// go1.21 and later.
//
// Either way the GOROOT's VERSION file must name go<version>. The go
// command's messages go to stderr (nil discards them). With no go command on
// PATH, Find fails: install Go, or use a container engine.
func Find(ctx context.Context, version, goos, goarch string, stderr io.Writer) (Toolchain, error) {
	if err := CheckVersion(version); err != nil {
		return Toolchain{}, err
	}
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return Toolchain{}, fmt.Errorf("find toolchain go%s: no go command on PATH to use or to download it with: install Go, or use a container engine with golang:%s: %w",
			version, version, err)
	}
	host, err := HostGo(ctx, goCmd)
	if err != nil {
		return Toolchain{}, fmt.Errorf("find toolchain go%s: %w", version, err)
	}
	t := Toolchain{Version: version}
	if host.GOVERSION == "go"+version && host.GOHOSTOS == goos && host.GOHOSTARCH == goarch {
		t.GOROOT, t.Host = host.GOROOT, true
		t.Source = "host GOROOT " + host.GOROOT
	} else {
		mod, err := Download(ctx, goCmd, Module(version, goos, goarch), stderr)
		if err != nil {
			return Toolchain{}, fmt.Errorf("find toolchain go%s (the go on PATH is %s): %w", version, host.GOVERSION, err)
		}
		t.GOROOT = mod.Dir
		t.Source = fmt.Sprintf("%s@%s %s", mod.Path, mod.Version, mod.Sum)
	}
	v, _, err := ReadVersion(os.DirFS(t.GOROOT))
	if err != nil {
		return Toolchain{}, fmt.Errorf("find toolchain go%s: %s: %w", version, t.GOROOT, err)
	}
	if v != "go"+version {
		return Toolchain{}, fmt.Errorf("find toolchain go%s: %s holds %s", version, t.GOROOT, v)
	}
	return t, nil
}

// GoEnv is what `go env -json` reports about the go command on PATH.
type GoEnv struct {
	GOVERSION, GOROOT, GOHOSTOS, GOHOSTARCH string
}

// HostGo asks the go command goCmd which toolchain it is. GOTOOLCHAIN=local
// (see Env) keeps it from switching to another toolchain while it answers.
func HostGo(ctx context.Context, goCmd string) (GoEnv, error) {
	var v GoEnv
	out, err := run(ctx, goCmd, nil, "env", "-json", "GOVERSION", "GOROOT", "GOHOSTOS", "GOHOSTARCH")
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return v, fmt.Errorf("%s env -json: %w", goCmd, err)
	}
	if v.GOROOT == "" || v.GOVERSION == "" {
		return v, fmt.Errorf("%s env -json: no GOROOT or GOVERSION in %s", goCmd, bytes.TrimSpace(out))
	}
	return v, nil
}

// Downloaded is the part of `go mod download -json` output used here.
type Downloaded struct {
	Path, Version, Error, Dir, Sum string
}

// Download runs `go mod download -json mod` with goCmd and returns where the
// module was unpacked.
func Download(ctx context.Context, goCmd, mod string, stderr io.Writer) (Downloaded, error) {
	var m Downloaded
	out, err := run(ctx, goCmd, stderr, "mod", "download", "-json", mod)
	// On failure the go command still prints the JSON, with Error set.
	if jerr := json.Unmarshal(out, &m); jerr == nil && m.Error != "" {
		return m, fmt.Errorf("download %s: %s", mod, m.Error)
	}
	if err != nil {
		return m, fmt.Errorf("download %s: %w", mod, err)
	}
	if m.Dir == "" {
		return m, fmt.Errorf("download %s: go mod download reported no directory", mod)
	}
	return m, nil
}

// run runs the go command in / (so that no go.mod or go.work applies) with
// the environment Env makes, and returns its standard output. Its standard
// error goes to stderr, when not nil, and into the error.
func run(ctx context.Context, goCmd string, stderr io.Writer, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = "/"
	cmd.Env = Env(os.Environ())
	return engine.Output(cmd, stderr)
}

// envKeep lists the variables Env passes through: where things are (PATH,
// HOME, caches, the go env file), how to reach and trust the module proxy
// and checksum database, and which modules are private.
var envKeep = map[string]bool{
	"PATH": true, "HOME": true, "TMPDIR": true, "XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true,
	"GOENV": true, "GOPATH": true, "GOMODCACHE": true,
	"GOPROXY": true, "GONOPROXY": true, "GOSUMDB": true, "GONOSUMDB": true,
	"GOPRIVATE": true, "GOINSECURE": true, "GOAUTH": true, "NETRC": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

// Env returns the environment for go commands that ask about or fetch a
// toolchain (not for builds, whose environment the plan decides): the
// variables of environ named in envKeep, in their order, then
// GOTOOLCHAIN=local (report on, and download with, the go command itself),
// GOWORK=off and GO111MODULE=on. Everything else is dropped, GOROOT (it
// would override the toolchain's own), GOFLAGS (-mod=vendor and friends
// break `go mod download`), GOOS and GOARCH among them.
func Env(environ []string) []string {
	env := make([]string, 0, len(envKeep)+3)
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if ok && envKeep[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on")
}

// ReadVersion returns the first line of GOROOT/VERSION ("go1.26.8") and the
// release time from its "time " line, if any.
func ReadVersion(fsys fs.FS) (version, timeLine string, err error) {
	f, err := fsys.Open("VERSION")
	if err != nil {
		return "", "", fmt.Errorf("read VERSION: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if version == "" {
			version = line
		} else if t, ok := strings.CutPrefix(line, "time "); ok {
			timeLine = t
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("read VERSION: %w", err)
	}
	if version == "" {
		return "", "", errors.New("read VERSION: empty")
	}
	return version, timeLine, nil
}
