package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

const testUsage = `usage: smol test [flags] [-- go test args]

Run go test (default ./...) in the pinned build environment: same image,
caches and uid as smol build, no network.
`

func runTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol test", testUsage, stderr)
	var s buildFlags
	s.register(fs, getenv)
	dryRun := fs.Bool("dry-run", false, "print the engine commands and run nothing")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	p, r, err := s.prepare(ctx, nil, getenv, *dryRun, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	x, host := r.Executor, r.Host
	step := p.TestStep(x.Layout(), fs.Args())
	if *dryRun {
		if d, ok := p.DepsStep(x.Layout()); ok {
			fmt.Fprintf(stdout, "# %s\n%s\n", d.Name, engine.Quote(x.Command(d)))
		}
		fmt.Fprintf(stdout, "# %s\n%s\n", step.Name, engine.Quote(x.Command(step)))
		return nil
	}
	var deps []plan.Step
	if d, ok := p.DepsStep(x.Layout()); ok {
		deps = append(deps, d)
	}
	if err := build.Deps(ctx, p, x, host, deps, stderr, stderr); err != nil {
		return err
	}
	if err := x.Run(ctx, step, stdout, stderr); err != nil {
		return fmt.Errorf("go test failed: %w", err)
	}
	return nil
}

const shellUsage = `usage: smol shell [flags]

Open an interactive shell in the build environment: the builder image with the
source at /src (read-only), the caches mounted and the build's environment set.
`

func runShell(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol shell", shellUsage, stderr)
	var s buildFlags
	s.register(fs, getenv)
	shell := fs.String("shell", "bash", "`shell` to run in the image (bash in the official image; smol's own image has none)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	// The cgo builder image has dash as /bin/sh, and no bash.
	if s.cgo == plan.CgoOn && !flagSet(fs, "shell") {
		*shell = "sh"
	}
	p, r, err := s.prepare(ctx, nil, getenv, false, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	x, host := r.Executor, r.Host
	if _, ok := engine.ContainerOf(x); !ok {
		return fmt.Errorf("smol shell opens a shell in the builder container: use --engine docker or podman")
	}
	for _, d := range []string{host.GoCache, host.ModCache, host.Home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cache directory: %w", err)
		}
	}
	var errBuf strings.Builder
	err = x.Run(ctx, p.ShellStep(x.Layout(), *shell), stdout, io.MultiWriter(stderr, &errBuf))
	if err != nil && strings.Contains(errBuf.String(), "executable file not found") {
		return fmt.Errorf("image %s has no %s (smol's own image holds only the Go toolchain): use --shell sh, or --image golang:%s where it can be pulled", r.Record.ImageRef, filepath.Base(*shell), p.GoVersion)
	}
	return err
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
