package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/builderimage"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// setup holds the flags that build, verify, test and shell share: together
// they say how to build.
type setup struct {
	dir         string
	engine      string
	image       string
	platforms   string
	cacheDir    string
	out         string
	versionVar  string
	setVersion  string
	tags        string
	ldflags     string
	depsNetwork string
	env         listFlag
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (s *setup) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&s.dir, "C", ".", "module root `dir`ectory")
	fs.StringVar(&s.engine, "engine", getenv("SMOL_ENGINE"), "`engine`: docker, podman or native (env SMOL_ENGINE; default docker, else podman)")
	fs.StringVar(&s.image, "image", getenv("SMOL_IMAGE"), "builder `image` (env SMOL_IMAGE; default golang:<pinned version>)")
	fs.StringVar(&s.platforms, "platform", "", "comma-separated GOOS/GOARCH `list` (default the host's)")
	fs.StringVar(&s.cacheDir, "cache-dir", getenv("SMOL_CACHE_DIR"), "cache root `dir` (env SMOL_CACHE_DIR; default $XDG_CACHE_HOME/smol)")
	fs.StringVar(&s.out, "out", "dist", "output `dir`, relative to the module root")
	fs.StringVar(&s.versionVar, "version-var", "main.version", "`symbol` stamped with the version by -X")
	fs.StringVar(&s.setVersion, "set-version", "", "`version` to stamp (default: git describe --tags --always --dirty)")
	fs.StringVar(&s.tags, "tags", "", "comma-separated build `tags`")
	fs.StringVar(&s.ldflags, "ldflags", "", "extra linker `flags`, after smol's -s -w -buildid= -X")
	fs.StringVar(&s.depsNetwork, "deps-network", "", "docker `network` for the dependency step (e.g. host); the compile step never has one")
	fs.Var(&s.env, "env", "code-generation knob `KEY=VALUE` (GOAMD64, GOARM, GOEXPERIMENT, ...), repeatable")
}

// cacheRoot is where smol keeps caches when --cache-dir is not given.
func cacheRoot(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "smol"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "smol"), nil
	}
	return "", errors.New("no cache directory: set HOME, XDG_CACHE_HOME or --cache-dir")
}

// plan reads the module and decides the build.
func (s *setup) plan(ctx context.Context, pkgs []string, getenv func(string) string) (plan.Plan, error) {
	mod, err := gomod.Read(s.dir)
	if err != nil {
		return plan.Plan{}, err
	}
	out := s.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(mod.Dir, out)
	}
	src, err := source.Inspect(ctx, mod.Dir, getenv("SOURCE_DATE_EPOCH"), out)
	if err != nil {
		return plan.Plan{}, err
	}
	pin, err := mod.Pin()
	if err != nil {
		return plan.Plan{}, err
	}
	root := s.cacheDir
	if root == "" {
		if root, err = cacheRoot(getenv); err != nil {
			return plan.Plan{}, err
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return plan.Plan{}, err
	}
	proxy := map[string]string{}
	for _, k := range []string{"GOINSECURE", "GONOPROXY", "GONOSUMDB", "GOPRIVATE", "GOPROXY", "GOSUMDB"} {
		proxy[k] = getenv(k)
	}
	return plan.New(mod, src, plan.Options{
		Packages:   pkgs,
		Platforms:  s.platforms,
		Image:      s.image,
		VersionVar: s.versionVar,
		Version:    s.setVersion,
		Tags:       s.tags,
		LDFlags:    s.ldflags,
		Env:        s.env,
		// Caches are per toolchain: a new Go version starts clean rather
		// than sharing a build cache with another compiler.
		CacheDir: filepath.Join(root, "go"+pin),
		OutDir:   out,
		UID:      os.Getuid(),
		GID:      os.Getgid(),
		Proxy:    proxy,
	})
}

// executor returns the executor for p and the host side of its layout, with
// scratch as the directory build steps write into.
func (s *setup) executor(ctx context.Context, p plan.Plan, scratch string) (engine.Executor, plan.Layout, error) {
	kind, _, err := engine.Find(s.engine)
	if err != nil {
		return nil, plan.Layout{}, err
	}
	host := p.HostLayout(scratch)
	if kind == "native" {
		gobin, err := nativeGo(ctx, p.GoVersion)
		if err != nil {
			return nil, plan.Layout{}, err
		}
		return &engine.Native{Go: gobin, Host: host}, host, nil
	}
	var ca string
	if _, err := os.Stat(engine.HostCABundle); err == nil {
		ca = engine.HostCABundle
	}
	return &engine.Container{
		CABundle: ca,
		NoFile:   engine.NoFileLimit(),
		Rootless: kind == "podman" && os.Getuid() != 0,
		Kind:     kind,
		// The CLI by name, as found on PATH: the command --dry-run
		// prints is then one to paste anywhere.
		Bin:         kind,
		Image:       p.Image,
		Host:        host,
		UID:         p.UID,
		GID:         p.GID,
		Prefix:      "smol-" + strconv.Itoa(os.Getpid()),
		DepsNetwork: s.depsNetwork,
	}, host, nil
}

// nativeGo finds a go command whose version is exactly the pin.
func nativeGo(ctx context.Context, pin string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("engine native: no go command on PATH: install go%s or use --engine docker", pin)
	}
	v, err := engine.GoVersion(ctx, gobin)
	if err != nil {
		return "", fmt.Errorf("engine native: %w", err)
	}
	if v != "go"+pin {
		return "", fmt.Errorf("engine native: %s is %s but go.mod pins go%s: the native engine builds only with the pinned toolchain (use --engine docker, or run inside golang:%s)", gobin, v, pin, pin)
	}
	return gobin, nil
}

// resolveImage makes sure the builder image is in the engine's store and
// returns the reference used and its ID. With the default image (no --image)
// it falls back to smol's own smol/go:<version> image, making it from the
// pinned toolchain when it cannot be pulled.
func resolveImage(ctx context.Context, c *engine.Container, p plan.Plan, explicit bool, log io.Writer) (ref, id string, err error) {
	ref = p.Image
	if id, err = c.ImageID(ctx, ref); err != nil || id != "" {
		return ref, id, err
	}
	own := builderimage.DefaultTag(p.GoVersion)
	if !explicit {
		if id, err = c.ImageID(ctx, own); err != nil || id != "" {
			if id != "" {
				fmt.Fprintf(log, "smol: image %s not present; using %s %s\n", ref, own, shortID(id))
			}
			return own, id, err
		}
	}
	fmt.Fprintf(log, "smol: image %s not present; pulling\n", ref)
	pullErr := c.Pull(ctx, ref, log)
	if pullErr == nil {
		id, err = c.ImageID(ctx, ref)
		return ref, id, err
	}
	if errors.Is(pullErr, engine.ErrDaemon) {
		return "", "", pullErr
	}
	if explicit {
		return "", "", fmt.Errorf("image %s is not present and cannot be pulled (%v): load it, or run \"smol image\" and build with --image %s", ref, pullErr, own)
	}
	fmt.Fprintf(log, "smol: cannot pull %s; making %s from the go%s toolchain (see \"smol image\")\n", ref, own, p.GoVersion)
	info, err := builderimage.Make(ctx, c.Bin, builderimage.Spec{GoVersion: p.GoVersion, Tag: own, Arch: runtime.GOARCH}, log)
	if err != nil {
		return "", "", fmt.Errorf("no builder image: %s cannot be pulled and making %s failed: %w", ref, own, err)
	}
	fmt.Fprintf(log, "smol: made %s %s\n", own, shortID(info.ID))
	return own, info.ID, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// prepare plans a build and readies its executor: the common start of build,
// verify, test and shell. With dryRun the image is not looked up.
func (s *setup) prepare(ctx context.Context, pkgs []string, getenv func(string) string, dryRun bool, log io.Writer) (plan.Plan, engine.Executor, plan.Layout, build.Record, error) {
	p, err := s.plan(ctx, pkgs, getenv)
	if err != nil {
		return p, nil, plan.Layout{}, build.Record{}, err
	}
	scratch := filepath.Join(p.OutDir, ".smol-"+strconv.Itoa(os.Getpid()))
	x, host, err := s.executor(ctx, p, scratch)
	if err != nil {
		return p, nil, plan.Layout{}, build.Record{}, err
	}
	rec := build.Record{ToolVersion: toolVersion()}
	if c, ok := x.(*engine.Container); ok && !dryRun {
		ref, id, err := resolveImage(ctx, c, p, s.image != "", log)
		if err != nil {
			return p, nil, plan.Layout{}, build.Record{}, err
		}
		// Run the ID, not the tag: a tag moved by another process while
		// the build runs cannot change what builds.
		c.Image = id
		rec.ImageRef, rec.ImageID = ref, id
		fmt.Fprintf(log, "smol: image %s %s, go%s, engine %s\n", ref, shortID(id), p.GoVersion, c.Kind)
	}
	return p, x, host, rec, nil
}

const buildUsage = `usage: smol build [flags] [packages]

Build static binaries of the packages (default .) into dist/NAME_OS_ARCH.
`

func runBuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol build", buildUsage, stderr)
	var s setup
	s.register(fs, getenv)
	dryRun := fs.Bool("dry-run", false, "print the engine commands, shell-quoted, and run nothing")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	p, x, host, rec, err := s.prepare(ctx, fs.Args(), getenv, *dryRun, stderr)
	if err != nil {
		return err
	}
	if *dryRun {
		printPlan(stdout, p, x)
		return nil
	}
	_, err = build.Run(ctx, p, x, host, rec, stderr, stderr)
	return err
}

// printPlan writes the commands a build would run, one per line.
func printPlan(w io.Writer, p plan.Plan, x engine.Executor) {
	for _, steps := range [][]plan.Step{p.BuildDepsSteps(x.Layout()), p.BuildSteps(x.Layout())} {
		for _, l := range x.Commands(steps) {
			fmt.Fprintf(w, "# %s\n%s\n", l.Comment, engine.Quote(l.Argv))
		}
	}
}

func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
