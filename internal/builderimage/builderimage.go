// Package builderimage makes a local builder image for smol from the exact
// pinned Go toolchain, for machines that cannot pull golang:<version> (no
// registry, Docker Hub rate limits, air-gapped networks).
//
// # Layout
//
// The image is laid out as the official golang image is
// (docker-library/golang, Dockerfile-linux.template): GOROOT at
// /usr/local/go, GOPATH=/go with /go, /go/bin and /go/src world-writable
// and sticky (1777), WorkingDir /go, and the environment
//
//	PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
//	GOLANG_VERSION=<version>
//	GOTOOLCHAIN=local
//	GOPATH=/go
//
// Beside the toolchain there is only what a Go build needs: a sticky,
// world-writable /tmp, /root (0700), minimal /etc/passwd and /etc/group
// (root, nobody), /etc/nsswitch.conf (read by Go's resolver) and the CA
// bundle /etc/ssl/certs/ca-certificates.crt (for the dependency step's
// `go mod download`; see CABundle for networks that intercept TLS). There is no shell and no C toolchain: smol runs `go`
// directly with CGO_ENABLED=0, and the default command is `go version`.
//
// # Differences from the official image
//
//   - No Debian or Alpine base, so no shell, gcc, git or package manager.
//   - GOROOT holds exactly the files of the toolchain module
//     golang.org/toolchain@v0.0.1-go<version>.linux-<arch>, which is what
//     GOTOOLCHAIN=go<version> downloads: the release tarball minus the
//     top-level api/, doc/, misc/ and test/ trees (the Go test suite, API
//     listings for cmd/api and documentation; `go build`, `go test` and
//     `go vet` read none of them). The official image keeps the whole
//     tarball, about 3,900 files and 30 MB more.
//   - File modes are the go command's, not the tarball's: executable are
//     bin/*, pkg/tool/**/* and lib/**/go_*_*_exec, exactly the files that the
//     go command marks executable when it installs a toolchain module (a
//     module zip carries no modes). The tarball also marks its *.bash, *.rc,
//     *.sh and *.pl maintenance scripts executable; without a shell in the
//     image those could not run anyway.
//   - go.env has its GOTOOLCHAIN line reset to the release value (auto), see
//     below; the image pins GOTOOLCHAIN=local through its environment, as
//     the official image does.
//   - The CA bundle is the NSS root set pinned in go.sum
//     (golang.org/x/crypto/x509roots/fallback/bundle), not the base
//     distribution's ca-certificates package.
//
// # Determinism
//
// The same toolchain gives the same image ID on every machine, whether its
// GOROOT came from the host or from the module proxy. `docker import` cannot
// do that (it stamps the import time into the image config), so WriteArchive
// writes a `docker load` archive (the docker-archive format: manifest.json,
// the config JSON and one uncompressed layer tar; `podman load` reads it
// too) whose config has a fixed creation time, the release time from
// GOROOT/VERSION. The image ID is the sha256 of that config, so it depends
// only on: the Go version and architecture, the GOROOT files selected by the
// rules above, the pinned CA bundle version, and this package's code.
//
// The layer is normalized: entries sorted by name, uid/gid 0 with empty
// user and group names, every mtime the release time, directories 0755 and
// files 0644 or 0755 (except the 1777 and 0700 directories named above), no
// extended attributes and no PAX time records, and only regular files,
// directories and symbolic links (anything else in GOROOT is an error).
//
// Two sources lay GOROOT out differently, and the rules above undo both
// differences: a module zip may not hold nested go.mod files, so the
// toolchain module carries them as _go.mod (the go command copies them back
// to go.mod on first use, so an installed toolchain may hold both); and
// installers edit GOROOT/go.env to pin GOTOOLCHAIN (this project's own
// machines ship GOTOOLCHAIN=local there), which is why that one line is
// reset. Any other change to a host GOROOT (an edited source file, a tool
// installed into GOROOT/bin) changes the image ID, and ImageInfo.Source
// says which GOROOT was used.
package builderimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// Spec says which builder image to make.
type Spec struct {
	// GoVersion is the toolchain version without the "go" prefix, such as
	// "1.26.8" (or "1.27rc1"). A language version such as "1.26" is an
	// error: it names no toolchain.
	GoVersion string

	// Tag is the image reference to load the image under. Empty means
	// DefaultTag(GoVersion), "smol/go:<GoVersion>".
	Tag string

	// Arch is the GOARCH of the host that runs the engine (the image is
	// linux/<Arch>). Empty means runtime.GOARCH.
	Arch string
}

// ImageInfo describes an image written by WriteArchive or loaded by Make.
type ImageInfo struct {
	// ID is the image ID, "sha256:" and the hex sha256 of the image config.
	// Make returns the ID as the engine reports it, after checking that it
	// equals the one computed here.
	ID string
	// Tag is the reference the image is loaded under.
	Tag string
	// LayerDigest is "sha256:" and the hex sha256 of the uncompressed layer
	// tar (the layer's DiffID).
	LayerDigest string
	// GoVersion is the Go version, without the "go" prefix.
	GoVersion string
	// Source says where GOROOT came from (see toolchain.Find). WriteArchive
	// leaves it empty: the archive does not depend on it.
	Source string
}

// CABundle is where the image keeps its CA certificates (Mozilla NSS's
// roots, see the package doc), the first file Go's crypto/x509 reads on
// Linux. A network that intercepts TLS with its own CA (a corporate proxy,
// this project's own machines) needs the host's bundle mounted over it for
// steps that use the network, as it would with the official image:
//
//	docker run -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro ...
const CABundle = "/etc/ssl/certs/ca-certificates.crt"

// DefaultTag returns the tag Make uses when Spec.Tag is empty.
func DefaultTag(goVersion string) string { return "smol/go:" + goVersion }

// Make makes the builder image for spec and loads it into the engine, a
// path to (or the name on PATH of) the docker or podman command. It finds
// the toolchain with toolchain.Find (for spec.Arch), writes the archive with
// WriteArchive to a temporary file, which it removes afterwards, runs
// `<engine> load -i <file>` and asks the engine for the ID of spec.Tag.
// A tag that named another image is moved to the new one.
//
// Make writes one line per step to stderr (nil discards them), and passes
// the go command's download messages through. It needs room for the archive (about 270 MB
// for go1.26.8) in os.TempDir.
func Make(ctx context.Context, engine string, spec Spec, stderr io.Writer) (ImageInfo, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return ImageInfo{}, err
	}
	if stderr == nil {
		stderr = io.Discard
	}
	start := time.Now()
	tc, err := toolchain.Find(ctx, spec.GoVersion, "linux", spec.Arch, stderr)
	if err != nil {
		return ImageInfo{}, err
	}
	goroot, source := tc.GOROOT, tc.Source
	fmt.Fprintf(stderr, "builder image: go%s linux/%s from %s (%.1fs)\n",
		spec.GoVersion, spec.Arch, source, time.Since(start).Seconds())

	start = time.Now()
	f, err := os.CreateTemp("", "smol-image-*.tar")
	if err != nil {
		return ImageInfo{}, fmt.Errorf("make image: %w", err)
	}
	defer os.Remove(f.Name())
	cw := &countingWriter{w: f}
	info, err := WriteArchive(cw, goroot, spec)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("make image: write %s: %w", f.Name(), cerr)
	}
	if err != nil {
		return ImageInfo{}, err
	}
	info.Source = source
	fmt.Fprintf(stderr, "builder image: archive %.1f MB, image %s (%.1fs)\n",
		float64(cw.n)/1e6, info.ID, time.Since(start).Seconds())

	start = time.Now()
	if err := loadArchive(ctx, engine, f.Name(), info); err != nil {
		return ImageInfo{}, err
	}
	fmt.Fprintf(stderr, "builder image: loaded %s with %s (%.1fs)\n", spec.Tag, engine, time.Since(start).Seconds())
	return info, nil
}

// loadArchive loads the archive at name, written for info, into the engine
// and checks that the engine gives info.Tag the ID info.ID.
func loadArchive(ctx context.Context, engine, name string, info ImageInfo) error {
	if _, err := runEngine(ctx, engine, "load", "-i", name); err != nil {
		return fmt.Errorf("load image %s: %w", info.Tag, err)
	}
	out, err := runEngine(ctx, engine, "image", "inspect", "--format", "{{.Id}}", info.Tag)
	if err != nil {
		return fmt.Errorf("load image %s: after load: %w", info.Tag, err)
	}
	// Podman prints the ID without its algorithm.
	id := strings.TrimSpace(out)
	if !strings.HasPrefix(id, "sha256:") {
		id = "sha256:" + id
	}
	if id != info.ID {
		return fmt.Errorf("load image %s: %s gave it the ID %s, want %s (the engine rewrote the image config)",
			info.Tag, engine, id, info.ID)
	}
	return nil
}

// runEngine runs the engine's CLI and returns its standard output.
func runEngine(ctx context.Context, cli string, args ...string) (string, error) {
	out, err := engine.Output(exec.CommandContext(ctx, cli, args...), nil)
	return string(out), err
}

var (
	// tagRE is the reference grammar of distribution/reference (an optional
	// registry host, which has a dot or a port or is localhost, then
	// lower-case name components with separators) with the tag required.
	tagRE = regexp.MustCompile(`^(([a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+|localhost)(:[0-9]+)?/|[a-zA-Z0-9-]+:[0-9]+/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// linuxArches maps the GOARCH values that have a linux toolchain module
// and an OCI platform to the image config's architecture, which is the
// same name for all of them.
var linuxArches = map[string]bool{
	"386": true, "amd64": true, "arm": true, "arm64": true, "loong64": true,
	"mips64le": true, "ppc64le": true, "riscv64": true, "s390x": true,
}

// ErrSpec is wrapped by the errors for a Spec that cannot be made.
var ErrSpec = errors.New("invalid builder image spec")

// checkGoVersion accepts toolchain versions: releases (1.26.8) and
// prereleases (1.27rc1), not language versions (1.26).
func checkGoVersion(v string) error {
	if err := toolchain.CheckVersion(v); err != nil {
		return fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return nil
}

// withDefaults fills in the defaults and validates the result.
func (s Spec) withDefaults() (Spec, error) {
	if s.Arch == "" {
		s.Arch = runtime.GOARCH
	}
	if s.Tag == "" {
		s.Tag = DefaultTag(s.GoVersion)
	}
	if err := checkGoVersion(s.GoVersion); err != nil {
		return s, err
	}
	if !linuxArches[s.Arch] {
		return s, fmt.Errorf("%w: architecture %q: want a linux GOARCH such as amd64 or arm64", ErrSpec, s.Arch)
	}
	if !tagRE.MatchString(s.Tag) {
		return s, fmt.Errorf("%w: tag %q: want NAME:TAG in lower case, such as %s", ErrSpec, s.Tag, DefaultTag(s.GoVersion))
	}
	return s, nil
}
