package setup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// Close releases what the executor made for this run on the daemon's side
// (copy mode's files container and volumes) and waits for the runner's host
// build if it is still going. It must be called when the run is over, also
// after a failure or a cancel; it does nothing for the native executor.
func (r Ready) Close() {
	switch x := r.Executor.(type) {
	case *engine.Copy:
		x.Close()
		x.C.WaitRunner()
	case *engine.Container:
		x.WaitRunner()
	}
}

// decideTransfer is chooseTransfer; tests of the image choice, whose fake
// engine has no daemon to probe, replace it.
var decideTransfer = chooseTransfer

// daemonIsLocal is transfer.Local; a test of the probe replaces it.
var daemonIsLocal = transfer.Local

// inBackground starts f and returns the function that waits for its
// result: Prepare's questions to the daemon are CLI calls that wait on it,
// and can run beside the image's look-up.
func inBackground[T any](f func() (T, error)) func() (T, error) {
	var v T
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err = f()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}

// chooseTransfer decides how the files of p reach the daemon behind x, as
// mode (transfer.Auto, Mount or Copy) asks, and returns the mode and why:
// auto takes mount for a daemon shown to run here in the caller's mount
// namespace (transfer.Local), and otherwise asks the daemon (transfer.Probe),
// once per daemon and file system: either answer is remembered under the
// cache root; mount is refused where the daemon cannot see the files; copy is
// taken as it is. daemon gives the daemon's ID (transfer.DaemonInfo).
func chooseTransfer(ctx context.Context, x *engine.Container, p plan.Plan, mode string, daemon func() (transfer.Daemon, error)) (string, string, error) {
	if mode == transfer.Copy {
		return transfer.Copy, "asked for", nil
	}
	dirs := transfer.Dirs{Module: p.Module.Dir, Cache: p.CacheDir}
	// The memo is keyed by the directories' file systems: the cache
	// directory must exist before its key is taken.
	if err := os.MkdirAll(p.CacheDir, 0o755); err != nil {
		return "", "", fmt.Errorf("cache directory: %w: choose another with --cache-dir", err)
	}
	d, err := daemon()
	if err != nil {
		if d := explainDaemonErr(x.Kind, err); d != nil {
			return "", "", d
		}
		return "", "", fmt.Errorf("transfer: %w", err)
	}
	memo := filepath.Join(filepath.Dir(p.CacheDir), "transfer")
	key := transfer.MemoKey(d.ID, transfer.MountNamespace(), dirs)
	seen, ok := transfer.Remembered(memo, key)
	why := "the daemon sees this machine's files"
	// The memo before transfer.Local: reading a file costs less than the
	// daemon's /info, which Local asks for.
	switch {
	case ok:
		why += ", remembered"
	case daemonIsLocal(ctx, x.Kind, os.Getenv, d):
		seen = transfer.Mount
		why += ": it runs here, in this mount namespace"
		transfer.Remember(memo, key, seen)
	default:
		sees, err := transfer.Probe(ctx, x.Bin, x.Image, x.Prefix+"-probe", dirs)
		if err != nil {
			return "", "", err
		}
		seen = transfer.Copy
		if sees {
			seen = transfer.Mount
		}
		transfer.Remember(memo, key, seen)
	}
	if seen == transfer.Mount {
		return transfer.Mount, why, nil
	}
	if mode == transfer.Mount {
		return "", "", fmt.Errorf("--transfer mount: %w: it does not see %s or %s as they are here (a remote DOCKER_HOST, docker:dind, or a docker context on another host), so bind mounts would give the build empty or unrelated directories: use --transfer copy (or auto, the default), which sends the source as a tar stream and keeps the caches in volumes on the daemon's side", transfer.ErrUnseen, p.Module.Dir, p.CacheDir)
	}
	return transfer.Copy, "the daemon cannot see " + p.Module.Dir, nil
}

func explainDaemonErr(kind string, err error) error {
	return engine.ExplainDaemon(kind, err.Error())
}

// copyExecutor turns x into copy mode for p.
func copyExecutor(ctx context.Context, x *engine.Container, p plan.Plan, temp bool, log io.Writer) (*engine.Copy, error) {
	files, err := source.Files(ctx, p.Module.Dir, p.OutDir)
	if err != nil {
		return nil, fmt.Errorf("copy mode: %w", err)
	}
	mtime := time.Unix(p.Source.Epoch, 0).UTC()
	if p.Source.Epoch == 0 {
		mtime = time.Unix(0, 0).UTC()
	}
	// x.Warm carries over: copy mode has warm containers of its own, which
	// mount volumes rather than the caller's directories (engine.Copy).
	return &engine.Copy{
		C:          x,
		Source:     p.Module.Dir,
		Files:      files,
		MTime:      mtime,
		GoVersion:  p.GoVersion,
		TempCaches: temp,
		Log:        log,
	}, nil
}
