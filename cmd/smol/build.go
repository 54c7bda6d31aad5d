package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/setup"
)

// buildFlags holds the flags that build, test and shell share: together
// they say how to build.
type buildFlags struct {
	dir         string
	goPin       string
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
	transfer    string
	env         listFlag
	cgo         cgoFlag
	warm        bool // only smol build sets it
}

// cgoFlag is --cgo (on) or --cgo=off; unset is "".
type cgoFlag string

func (c *cgoFlag) String() string   { return string(*c) }
func (c *cgoFlag) IsBoolFlag() bool { return true }
func (c *cgoFlag) Set(v string) error {
	switch v {
	case "true", "on":
		*c = plan.CgoOn
	case "false", "off":
		*c = plan.CgoOff
	default:
		return fmt.Errorf("want --cgo or --cgo=off, not --cgo=%s", v)
	}
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (s *buildFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&s.dir, "C", ".", "module root `dir`ectory")
	fs.StringVar(&s.goPin, "go", getenv("SMOL_GO"), "exact Go `version` to build with instead of go.mod's pin, e.g. 1.26.8 (env SMOL_GO); recorded in the manifest")
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
	fs.StringVar(&s.transfer, "transfer", getenv("SMOL_TRANSFER"), "how files reach the engine's daemon: `mode` auto, mount (bind mounts) or copy (tar streams and volumes, for a daemon on another host) (env SMOL_TRANSFER; default auto)")
	fs.Var(&s.cgo, "cgo", "build packages with C code with C, statically (--cgo), or without it (--cgo=off); needed when the build has any")
	fs.Var(&s.env, "env", "code-generation knob `KEY=VALUE` (GOAMD64, GOARM, GOEXPERIMENT, ...), repeatable")
}

// plan reads the module and decides the build the flags describe.
func (s *buildFlags) plan(ctx context.Context, pkgs []string, getenv func(string) string) (plan.Plan, error) {
	return setup.Plan(ctx, setup.Dirs{Module: s.dir, Out: s.out, CacheRoot: s.cacheDir}, plan.Options{
		Packages:   pkgs,
		Platforms:  s.platforms,
		Image:      s.image,
		VersionVar: s.versionVar,
		Version:    s.setVersion,
		Tags:       s.tags,
		LDFlags:    s.ldflags,
		Env:        s.env,
		GoPin:      s.goPin,
		Cgo:        string(s.cgo),
	}, getenv)
}

// prepare plans a build and readies its environment: the common start of
// build, test and shell. With dryRun the image is not looked up.
func (s *buildFlags) prepare(ctx context.Context, pkgs []string, getenv func(string) string, dryRun bool, log io.Writer) (plan.Plan, setup.Ready, error) {
	p, err := s.plan(ctx, pkgs, getenv)
	if err != nil {
		return p, setup.Ready{}, err
	}
	r, err := setup.Prepare(ctx, s.choice(dryRun), p, log)
	return p, r, err
}

// choice is what the flags say about the engine and the image.
func (s *buildFlags) choice(dryRun bool) setup.Choice {
	return setup.Choice{
		Engine:      s.engine,
		Explicit:    s.image != "",
		DepsNetwork: s.depsNetwork,
		Transfer:    s.transfer,
		DryRun:      dryRun,
		Warm:        s.warm,
		ToolVersion: toolVersion(),
	}
}

const buildUsage = `usage: smol build [flags] [packages]

Build static binaries of the packages (default .) into dist/NAME_OS_ARCH.
When nothing the build reads has changed since the last build and dist/
still matches SHA256SUMS, say "up to date" and build nothing (-force builds).
`

func runBuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol build", buildUsage, stderr)
	var s buildFlags
	s.register(fs, getenv)
	dryRun := fs.Bool("dry-run", false, "print the engine commands, shell-quoted, and run nothing")
	force := fs.Bool("force", false, "build even when dist/ is up to date with the sources")
	fs.BoolVar(&s.warm, "warm", engine.WarmEnabled(getenv), "compile in a warm builder container kept for the next build, which exits after 10 minutes unused (env SMOL_WARM=0: off)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	p, r, err := s.prepare(ctx, fs.Args(), getenv, *dryRun, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	if *dryRun {
		return printPlan(stdout, p, r.Executor)
	}
	_, err = build.Update(ctx, p, r.Executor, r.Host, r.Record, *force, stderr, stderr)
	return err
}

// printPlan writes the commands a build would run, one per line.
func printPlan(w io.Writer, p plan.Plan, x engine.Executor) error {
	std, err := build.StdSteps(p, x.Layout())
	if err != nil {
		return err
	}
	for i, steps := range [][]plan.Step{p.BuildDepsSteps(x.Layout()), std, p.BuildSteps(x.Layout())} {
		if len(steps) == 0 {
			continue
		}
		for _, l := range x.Commands(steps) {
			if i == 1 {
				l.Comment += "; while the dependency steps run, and only when they do: a failure only leaves the compile more to do"
			}
			fmt.Fprintf(w, "# %s\n%s\n", l.Comment, engine.Quote(l.Argv))
		}
	}
	return nil
}

func usageErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
