// Package plan turns a Go module and the user's options into the exact steps
// of a reproducible build: which go commands run, with which environment,
// flags and network access. A Plan is pure data; executors in package engine
// run it in a container (docker, podman) or with the local toolchain (native),
// and --dry-run prints it.
package plan

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// Options is what the user chose. The zero value of each field is a usable
// default, filled in by New.
type Options struct {
	Packages   []string // package patterns; default "."
	Platforms  string   // comma-separated GOOS/GOARCH list; default the host's
	Image      string   // builder image; default golang:<pin>
	VersionVar string   // symbol stamped with the version; default main.version
	Version    string   // version to stamp; default the source's git describe
	Tags       string   // comma-separated build tags
	LDFlags    string   // extra linker flags, appended after smol's own
	Env        []string // KEY=VALUE settings of the code-generation knobs (GOAMD64, GOEXPERIMENT, ...)
	CacheDir   string   // host directory for the caches of this toolchain; required
	OutDir     string   // host directory for outputs; default <module>/dist
	UID, GID   int      // who the build runs as, and who owns what it writes
	// GoPin is the Go release to build with instead of the one go.mod
	// pins (smol's --go, SMOL_GO); see gomod.Module.PinWith for the rule.
	GoPin string

	// Proxy holds the module download settings for the dependency step
	// (GOPROXY, GOSUMDB, GOPRIVATE, GONOPROXY, GONOSUMDB, GOINSECURE), usually
	// taken from the caller's environment. They decide where modules come
	// from, never what is built: go.sum pins the bytes.
	Proxy map[string]string

	// Cgo is the user's choice for packages with C code: CgoOn, CgoOff, or
	// "" for no choice, which builds without C and refuses a build graph
	// that has cgo files outside the standard library (see CgoScanSteps).
	Cgo string
}

// Plan is a fully decided build. Every field is recorded in the manifest or
// follows from one that is.
type Plan struct {
	Module     gomod.Module
	Source     source.Info
	GoVersion  string // exact toolchain, e.g. "1.26.8"
	GoPin      string // GoVersion when the user pinned it outside go.mod, else ""
	Image      string
	Packages   []string
	Platforms  []Platform
	Version    string
	VersionVar string
	Tags       []string
	LDFlags    string   // the complete -ldflags value
	Knobs      []string // sorted KEY=VALUE for every code-generation knob, empty when default
	ModMode    string   // "readonly" or "vendor"
	CacheDir   string
	OutDir     string
	UID, GID   int
	Proxy      []string // sorted KEY=VALUE, dependency step only
	Cgo        string   // CgoOn, CgoOff or "" (see Options.Cgo)
}

// Knobs lists the environment variables that change the code the Go
// toolchain generates. Every step states each one, with the user's value or
// empty (the toolchain default), so nothing set in the caller's shell leaks
// into a build.
var Knobs = []string{
	"GO386", "GOAMD64", "GOARM", "GOARM64", "GOEXPERIMENT", "GOFIPS140",
	"GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
}

// ProxyVars are the module download settings the dependency step takes from
// the caller's environment (Options.Proxy), sorted.
var ProxyVars = []string{"GOINSECURE", "GONOPROXY", "GONOSUMDB", "GOPRIVATE", "GOPROXY", "GOSUMDB"}

var (
	symbolRE  = regexp.MustCompile(`^[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9._+~:/-]+$`)
	tagRE     = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

// New decides a Plan. It checks everything that can be checked without a
// toolchain, so that bad input fails before any container starts.
func New(mod gomod.Module, src source.Info, o Options) (Plan, error) {
	pin, err := mod.PinWith(o.GoPin)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{
		Module:     mod,
		Source:     src,
		GoVersion:  pin,
		GoPin:      o.GoPin,
		Image:      o.Image,
		Packages:   o.Packages,
		Version:    o.Version,
		VersionVar: o.VersionVar,
		CacheDir:   o.CacheDir,
		OutDir:     o.OutDir,
		UID:        o.UID,
		GID:        o.GID,
		ModMode:    "readonly",
		Cgo:        o.Cgo,
	}
	if err := checkCgo(p.Cgo); err != nil {
		return Plan{}, err
	}
	if mod.Vendored {
		p.ModMode = "vendor"
	}
	if p.Image == "" {
		p.Image = "golang:" + pin
		if p.Cgo == CgoOn {
			p.Image = CgoImageTag(pin)
		}
	}
	if len(p.Packages) == 0 {
		p.Packages = []string{"."}
	}
	for _, pkg := range p.Packages {
		if pkg == "" || strings.HasPrefix(pkg, "-") {
			return Plan{}, fmt.Errorf("bad package pattern %q: name packages as go build does, e.g. ./cmd/server or \"./cmd/...\"", pkg)
		}
		if filepath.IsAbs(pkg) {
			return Plan{}, fmt.Errorf("package %q is an absolute path: name it relative to the module root (./...), since the build sees the source at another path", pkg)
		}
	}
	if p.Platforms, err = ParsePlatforms(o.Platforms); err != nil {
		return Plan{}, err
	}
	if err := checkCgoPlatforms(p.Cgo, p.Platforms); err != nil {
		return Plan{}, err
	}
	if p.VersionVar == "" {
		p.VersionVar = "main.version"
	}
	if !symbolRE.MatchString(p.VersionVar) {
		return Plan{}, fmt.Errorf("--version-var %q: want a package-qualified variable such as main.version or example.com/m/internal/buildinfo.Version", p.VersionVar)
	}
	if p.Version == "" {
		p.Version = src.Version()
	}
	if !versionRE.MatchString(p.Version) {
		return Plan{}, fmt.Errorf("version %q: use letters, digits and ._+~:/- only (it is passed to the linker unquoted)", p.Version)
	}
	if o.Tags != "" {
		for _, t := range strings.Split(o.Tags, ",") {
			if !tagRE.MatchString(t) {
				return Plan{}, fmt.Errorf("--tags: bad build tag %q", t)
			}
			p.Tags = append(p.Tags, t)
		}
	}
	p.LDFlags = ldflagsPrefix(p.VersionVar, p.Version, p.Cgo)
	if o.LDFlags != "" {
		p.LDFlags += " " + o.LDFlags
	}
	knobs := map[string]string{}
	for _, kv := range o.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !slices.Contains(Knobs, k) {
			return Plan{}, fmt.Errorf("--env %q: smol sets only the code-generation knobs (%s); the rest of the build environment is fixed so that builds repeat", kv, strings.Join(Knobs, ", "))
		}
		knobs[k] = v
	}
	for _, k := range Knobs {
		if v := knobs[k]; v != "" {
			p.Knobs = append(p.Knobs, k+"="+v)
		}
	}
	for _, k := range ProxyVars {
		if v := o.Proxy[k]; v != "" {
			p.Proxy = append(p.Proxy, k+"="+v)
		}
	}
	if p.CacheDir == "" {
		return Plan{}, fmt.Errorf("plan: no cache directory")
	}
	if p.OutDir == "" {
		p.OutDir = filepath.Join(mod.Dir, "dist")
	}
	return p, nil
}

// Layout says where the go command sees the source, the outputs and the
// caches. The container layout is fixed; the native layout is the host's
// directories.
type Layout struct {
	Src      string // module root (read-only)
	Out      string // directory the build step writes binaries into
	GoCache  string // GOCACHE
	ModCache string // GOMODCACHE
	Home     string // HOME: go and git keep config and telemetry here
}

// ContainerLayout is where the directories are mounted inside the builder.
var ContainerLayout = Layout{
	Src:      "/src",
	Out:      "/out",
	GoCache:  "/cache/go-build",
	ModCache: "/cache/mod",
	Home:     "/cache/home",
}

// HostLayout is the host side of each directory: outDir is the scratch
// directory the binaries are written to before they are checked and renamed.
func (p Plan) HostLayout(outDir string) Layout {
	return Layout{
		Src:      p.Module.Dir,
		Out:      outDir,
		GoCache:  filepath.Join(p.CacheDir, "go-build"),
		ModCache: filepath.Join(p.CacheDir, "mod"),
		Home:     filepath.Join(p.CacheDir, "home"),
	}
}

// Step is one go command of a build.
type Step struct {
	Name     string   // "deps", "build linux/amd64", ...
	Platform Platform // zero for steps that are not per platform
	Network  bool     // the step may reach the network (only the dependency step)
	Dir      string   // working directory, in the step's layout
	Args     []string // the command line, starting with "go"
	Env      []string // the complete environment, sorted KEY=VALUE
	OutDir   string   // where, in the step's layout, binaries appear ("" for none)
	// Interactive steps are attached to the caller's terminal.
	Interactive bool
}

// DepsStep downloads every module go.mod requires, with network access:
// what go test and an interactive shell may need. ok is false when there is
// nothing to download because the module is vendored.
func (p Plan) DepsStep(l Layout) (s Step, ok bool) {
	if p.ModMode == "vendor" {
		return Step{}, false
	}
	return Step{
		Name:    "deps",
		Network: true,
		Dir:     l.Src,
		Args:    []string{"go", "mod", "download"},
		Env:     withLayout(p.depsEnv(), l),
	}, true
}

// BuildDepsSteps download, with network access, only what the build steps
// need: one step per platform loads the packages and their dependencies with
// that platform's GOOS, GOARCH and tags, and so fetches exactly the modules
// that provide them (and the go.mod files of the module graph), checked
// against go.sum. A module that serves only tests or other commands is never
// fetched. The result is nil when the module is vendored.
//
// go list rather than go mod download of a computed list: loading the
// packages is what decides which modules the compile needs, and it
// downloads them as it goes, in one command that needs no shell.
//
// When the user has not chosen about cgo, the result also holds
// CgoScanSteps, so that the one container start of the dependency step
// also decides whether the build needs that choice.
func (p Plan) BuildDepsSteps(l Layout) []Step {
	if p.ModMode == "vendor" {
		return p.CgoScanSteps(l)
	}
	var steps []Step
	for _, pl := range p.Platforms {
		args := []string{"go", "list", "-deps"}
		if tags := p.BuildTags(); len(tags) > 0 {
			args = append(args, "-tags="+strings.Join(tags, ","))
		}
		args = append(args, p.Packages...)
		steps = append(steps, Step{
			Name:     "deps " + pl.String(),
			Platform: pl,
			Network:  true,
			Dir:      l.Src,
			Args:     args,
			Env:      withLayout(append(p.depsEnv(), "GOOS="+pl.OS, "GOARCH="+pl.Arch), l),
		})
	}
	return append(steps, p.CgoScanSteps(l)...)
}

// depsEnv is the environment of the dependency steps less the directories.
func (p Plan) depsEnv() []string {
	proxy := map[string]string{"GOPROXY": "https://proxy.golang.org,direct", "GOSUMDB": "sum.golang.org"}
	for _, kv := range p.Proxy {
		k, v, _ := strings.Cut(kv, "=")
		proxy[k] = v
	}
	env := append(p.commonEnv(), "GOFLAGS=-mod=readonly")
	for k, v := range proxy {
		env = append(env, k+"="+v)
	}
	return env
}

// envWith returns env with the setting of each KEY in over replaced.
func envWith(env []string, over ...string) []string {
	out := slices.Clone(env)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		out = append(out, kv)
	}
	return out
}

// BuildSteps compiles every package for each platform, with no network.
func (p Plan) BuildSteps(l Layout) []Step {
	var steps []Step
	for _, pl := range p.Platforms {
		out := path.Join(filepath.ToSlash(l.Out), pl.OS+"_"+pl.Arch)
		env := append(p.Env(), "GOOS="+pl.OS, "GOARCH="+pl.Arch)
		env = append(env, p.cgoPlatformEnv(pl)...)
		args := append([]string{"go", "build"}, p.Flags()...)
		args = append(args, "-o", filepath.FromSlash(out)+string(filepath.Separator))
		args = append(args, p.Packages...)
		steps = append(steps, Step{
			Name:     "build " + pl.String(),
			Platform: pl,
			Dir:      l.Src,
			Args:     args,
			Env:      withLayout(env, l),
			OutDir:   filepath.FromSlash(out),
		})
	}
	return steps
}

// StdSteps compile, for each platform with packages in pkgs, those
// standard-library packages (and what they import) into the build cache, so
// that the build step finds them there: they are meant to run while the
// dependency step waits on the network, and need neither the network nor
// any module, only the toolchain.
//
// A compiled package is found in the cache only when its action ID is the
// same, and the ID covers the toolchain, GOOS/GOARCH, the code-generation
// knobs, CGO_ENABLED and the C toolchain settings, -trimpath and the build
// tags. So each step is made from its platform's build step: exactly its
// environment (GOCACHE among it), working directory and flags (-ldflags and
// -mod change no compile of the standard library, and are kept so that
// nothing differs), less -o and the packages: go build of several packages
// without -o writes nothing but the cache. The steps write no outputs and change no output byte: a
// cached compile is what the build step would have compiled itself.
//
// A default.pgo in a main package's directory (-pgo=auto) changes the
// action IDs of everything that command imports; the caller leaves such
// builds without std steps.
func (p Plan) StdSteps(l Layout, pkgs map[Platform][]string) []Step {
	var steps []Step
	for _, b := range p.BuildSteps(l) {
		if len(pkgs[b.Platform]) == 0 {
			continue
		}
		// The build's arguments end with -o DIR and its packages.
		args := append(slices.Clone(b.Args[:slices.Index(b.Args, "-o")]), pkgs[b.Platform]...)
		steps = append(steps, Step{
			Name:     "std " + b.Platform.String(),
			Platform: b.Platform,
			Dir:      b.Dir,
			Args:     args,
			Env:      b.Env,
		})
	}
	return steps
}

// Flags are the go build flags every build step uses, in order.
func (p Plan) Flags() []string {
	f := []string{"-mod=" + p.ModMode, "-trimpath", "-buildvcs=false"}
	if tags := p.BuildTags(); len(tags) > 0 {
		f = append(f, "-tags="+strings.Join(tags, ","))
	}
	return append(f, "-ldflags="+p.LDFlags)
}

// Env is the environment of every build step less the directories (see
// Layout) and GOOS/GOARCH: what the manifest records. It is complete: the
// executors pass nothing else from the caller's environment, except PATH for
// the native executor, which must find its go.
func (p Plan) Env() []string {
	env := append(p.commonEnv(),
		"GOFLAGS=",
		// GOPROXY=off makes a module missing from go.mod or from the module
		// cache an error now, instead of a download in the middle of the
		// hermetic step. go.sum is still checked against the module cache.
		"GOPROXY=off",
		"GOSUMDB=off",
	)
	slices.Sort(env)
	return env
}

// commonEnv is shared by the dependency and build steps.
func (p Plan) commonEnv() []string {
	env := []string{
		// cgo off unless the user chose --cgo: a pure-Go static binary,
		// the same bytes on every host, and no C toolchain needed in the
		// builder.
		p.cgoEnabled(),
		// GOENV=off: a go env -w file in the mounted HOME must not change
		// the build. GOWORK=off: a go.work above the module must not either.
		"GOENV=off",
		"GOWORK=off",
		// A newer go line in go.mod fails loudly instead of fetching
		// another toolchain.
		"GOTOOLCHAIN=local",
	}
	set := map[string]string{}
	for _, kv := range p.Knobs {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	for _, k := range Knobs {
		env = append(env, k+"="+set[k])
	}
	return env
}

// withLayout adds the directory variables of l and sorts the result.
func withLayout(env []string, l Layout) []string {
	env = append(env,
		"GOCACHE="+l.GoCache,
		"GOMODCACHE="+l.ModCache,
		"GOPATH="+filepath.Join(l.Home, "go"),
		"HOME="+l.Home,
	)
	slices.Sort(env)
	return env
}

// TestStep runs go test for the module on the builder's own platform, with
// the build's environment and no network: args are go test's (default
// ./...). Tests may listen on loopback, which --network none keeps.
func (p Plan) TestStep(l Layout, args []string) Step {
	if len(args) == 0 {
		args = []string{"./..."}
	}
	return Step{
		Name: "test",
		Dir:  l.Src,
		Args: append([]string{"go", "test", "-mod=" + p.ModMode}, args...),
		Env:  withLayout(p.Env(), l),
	}
}

// ShellStep opens an interactive shell in the build environment, with the
// network of the dependency step so that go get works from it.
func (p Plan) ShellStep(l Layout, shell string) Step {
	return Step{
		Name:        "shell",
		Network:     true,
		Interactive: true,
		Dir:         l.Src,
		Args:        []string{shell},
		Env:         withLayout(append(p.Env(), p.cgoPlatformEnv(HostPlatform())...), l),
	}
}
