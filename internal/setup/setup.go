// Package setup readies the environment a plan runs in: it turns the
// user's choice of engine and builder image into an executor that can run
// the plan's steps now, and the record of what it chose (the image
// reference and the ID that runs) for the manifest. smol build, test, shell
// and every variation of smol verify start here, so they all choose the
// same way:
//
//   - The engine: --engine (SMOL_ENGINE) when given, else docker, else
//     podman, whichever is on PATH (engine.Find).
//   - native: the pinned toolchain from toolchain.Find (the host's GOROOT
//     when the go on PATH is exactly the pin, else the toolchain module the
//     go command downloads and checksum-verifies). Never another version.
//   - docker or podman: the image the user named must be in the engine's
//     store or pullable. The default image (golang:<pin>) may instead be
//     smol's own smol/go:<pin>, used when present, and made from the
//     pinned toolchain (builderimage.Make) when neither can be had.
//   - How files reach a container engine's daemon (package transfer):
//     bind mounts when it sees them, copy mode (engine.Copy) when it does
//     not: known at once for a daemon that runs here in the caller's mount
//     namespace, else asked of the daemon once and remembered; --transfer
//     overrides.
//
// Whatever image is chosen, the executor runs its ID, not its tag: a tag
// moved by another process while the build runs cannot change what builds.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/builderimage"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// Choice is how the user asked to build, beyond the plan.
type Choice struct {
	// Engine is "docker", "podman", "native", or "" for docker, else
	// podman, whichever is on PATH.
	Engine string
	// Image is the builder image; "" means the plan's (golang:<pin> unless
	// the user named one). Explicit says the user named it: then it must be
	// present or pullable, and smol's own image is never used instead.
	Image    string
	Explicit bool
	// DepsNetwork is the container network of the dependency step ("" for
	// the engine's default).
	DepsNetwork string
	// DryRun readies the executor only to print commands: the image is
	// neither looked up, pulled nor made. (The native engine still finds
	// its toolchain, since the commands name its go.)
	DryRun bool
	// Warm lets the compile run in a warm builder container (see
	// engine.Container.Warm); only smol build asks for it.
	Warm bool
	// ToolVersion is smol's version, for the record.
	ToolVersion string
	// Transfer is how files reach a container engine's daemon:
	// transfer.Auto (or ""), Mount or Copy (see package transfer). The
	// native engine reads the files where they are and ignores it.
	Transfer string
	// TempCaches gives a copy-mode build empty caches of its own on the
	// daemon's side, removed by Ready.Close, as smol verify's rebuilds
	// have in their scratch directory in mount mode.
	TempCaches bool
	// ImageGOROOT keeps every container reading GOROOT from the image
	// itself, never from smol's copy of it on a volume (see gorootVolume):
	// smol verify shows what the image builds.
	ImageGOROOT bool
}

// Ready is a prepared build environment.
type Ready struct {
	Executor engine.Executor
	// Host is the host side of the executor's layout; Host.Out is the
	// scratch directory the build writes into (see ScratchDir).
	Host   plan.Layout
	Record build.Record
	// Transfer is transfer.Mount or Copy for a container engine, "" for
	// native.
	Transfer string
}

// ScratchDir is the directory inside p.OutDir that this process's build
// steps write into before the outputs are checked and moved into place.
func ScratchDir(p plan.Plan) string {
	return filepath.Join(p.OutDir, ".smol-"+strconv.Itoa(os.Getpid()))
}

// Prepare readies the environment for p as c asks, and says what it chose
// in one line on log (the go command's download messages, or the image's
// making, pass through to log too). Errors say what to do: install an
// engine, start its daemon, pull or make the image.
func Prepare(ctx context.Context, c Choice, p plan.Plan, log io.Writer) (_ Ready, err error) {
	kind, _, err := engine.Find(c.Engine)
	if err != nil {
		return Ready{}, err
	}
	mode, err := transfer.Parse(c.Transfer)
	if err != nil {
		return Ready{}, err
	}
	r := Ready{Host: p.HostLayout(ScratchDir(p)), Record: build.Record{ToolVersion: c.ToolVersion}}
	if kind == "native" {
		if p.Cgo == plan.CgoOn {
			return Ready{}, fmt.Errorf("--cgo builds only in the cgo builder image (\"smol image --cgo\"): use --engine docker or podman")
		}
		n, err := native(ctx, p, r.Host, log)
		if err != nil {
			return Ready{}, err
		}
		r.Executor = n
		return r, nil
	}
	ref := c.Image
	if ref == "" {
		ref = p.Image
	}
	var ca string
	if _, err := os.Stat(engine.HostCABundle); err == nil {
		ca = engine.HostCABundle
	}
	x := &engine.Container{
		CABundle: ca,
		NoFile:   engine.NoFileLimit(),
		Rootless: kind == "podman" && os.Getuid() != 0,
		Kind:     kind,
		// The CLI by name, as found on PATH: the command --dry-run
		// prints is then one to paste anywhere.
		Bin:         kind,
		Image:       ref,
		Host:        r.Host,
		UID:         p.UID,
		GID:         p.GID,
		Prefix:      "smol-" + strconv.Itoa(os.Getpid()),
		DepsNetwork: c.DepsNetwork,
		Warm:        c.Warm,
	}
	r.Executor = x
	if c.DryRun {
		// Nothing is asked of the daemon: auto prints mount mode's
		// commands.
		r.Transfer = transfer.Mount
		if mode == transfer.Copy {
			r.Transfer = transfer.Copy
			if r.Executor, err = copyExecutor(ctx, x, p, c.TempCaches, log); err != nil {
				return Ready{}, err
			}
		}
		return r, nil
	}
	if p.UID == os.Getuid() && p.GID == os.Getgid() {
		// The runner's host build takes about as long as everything
		// below; a rebuild as another user leaves the cache's home
		// directory to be made for that user first, and the runner to
		// the first step.
		x.StartRunner(ctx)
		defer func() {
			if err != nil {
				x.WaitRunner()
			}
		}()
	}
	var daemon func() (transfer.Daemon, error)
	if mode != transfer.Copy {
		daemon = inBackground(func() (transfer.Daemon, error) { return transfer.DaemonInfo(ctx, x.Bin, x.Kind) })
		defer daemon() // no CLI call outlives Prepare
	}
	var id string
	if p.Cgo == plan.CgoOn {
		id, r.Record.CToolchain, err = resolveCgoImage(ctx, x, ref, p.GoVersion)
	} else {
		ref, id, err = resolveImage(ctx, x, ref, c.Explicit, p.GoVersion, log)
	}
	if err != nil {
		return Ready{}, err
	}
	x.Image = id
	r.Record.ImageRef, r.Record.ImageID = ref, id
	var why string
	if r.Transfer, why, err = decideTransfer(ctx, x, p, mode, daemon); err != nil {
		return Ready{}, err
	}
	if daemon != nil {
		if d, err := daemon(); err == nil && useGOROOTVolume(c, p, kind, r.Transfer, ref, d.Driver) {
			x.FindGOROOT = func(ctx context.Context) string { return gorootVolume(ctx, x, log) }
		}
	}
	if r.Transfer == transfer.Copy {
		if r.Executor, err = copyExecutor(ctx, x, p, c.TempCaches, log); err != nil {
			return Ready{}, err
		}
	}
	fmt.Fprintf(log, "smol: image %s %s, go%s, engine %s, transfer %s (%s)\n", ref, engine.ShortID(id), p.GoVersion, kind, r.Transfer, why)
	return r, nil
}

// useGOROOTVolume reports whether the containers of a build of p, with
// engine kind, transfer mode mode, image ref and storage driver driver,
// read GOROOT from a volume (see engine/goroot.go): only with Docker, whose
// filling of volumes from the image engine.FillGOROOT relies on; only in
// mount mode, where the daemon is this host's and the host lock covers
// every smol that uses it; only where the driver reads image files
// slowly; only for the images whose GOROOT is known to be
// engine.GOROOTDir (the official golang image of the pin and smol's own,
// not the cgo image); never where c asks for the image's own GOROOT.
func useGOROOTVolume(c Choice, p plan.Plan, kind, mode, ref, driver string) bool {
	known := ref == "golang:"+p.GoVersion || ref == builderimage.DefaultTag(p.GoVersion)
	return kind == "docker" && mode == transfer.Mount && engine.SlowImageFS(driver) &&
		known && p.Cgo != plan.CgoOn && !c.ImageGOROOT
}

// gorootVolume returns the GOROOT volume of x.Image (see engine/goroot.go),
// filled first if need be. It returns "" when there can be none, and says
// why: the build then reads GOROOT from the image, which is slower but
// builds the same bytes.
func gorootVolume(ctx context.Context, x *engine.Container, log io.Writer) string {
	name := engine.GOROOTVolumeName(x.Image)
	if err := x.FillGOROOT(ctx, name, log); err != nil {
		fmt.Fprintf(log, "smol: GOROOT stays in the image: %v\n", err)
		return ""
	}
	return name
}

// native readies the native executor with the pinned toolchain.
func native(ctx context.Context, p plan.Plan, host plan.Layout, log io.Writer) (*engine.Native, error) {
	tc, err := toolchain.Find(ctx, p.GoVersion, "", "", log)
	if err != nil {
		return nil, fmt.Errorf("engine native: %w (or use --engine docker)", err)
	}
	n := &engine.Native{Go: tc.Go(), Host: host}
	// A plan for another user (smol verify run as root) runs as that user,
	// unless the toolchain was downloaded: it then lives in the caller's
	// module cache, which the other user may not reach.
	if (p.UID != os.Getuid() || p.GID != os.Getgid()) && tc.Host {
		n.As = &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID)}
	}
	fmt.Fprintf(log, "smol: toolchain go%s from %s, engine native\n", tc.Version, tc.Source)
	return n, nil
}

// resolveImage makes sure the builder image is in the engine's store and
// returns the reference used and its ID. Unless explicit, it falls back to
// smol's own smol/go:<version> image, making it from the pinned toolchain
// when ref cannot be pulled.
func resolveImage(ctx context.Context, c *engine.Container, ref string, explicit bool, goVersion string, log io.Writer) (string, string, error) {
	own := builderimage.DefaultTag(goVersion)
	// Both names are looked up in one call: where the default is missing
	// (no registry), a second call would be on every build's path.
	refs := []string{ref}
	if !explicit && own != ref {
		refs = append(refs, own)
	}
	ids, err := c.ImageIDs(ctx, refs...)
	if err != nil {
		return "", "", err
	}
	if ids[0] != "" {
		return ref, ids[0], nil
	}
	if len(ids) > 1 && ids[1] != "" {
		fmt.Fprintf(log, "smol: image %s not present; using %s %s\n", ref, own, engine.ShortID(ids[1]))
		return own, ids[1], nil
	}
	fmt.Fprintf(log, "smol: image %s not present; pulling\n", ref)
	pullErr := c.Pull(ctx, ref, log)
	if pullErr == nil {
		id, err := c.ImageID(ctx, ref)
		if err == nil && id == "" {
			err = fmt.Errorf("image %s: pulled, but %s does not list it", ref, c.Kind)
		}
		return ref, id, err
	}
	if errors.Is(pullErr, engine.ErrDaemon) || ctx.Err() != nil {
		return "", "", pullErr
	}
	if explicit {
		return "", "", fmt.Errorf("image %s is not present and cannot be pulled (%v): load it, or run \"smol image\" and build with --image %s", ref, pullErr, own)
	}
	fmt.Fprintf(log, "smol: cannot pull %s; making %s from the go%s toolchain (see \"smol image\")\n", ref, own, goVersion)
	info, err := builderimage.Make(ctx, c.Bin, builderimage.Spec{GoVersion: goVersion, Tag: own, Arch: runtime.GOARCH}, log)
	if err != nil {
		return "", "", fmt.Errorf("no builder image: %s cannot be pulled and making %s failed: %w", ref, own, err)
	}
	fmt.Fprintf(log, "smol: made %s %s\n", own, engine.ShortID(info.ID))
	return own, info.ID, nil
}
