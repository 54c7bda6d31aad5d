package setup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// The fake engine of the image tests has no daemon to probe: those tests
// see mount mode, as a local daemon gives. TestChooseTransfer probes a real
// one.
func init() {
	decideTransfer = func(ctx context.Context, x *engine.Container, p plan.Plan, mode string, _ func() (transfer.Daemon, error)) (string, string, error) {
		if mode == transfer.Copy {
			return transfer.Copy, "asked for", nil
		}
		return transfer.Mount, "the fake engine's daemon sees everything", nil
	}
}

// TestChooseTransfer asks the local Docker daemon, which sees this
// machine's files: auto gives mount without a probe where transfer.Local
// shows the daemon runs here, and remembers it; through the probe, auto and mount give mount,
// copy is taken as asked, and the answer is remembered under the cache
// root.
func TestChooseTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs docker")
	}
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skipf("no Docker daemon: %v", err)
	}
	image := ""
	for _, ref := range []string{"golang:1.26.8", "smol/go:1.26.8"} {
		if exec.Command("docker", "image", "inspect", ref).Run() == nil {
			image = ref
		}
	}
	if image == "" {
		t.Skip("no builder image present")
	}
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module x\n\ngo 1.26.8\n"), 0o644)
	root := t.TempDir()
	p := plan.Plan{CacheDir: filepath.Join(root, "go1.26.8")}
	p.Module.Dir = mod
	x := &engine.Container{Kind: "docker", Bin: "docker", Image: image, Prefix: "smol-test-transfer"}
	daemon := inBackground(func() (transfer.Daemon, error) { return transfer.DaemonInfo(context.Background(), x.Bin, x.Kind) })
	d, err := daemon()
	if err != nil {
		t.Fatal(err)
	}
	if transfer.Local(context.Background(), x.Kind, os.Getenv, d) {
		got, why, err := chooseTransfer(context.Background(), x, p, transfer.Auto, daemon)
		if err != nil || got != transfer.Mount || !strings.Contains(why, "in this mount namespace") {
			t.Errorf("local daemon: %q (%s), %v; want mount, without a probe", got, why, err)
		}
		got, why, err = chooseTransfer(context.Background(), x, p, transfer.Auto, daemon)
		if err != nil || got != transfer.Mount || !strings.Contains(why, ", remembered") {
			t.Errorf("local daemon, again: %q (%s), %v; want mount, remembered", got, why, err)
		}
		os.RemoveAll(filepath.Join(root, "transfer"))
	}
	// The probe, as for a daemon that transfer.Local cannot vouch for.
	defer func(f func(context.Context, string, func(string) string, transfer.Daemon) bool) { daemonIsLocal = f }(daemonIsLocal)
	daemonIsLocal = func(context.Context, string, func(string) string, transfer.Daemon) bool { return false }
	for _, tt := range []struct{ mode, want, why string }{
		{transfer.Auto, transfer.Mount, "the daemon sees this machine's files"},
		{transfer.Auto, transfer.Mount, ", remembered"},
		{transfer.Mount, transfer.Mount, ", remembered"},
		{transfer.Copy, transfer.Copy, "asked for"},
	} {
		got, why, err := chooseTransfer(context.Background(), x, p, tt.mode, daemon)
		if err != nil || got != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("%s: %q (%s), %v; want %q (%s)", tt.mode, got, why, err, tt.want, tt.why)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "transfer")); len(entries) != 1 {
		t.Errorf("transfer memo holds %d entries, want 1", len(entries))
	}
	if entries, _ := os.ReadDir(p.CacheDir); len(entries) != 0 {
		t.Errorf("the probe left %d files in the cache directory", len(entries))
	}
}
