package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
)

const cleanUsage = `usage: smol clean [flags]

Remove the warm builder containers that smol build keeps between builds
(they also exit by themselves after 10 minutes without a build).
`

func runClean(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol clean", cleanUsage, stderr)
	engineName := fs.String("engine", getenv("SMOL_ENGINE"), "`engine`: docker or podman (env SMOL_ENGINE; default docker, else podman)")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smol clean: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	kind, bin, err := engine.Find(*engineName)
	if err != nil {
		return err
	}
	if kind == "native" {
		fmt.Fprintln(stdout, "smol: the native engine keeps no containers")
		return nil
	}
	names, err := engine.RemoveWarm(ctx, bin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "smol: removed %d warm builder container(s)\n", len(names))
	return nil
}
