package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/gohttp-smol/gohttp-smol/internal/builderimage"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
)

const imageUsage = `usage: smol image [flags]

Make the builder image smol/go:<version> from the exact pinned Go toolchain
(the host's when it matches, else the one the go command downloads and verifies)
and load it into the engine. The same toolchain gives the same image ID everywhere.

With --cgo, make the cgo builder image smol/go-cgo:<version>-<hash> instead: the
same toolchain plus pinned Debian packages (gcc, the aarch64 cross gcc, musl),
downloaded with the host's apt-get, for smol build --cgo. Needs an amd64 Debian
or Ubuntu host that reaches a bookworm mirror.
`

func runImage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol image", imageUsage, stderr)
	dir := fs.String("C", ".", "module root `dir`ectory whose go.mod pins the toolchain")
	eng := fs.String("engine", getenv("SMOL_ENGINE"), "`engine`: docker or podman")
	goVersion := fs.String("go", getenv("SMOL_GO"), "exact Go `version` to use instead of go.mod's pin, e.g. 1.26.8 (env SMOL_GO)")
	tag := fs.String("tag", "", "image `tag` (default smol/go:<version>, or with --cgo smol/go-cgo:<version>-<hash>)")
	cgo := fs.Bool("cgo", false, "make the cgo builder image, with C toolchains for linux/amd64 and linux/arm64")
	var extra listFlag
	fs.Var(&extra, "add-package", "with --cgo, another Debian `NAME:ARCH=VERSION` to add (a C library's -dev package), repeatable; changes the tag")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	// The pin follows the rule builds follow; without a go.mod, --go alone
	// says which toolchain to make the image of.
	v := *goVersion
	mod, err := gomod.Read(*dir)
	switch {
	case err == nil:
		if v, err = mod.PinWith(*goVersion); err != nil {
			return err
		}
	case v == "" || !errors.Is(err, gomod.ErrNoGoMod):
		return err
	}
	kind, bin, err := engine.Find(*eng)
	if err != nil {
		return err
	}
	if kind == "native" {
		return fmt.Errorf("smol image makes a container image: use --engine docker or podman")
	}
	t := *tag
	if *cgo {
		info, err := builderimage.MakeCgo(ctx, bin, builderimage.Spec{GoVersion: v, Tag: t, Arch: runtime.GOARCH}, extra, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s\n", info.Tag, info.ID)
		return nil
	}
	if len(extra) > 0 {
		fmt.Fprintln(stderr, "smol image: --add-package needs --cgo")
		return errUsage
	}
	if t == "" {
		t = builderimage.DefaultTag(v)
	}
	info, err := builderimage.Make(ctx, bin, builderimage.Spec{GoVersion: v, Tag: t, Arch: runtime.GOARCH}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s\n", info.Tag, info.ID)
	return nil
}
