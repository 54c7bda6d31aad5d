package build

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/owner"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// OwnerLabel is the label, on every container a build starts, whose value
// names the smol process that started it (see package owner).
const OwnerLabel = "smol.owner"

// ownerFile, in a scratch directory, names the smol process that made it.
const ownerFile = ".owner"

// scratchPrefix starts the names of scratch directories in an output
// directory: .smol-PID.
const scratchPrefix = ".smol-"

// markOwner makes what Run creates recognisable as this process's: the
// containers x starts carry OwnerLabel, and scratch holds ownerFile. Where
// the process cannot name itself (no /proc), nothing is marked and Sweep
// will never remove it.
func markOwner(x engine.Executor, scratch string) error {
	id, err := owner.Self()
	if err != nil {
		return nil
	}
	if c, ok := engine.ContainerOf(x); ok {
		label := OwnerLabel + "=" + id.String()
		if !containsPrefix(c.Labels, OwnerLabel+"=") {
			c.Labels = append(c.Labels, label)
		}
	}
	return os.WriteFile(filepath.Join(scratch, ownerFile), []byte(id.String()+"\n"), 0o644)
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// Sweep removes what smol processes that have gone left behind, saying so
// in one line each: scratch directories in p.OutDir and, with a container
// engine, containers (a smol killed with SIGKILL cannot stop its container,
// whose compile runs on) and, in copy mode, the volumes of their runs.
// Only what names its owner (see markOwner), and an owner that has
// certainly exited on this host, is touched: the work of a
// running smol, of a smol on another host or in another pid namespace
// sharing the daemon or the directory, and anything unmarked are left
// alone. Sweep never fails a build: what it cannot list or remove it leaves
// for the next run.
func Sweep(ctx context.Context, p plan.Plan, x engine.Executor, log io.Writer) {
	sweepScratch(p, log)
	if c, ok := engine.ContainerOf(x); ok {
		sweepContainers(ctx, c, log)
		if _, copying := x.(*engine.Copy); copying {
			sweepVolumes(ctx, c, log)
		}
	}
}

func sweepScratch(p plan.Plan, log io.Writer) {
	entries, err := os.ReadDir(p.OutDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), scratchPrefix) {
			continue
		}
		dir := filepath.Join(p.OutDir, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		id, err := owner.Parse(string(b))
		if err != nil || owner.Check(id) != owner.Gone {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(log, "smol: cannot remove %s, left by smol process %d, which has gone: %v\n", relTo(p, dir), id.PID, err)
			continue
		}
		fmt.Fprintf(log, "smol: removed %s, the scratch directory of smol process %d, which has gone\n", relTo(p, dir), id.PID)
	}
}

func sweepContainers(ctx context.Context, c *engine.Container, log io.Writer) {
	label := `{{.Label "` + OwnerLabel + `"}}`
	if c.Kind == "podman" {
		label = `{{index .Labels "` + OwnerLabel + `"}}`
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Bin, "ps", "--all", "--filter", "label="+OwnerLabel, "--format", "{{.ID}}\t{{.Names}}\t"+label)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		// A daemon that does not answer fails the build soon with its own
		// message; this is not the place to explain it.
		return
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			continue
		}
		id, err := owner.Parse(f[2])
		if err != nil || owner.Check(id) != owner.Gone {
			continue
		}
		var errBuf bytes.Buffer
		rm := exec.CommandContext(ctx, c.Bin, "rm", "--force", f[0])
		rm.Stderr = &errBuf
		if err := rm.Run(); err != nil {
			fmt.Fprintf(log, "smol: cannot remove container %s, left by smol process %d, which has gone: %v: %s\n", f[1], id.PID, err, strings.TrimSpace(errBuf.String()))
			continue
		}
		fmt.Fprintf(log, "smol: removed container %s, left by smol process %d, which has gone\n", f[1], id.PID)
	}
}

// relTo names path relative to the module root when it is inside it.
func relTo(p plan.Plan, path string) string {
	if r, err := filepath.Rel(p.Module.Dir, path); err == nil && filepath.IsLocal(r) {
		return r
	}
	return path
}
