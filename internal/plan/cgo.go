package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// The user's choices for a build graph with C code (Options.Cgo).
const (
	// CgoOn builds with C, statically linked against musl, for the
	// platforms in CgoPlatforms, in a builder image that has their C
	// toolchains (smol image --cgo).
	CgoOn = "on"
	// CgoOff builds without C even though some package has C code: such a
	// package is built from its pure-Go files, which the user has accepted.
	CgoOff = "off"
)

// CgoMarker starts each line CgoScanSteps print: "smol-cgo GOOS/GOARCH
// IMPORTPATH FILE,FILE...". A marker rather than bare lines because the
// executors may prefix each line with the step's name.
const CgoMarker = "smol-cgo "

// cgoListFormat is go list's -f template for the cgo scan: one marker line
// per package outside the standard library that has cgo files. The standard
// library's optional cgo (net, os/user, runtime/cgo, plugin) never counts:
// it has a pure-Go equivalent that smol's CGO_ENABLED=0 build uses.
const cgoListFormat = `{{if and (not .Standard) .CgoFiles}}` + CgoMarker + `{{context.GOOS}}/{{context.GOARCH}} {{.ImportPath}} {{join .CgoFiles ","}}{{end}}`

// cgoToolchain is, per platform that --cgo supports, the C compiler of the
// cgo builder image, with the musl specs file (from Debian's musl-dev) that
// makes it compile and link against musl instead of glibc. A compiler
// command rather than the musl-gcc wrapper script: the go command splits CC
// into words itself, and the build then needs no shell. There is no C++
// compiler: Debian's libstdc++ is built for glibc, so C++ cannot be linked
// statically against musl with these packages.
var cgoToolchain = map[Platform]string{
	{"linux", "amd64"}: "x86_64-linux-gnu-gcc-12 -specs=/usr/lib/x86_64-linux-musl/musl-gcc.specs",
	{"linux", "arm64"}: "aarch64-linux-gnu-gcc-12 -specs=/usr/lib/aarch64-linux-musl/musl-gcc.specs",
}

// CgoPlatforms lists the platforms --cgo builds for, sorted.
func CgoPlatforms() []string {
	var out []string
	for pl := range cgoToolchain {
		out = append(out, pl.String())
	}
	slices.Sort(out)
	return out
}

// cgoTags are added to the user's build tags with --cgo: the pure-Go DNS
// resolver and user lookup, so that a static binary never tries to dlopen
// NSS modules that the machine it runs on may not have.
var cgoTags = []string{"netgo", "osusergo"}

// cgoLDFlags is added to smol's -ldflags with --cgo: the external linker
// (the C compiler) links everything, statically.
const cgoLDFlags = "-linkmode=external -extldflags=-static"

// CgoCFlags is CGO_CFLAGS with --cgo: the go command's default
// optimisation, no debug information, and the build's directories mapped
// to fixed names, so that neither a path nor a time reaches the output
// through a C macro such as __FILE__ (-Wdate-time warns of __DATE__).
func cgoCFlags(l Layout) string {
	return "-O2 -g0 -Wdate-time -ffile-prefix-map=" + l.Src + "=. -ffile-prefix-map=" + l.ModCache + "=/_mod -ffile-prefix-map=" + l.GoCache + "=/_cache"
}

func checkCgo(mode string) error {
	switch mode {
	case "", CgoOn, CgoOff:
		return nil
	}
	return fmt.Errorf("--cgo=%s: use --cgo (build with C, static) or --cgo=off (build without C)", mode)
}

// checkCgoPlatforms refuses, before anything runs, a --cgo build for a
// platform without a C cross toolchain in the cgo builder image.
func checkCgoPlatforms(mode string, pls []Platform) error {
	if mode != CgoOn {
		return nil
	}
	var bad []string
	for _, pl := range pls {
		if _, ok := cgoToolchain[pl]; !ok {
			bad = append(bad, pl.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("--cgo: no C toolchain for %s: --cgo builds for %s only; build the others in another run with --cgo=off", strings.Join(bad, ", "), strings.Join(CgoPlatforms(), ", "))
	}
	return nil
}

// cgoEnabled is the CGO_ENABLED setting of the build.
func (p Plan) cgoEnabled() string {
	if p.Cgo == CgoOn {
		return "CGO_ENABLED=1"
	}
	return "CGO_ENABLED=0"
}

// BuildTags are the tags go commands of the build use: the user's, and
// cgoTags with --cgo.
func (p Plan) BuildTags() []string {
	tags := slices.Clone(p.Tags)
	if p.Cgo == CgoOn {
		for _, t := range cgoTags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// cgoPlatformEnv is the C toolchain's environment of a build step for pl:
// none without --cgo. The layout is always the container's: --cgo builds
// only in the cgo builder image, whose toolchains the settings name.
func (p Plan) cgoPlatformEnv(pl Platform) []string {
	if p.Cgo != CgoOn {
		return nil
	}
	return []string{
		"CC=" + cgoToolchain[pl],
		// No C++ toolchain (see cgoToolchain): cleared, so that a value in
		// the image's environment cannot change the build.
		"CXX=",
		"CGO_CFLAGS=" + cgoCFlags(ContainerLayout),
		"CGO_CXXFLAGS=" + cgoCFlags(ContainerLayout),
		"CGO_LDFLAGS=",
	}
}

// CgoScanSteps list, for each platform, the build graph as CGO_ENABLED=1
// would build it and print a CgoMarker line for every package outside the
// standard library that has cgo files. There are none when the user chose
// (--cgo or --cgo=off): the scan exists to stop a build that would silently
// drop C code. They download like the dependency steps (with the network),
// or, for a vendored module, read vendor/ without it.
func (p Plan) CgoScanSteps(l Layout) []Step {
	if p.Cgo != "" {
		return nil
	}
	var steps []Step
	for _, pl := range p.Platforms {
		args := []string{"go", "list", "-mod=" + p.ModMode, "-deps", "-f", cgoListFormat}
		if len(p.Tags) > 0 {
			args = append(args, "-tags="+strings.Join(p.Tags, ","))
		}
		args = append(args, p.Packages...)
		env, network := p.depsEnv(), true
		if p.ModMode == "vendor" {
			env, network = p.Env(), false
		}
		env = envWith(env, "CGO_ENABLED=1", "GOOS="+pl.OS, "GOARCH="+pl.Arch)
		steps = append(steps, Step{
			Name:     "deps " + pl.String() + " cgo-scan",
			Platform: pl,
			Network:  network,
			Dir:      l.Src,
			Args:     args,
			Env:      withLayout(env, l),
		})
	}
	return steps
}

// CgoPackage is a package in the build graph with cgo files.
type CgoPackage struct {
	ImportPath string
	Files      []string
	Platforms  []string // where the build graph holds it, sorted
}

// ParseCgoScan reads the CgoMarker lines in the output of CgoScanSteps
// (with or without a step-name prefix) and returns the packages, sorted by
// import path, each once with all its platforms.
func ParseCgoScan(out string) []CgoPackage {
	byPath := map[string]*CgoPackage{}
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, CgoMarker)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(CgoMarker):])
		if len(f) != 3 {
			continue
		}
		pk := byPath[f[1]]
		if pk == nil {
			pk = &CgoPackage{ImportPath: f[1], Files: strings.Split(f[2], ",")}
			byPath[f[1]] = pk
		}
		if !slices.Contains(pk.Platforms, f[0]) {
			pk.Platforms = append(pk.Platforms, f[0])
			slices.Sort(pk.Platforms)
		}
	}
	var out2 []CgoPackage
	for _, pk := range byPath {
		out2 = append(out2, *pk)
	}
	slices.SortFunc(out2, func(a, b CgoPackage) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return out2
}

// CgoVerdict is the error that stops a build whose graph has packages with
// cgo files when the user has not chosen: one line per package, with its
// files, then the two choices. nil when there is nothing to choose.
func (p Plan) CgoVerdict(pkgs []CgoPackage) error {
	if p.Cgo != "" || len(pkgs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cgo: %d package(s) in the build have C code, which smol leaves out unless told:\n", len(pkgs))
	for _, pk := range pkgs {
		fmt.Fprintf(&b, "  %s: %s (%s)\n", pk.ImportPath, strings.Join(pk.Files, " "), strings.Join(pk.Platforms, ", "))
	}
	fmt.Fprintf(&b, "choose --cgo to build with C, static (%s), or --cgo=off to accept the pure-Go fallback knowingly (it may be a stub that fails at run time)", strings.Join(CgoPlatforms(), ", "))
	return fmt.Errorf("%s", b.String())
}

// CgoImagePackages are the Debian bookworm packages, pinned by version,
// that smol image --cgo puts on top of the Go toolchain for an amd64 host:
// the native C compiler and the aarch64 cross compiler (gcc 12), musl's
// headers, static library and specs file for both targets, and dash for
// smol shell. Their dependency closure, as the Debian archive resolves it,
// comes with them and is listed in the image. Changing a version here
// changes the image's tag (CgoImageTag).
var CgoImagePackages = []string{
	"dash:amd64=0.5.12-2",
	"gcc-12-aarch64-linux-gnu:amd64=12.2.0-14cross1",
	"gcc-12:amd64=12.2.0-14+deb12u1",
	"musl-dev:amd64=1.2.3-1",
	"musl-dev:arm64=1.2.3-1",
}

// cgoImageFormat names the way smol lays the packages out in the image;
// a change to it must change the tag too.
const cgoImageFormat = "smol cgo image 1"

// CgoImageTag is the cgo builder image for Go goVersion with
// CgoImagePackages and the extra packages a team added (smol image --cgo
// --add-package): smol/go-cgo:<goVersion>-<12 hex digits of the package
// set's hash>, so a new package set never hides behind an old tag.
func CgoImageTag(goVersion string, extra ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", cgoImageFormat, strings.Join(append(slices.Clone(CgoImagePackages), extra...), "\n"))
	return "smol/go-cgo:" + goVersion + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}
