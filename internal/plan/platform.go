package plan

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Platform is a GOOS/GOARCH pair.
type Platform struct {
	OS   string
	Arch string
}

// String returns "os/arch".
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Exe is the executable suffix on the platform: ".exe" on Windows, else "".
func (p Platform) Exe() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

// HostPlatform is the platform smol itself runs on.
func HostPlatform() Platform { return Platform{runtime.GOOS, runtime.GOARCH} }

// knownPlatforms is `go tool dist list` for Go 1.26 less the ports that
// cannot link an executable without cgo (ios/*, android/386, android/amd64,
// android/arm). It is kept here rather than asked of a go command so that
// planning and --dry-run need no toolchain; a newer toolchain's new port is one
// line to add.
var knownPlatforms = []string{
	"aix/ppc64",
	"android/arm64",
	"darwin/amd64", "darwin/arm64",
	"dragonfly/amd64",
	"freebsd/386", "freebsd/amd64", "freebsd/arm", "freebsd/arm64", "freebsd/riscv64",
	"illumos/amd64",
	"js/wasm",
	"linux/386", "linux/amd64", "linux/arm", "linux/arm64", "linux/loong64",
	"linux/mips", "linux/mips64", "linux/mips64le", "linux/mipsle",
	"linux/ppc64", "linux/ppc64le", "linux/riscv64", "linux/s390x",
	"netbsd/386", "netbsd/amd64", "netbsd/arm", "netbsd/arm64",
	"openbsd/386", "openbsd/amd64", "openbsd/arm", "openbsd/arm64", "openbsd/ppc64", "openbsd/riscv64",
	"plan9/386", "plan9/amd64", "plan9/arm",
	"solaris/amd64",
	"wasip1/wasm",
	"windows/386", "windows/amd64", "windows/arm64",
}

// ParsePlatforms parses a comma-separated list such as
// "linux/amd64,linux/arm64". Duplicates are dropped and the result is
// sorted, so the same set always plans the same steps. An empty list means the
// host platform.
func ParsePlatforms(list string) ([]Platform, error) {
	if strings.TrimSpace(list) == "" {
		return []Platform{HostPlatform()}, nil
	}
	var out []Platform
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(knownPlatforms, s) {
			return nil, fmt.Errorf("unknown platform %q: use GOOS/GOARCH as listed by \"go tool dist list\", e.g. linux/amd64,linux/arm64,darwin/arm64,windows/amd64", s)
		}
		os, arch, _ := strings.Cut(s, "/")
		p := Platform{os, arch}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty platform list %q", list)
	}
	slices.SortFunc(out, func(a, b Platform) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}
