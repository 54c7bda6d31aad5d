package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/owner"
)

const cleanUsage = `usage: smol clean [flags]

List and remove what smol keeps on the container engine's daemon: the cache
volumes of copy mode (--transfer copy: module and build caches per Go version
and uid), the warm builder containers smol build keeps between builds (they
also exit by themselves after 10 minutes without one), and volumes and
containers that a smol process which has gone left behind. What a running smol
uses is kept. The next build in copy mode starts with empty caches; the next
build in mount mode starts a warm container again.
`

func runClean(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol clean", cleanUsage, stderr)
	eng := fs.String("engine", getenv("SMOL_ENGINE"), "`engine`: docker or podman (env SMOL_ENGINE)")
	list := fs.Bool("list", false, "list them and remove nothing")
	keepCaches := fs.Bool("keep-caches", false, "remove only what gone processes left, not the cache volumes or GOROOT copies")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smol clean: unexpected arguments %v\n", fs.Args())
		return errUsage
	}
	kind, bin, err := engine.Find(*eng)
	if err != nil {
		return err
	}
	if kind == "native" {
		return fmt.Errorf("smol clean removes a container engine's volumes and containers: use --engine docker or podman (the native engine's caches are files under the cache directory)")
	}
	things, err := engine.Leftovers(ctx, bin, kind, build.OwnerLabel)
	if err != nil {
		return fmt.Errorf("clean: %w", err)
	}
	var failed int
	for _, t := range things {
		what := describe(t)
		if *list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.Kind, t.Name, what)
			continue
		}
		if !removable(t, *keepCaches) {
			fmt.Fprintf(stderr, "smol: kept %s %s (%s)\n", t.Kind, t.Name, what)
			continue
		}
		if err := engine.Remove(ctx, bin, kind, t); err != nil {
			failed++
			fmt.Fprintf(stderr, "smol: cannot remove %s %s: %v\n", t.Kind, t.Name, err)
			continue
		}
		fmt.Fprintf(stderr, "smol: removed %s %s (%s)\n", t.Kind, t.Name, what)
	}
	if failed > 0 {
		return fmt.Errorf("clean: %d could not be removed (see above); a volume a container still uses is removed once the container is", failed)
	}
	return nil
}

// ownerState says whether the smol process named by a thing's owner label
// runs: "running", "gone", or "" for no or another host's owner.
func ownerState(t engine.Thing) string {
	if t.Owner == "" {
		return ""
	}
	id, err := owner.Parse(t.Owner)
	if err != nil {
		return ""
	}
	switch owner.Check(id) {
	case owner.Gone:
		return "gone"
	case owner.Running:
		return "running"
	}
	return ""
}

func describe(t engine.Thing) string {
	switch {
	case t.Cache:
		return t.Detail
	case t.Warm:
		return "warm builder container, " + t.Detail
	case ownerState(t) == "gone":
		return "left by a smol process that has gone"
	case ownerState(t) == "running":
		return "in use by a running smol"
	case t.Kind == "container":
		return "container of smol, " + t.Detail
	}
	return "volume of a smol run"
}

// removable says whether clean removes t: never what a running smol uses;
// cache volumes unless keepCaches; anything else smol made.
func removable(t engine.Thing, keepCaches bool) bool {
	switch {
	case ownerState(t) == "running":
		return false
	case t.Cache:
		return !keepCaches
	case t.Warm:
		return true // costs one container start to make again
	case t.Kind == "container":
		return ownerState(t) == "gone"
	}
	return true
}
