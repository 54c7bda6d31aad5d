package builderimage

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
	"runtime"
	"strings"
)

// Toolchain returns the GOROOT of the Go toolchain go<goVersion> for
// linux on the host's architecture (runtime.GOARCH), and a one-line
// description of where it came from.
//
// It is the host's GOROOT when the go command on PATH reports exactly
// go<goVersion> for linux/runtime.GOARCH (`go env GOVERSION GOHOSTOS
// GOHOSTARCH`, what `go version` prints; a build with experiments,
// "go1.26.8 X:...", does not match). Otherwise it is the
// toolchain module golang.org/toolchain@v0.0.1-go<goVersion>.linux-<arch>,
// which is what the go command downloads for GOTOOLCHAIN=go<goVersion>:
// `go mod download` fetches it through GOPROXY into the module cache (the
// directory GOTOOLCHAIN uses too) and checks it against the checksum
// database (GOSUMDB); the cached copy is reused next time. That GOROOT keeps
// the module's layout (see the package doc), which WriteArchive accepts as
// it is. `go mod download` rather than `GOTOOLCHAIN=go<v> go env GOROOT`,
// because it also fetches other architectures (Make's Spec.Arch), reports
// the module's checksum for the source line, and works with any
// module-aware go, not only go1.21 and later.
//
// The go command runs with a cleaned environment (see goEnv): proxy,
// checksum database, module cache and network settings pass through; GOROOT,
// GOFLAGS, GOOS, GOARCH and the rest do not. Either way the GOROOT's
// VERSION file must name go<goVersion>. The go command's messages go to
// stderr (nil discards them). With no go command on PATH, Toolchain fails:
// install Go, or pull an image instead.
func Toolchain(ctx context.Context, goVersion string, stderr io.Writer) (goroot string, source string, err error) {
	if err := checkGoVersion(goVersion); err != nil {
		return "", "", err
	}
	return toolchain(ctx, goVersion, "", stderr)
}

// toolchainModule is the module the go command downloads for
// GOTOOLCHAIN=go<version> on linux/<arch>.
func toolchainModule(goVersion, arch string) string {
	return "golang.org/toolchain@v0.0.1-go" + goVersion + ".linux-" + arch
}

// toolchain is Toolchain for linux/arch; arch "" means runtime.GOARCH.
func toolchain(ctx context.Context, goVersion, arch string, stderr io.Writer) (goroot, source string, err error) {
	if arch == "" {
		arch = runtime.GOARCH
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("find toolchain go%s: no go command on PATH to use or to download it with: install Go, or pull golang:%s: %w",
			goVersion, goVersion, err)
	}
	host, err := hostGo(ctx, goCmd)
	if err != nil {
		return "", "", fmt.Errorf("find toolchain go%s: %w", goVersion, err)
	}
	if host.GOVERSION == "go"+goVersion && host.GOHOSTOS == "linux" && host.GOHOSTARCH == arch {
		goroot = host.GOROOT
		source = fmt.Sprintf("host GOROOT %s", goroot)
	} else {
		mod, err := downloadModule(ctx, goCmd, toolchainModule(goVersion, arch), stderr)
		if err != nil {
			return "", "", fmt.Errorf("find toolchain go%s: %w", goVersion, err)
		}
		goroot = mod.Dir
		source = fmt.Sprintf("%s@%s %s", mod.Path, mod.Version, mod.Sum)
	}
	v, _, err := readVersionFile(os.DirFS(goroot))
	if err != nil {
		return "", "", fmt.Errorf("find toolchain go%s: %s: %w", goVersion, goroot, err)
	}
	if v != "go"+goVersion {
		return "", "", fmt.Errorf("find toolchain go%s: %s holds %s", goVersion, goroot, v)
	}
	return goroot, source, nil
}

// goEnvVars is what `go env -json` reports for the host check.
type goEnvVars struct {
	GOVERSION, GOROOT, GOHOSTOS, GOHOSTARCH string
}

// hostGo asks the go command on PATH which toolchain it is. GOTOOLCHAIN=local
// keeps it from switching to another toolchain while it answers.
func hostGo(ctx context.Context, goCmd string) (goEnvVars, error) {
	var v goEnvVars
	out, err := runGo(ctx, goCmd, nil, "env", "-json", "GOVERSION", "GOROOT", "GOHOSTOS", "GOHOSTARCH")
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

// moduleDownload is the part of `go mod download -json` output used here.
type moduleDownload struct {
	Path, Version, Error, Dir, Sum string
}

// downloadModule runs `go mod download -json mod` and returns where the
// module was unpacked.
func downloadModule(ctx context.Context, goCmd, mod string, stderr io.Writer) (moduleDownload, error) {
	var m moduleDownload
	out, err := runGo(ctx, goCmd, stderr, "mod", "download", "-json", mod)
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

// runGo runs the go command in / (so that no go.mod or go.work applies)
// with the environment goEnv makes, and returns its standard output. Its
// standard error goes to stderr, when not nil, and into the error.
func runGo(ctx context.Context, goCmd string, stderr io.Writer, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = "/"
	cmd.Env = goEnv(os.Environ())
	return output(cmd, stderr)
}

// goEnvKeep lists the variables goEnv passes through: where things are
// (PATH, HOME, caches, the go env file), how to reach and trust the module
// proxy and checksum database, and which modules are private.
var goEnvKeep = map[string]bool{
	"PATH": true, "HOME": true, "TMPDIR": true, "XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true,
	"GOENV": true, "GOPATH": true, "GOMODCACHE": true,
	"GOPROXY": true, "GONOPROXY": true, "GOSUMDB": true, "GONOSUMDB": true,
	"GOPRIVATE": true, "GOINSECURE": true, "GOAUTH": true, "NETRC": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

// goEnv returns the environment for the go commands Toolchain runs: the
// variables of environ named in goEnvKeep, in their order, then
// GOTOOLCHAIN=local (report on, and download with, the go command on PATH
// itself), GOWORK=off and GO111MODULE=on. Everything else is dropped,
// GOROOT (it would override the toolchain's own), GOFLAGS (-mod=vendor and
// friends break `go mod download`), GOOS and GOARCH among them.
func goEnv(environ []string) []string {
	env := make([]string, 0, len(goEnvKeep)+3)
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if ok && goEnvKeep[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on")
}

// readVersionFile returns the first line of GOROOT/VERSION ("go1.26.8") and
// the release time from its "time " line, if any.
func readVersionFile(fsys fs.FS) (version, timeLine string, err error) {
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
