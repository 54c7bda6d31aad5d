package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// Copy mode has warm builder containers too (see warm.go for mount mode).
// Where the daemon cannot see the caller's files, a fresh container per
// build costs more than in mount mode: besides the container start, the run
// volumes, the container that streams through them, and their removal. A
// warm copy-mode container mounts the cache volumes and an anonymous volume
// of its own at warmCopyRoot, which holds the runner (sent when the
// container is made) and one directory per build under builds/: each build
// runs its compile with one exec, whose standard input carries the source
// in first (a cp of its own would cost about as much as the exec), and
// fetches its outputs with one cp. The runner compiles every build's source
// in one place, builds/src, one build at a time (the go command's cache
// knows the directory), removes the directories of earlier builds (its
// -build option), and the anonymous volume goes with the container.
//
// The source is not a read-only mount here: a cp into a running container
// cannot write where it is mounted read-only. It arrives owned by the
// build's user with every write bit cleared instead, so the build cannot
// change it by accident, and the runner, as that user, can remove it later.
// Like mount mode's warm containers, these have no network, run the same
// image, user, caches and environment as a fresh container, and serve smol
// build's compile steps only; the outputs are the same bytes (cmd/smol's
// copy-mode test checks them against mount mode's).
//
// A build whose dependency step has sent the source to this run's volumes
// already runs its compile steps in fresh containers on those volumes:
// sending the source twice would cost more than the container start saved.

// warmCopyRoot is where a warm copy-mode container keeps its runner and the
// builds' directories.
const warmCopyRoot = "/smol"

// warmCopyStart is the command that makes the warm copy-mode container, less
// its name: what warmCopyName hashes. It is created, not run, so that the
// runner can be copied in before it starts.
func (c *Copy) warmCopyStart() []string {
	x := c.C
	in := plan.ContainerLayout
	v := c.caches()
	// No --user: its first process, which only waits, runs as the image's
	// user; builds run as the caller by exec --user. With a user set,
	// docker cp --archive gives everything it copies in to that user,
	// looked up by name on the daemon's host, rather than keeping the
	// stream's owners.
	argv := []string{x.Bin, "create", "--rm",
		"--label", WarmLabel + "=1",
		"--pull=never", "--network=none",
	}
	argv = append(argv, tmpfs...)
	argv = append(argv, x.podmanOptions()...)
	argv = append(argv,
		"-v", v[0]+":"+in.GoCache,
		"-v", v[1]+":"+in.ModCache,
		"-v", v[2]+":"+in.Home,
		"-v", warmCopyRoot,
	)
	return append(argv, x.Image, path.Join(warmCopyRoot, "runner"), "-idle", strconv.Itoa(int(WarmIdle/time.Second)))
}

// warmCopyName is the name of the warm copy-mode container for c's setup
// and this smol's runner (its source's digest, as in runnerDir), so that a
// container holding another smol's runner is never used.
func (c *Copy) warmCopyName() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n%s\n", c.warmCopyStart(), path.Base(runnerDir(plan.ContainerLayout, path.Join)))
	return "smol-warm-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// warmCopyCreateCommand is warmCopyStart with the container's name.
func (c *Copy) warmCopyCreateCommand() []string {
	argv := c.warmCopyStart()
	return append(argv[:3:3], append([]string{"--name", c.warmCopyName()}, argv[3:]...)...)
}

// warmCopyUsable reports whether steps may run in the warm copy-mode
// container: compile steps of a build that asked for warm containers and
// has not sent its source to this run's volumes, once the runner is built
// on this host (it is sent from here).
func (c *Copy) warmCopyUsable(ctx context.Context, steps []plan.Step) bool {
	return c.warmCopySteps(steps) && c.C.hostRunner(ctx)
}

// warmCopySteps is warmCopyUsable less the runner.
func (c *Copy) warmCopySteps(steps []plan.Step) bool {
	if !c.C.warmSteps(steps) || c.sent.Load() {
		return false
	}
	for _, s := range steps {
		if s.OutDir == "" {
			return false
		}
	}
	return true
}

// buildDir is this build's directory in the warm copy-mode container: named
// by when it was sent, which the runner reads (see its -build).
func (c *Copy) buildDir(now time.Time) string {
	return path.Join(warmCopyRoot, "builds", strconv.FormatInt(now.Unix(), 10)+"-"+c.prefix())
}

// warmCopyExecCommand is the exec line that runs steps in the warm
// copy-mode container, in build directory dir.
func (c *Copy) warmCopyExecCommand(steps []plan.Step, dir string) []string {
	in := plan.ContainerLayout
	// The runner moves dir/src to src beside dir for the jobs (its -build).
	moved := relocate(relocate(steps, in.Src, path.Join(path.Dir(dir), "src")), in.Out, path.Join(dir, "out"))
	g := c.C.group(moved)
	argv := []string{c.C.Bin, "exec", "--interactive", "--user", fmt.Sprintf("%d:%d", c.C.UID, c.C.GID), "-w", warmCopyRoot}
	for _, kv := range g.Env {
		argv = append(argv, "-e", kv)
	}
	argv = append(argv, c.warmCopyName(), path.Join(warmCopyRoot, "runner"), "-warm", "-build", dir)
	// g.Args is the runner's path and the jobs: the runner is built.
	return append(argv, g.Args[1:]...)
}

// warmCopyCommands is what --dry-run prints for steps run in the warm
// copy-mode container.
func (c *Copy) warmCopyCommands(steps []plan.Step) []Line {
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	dir := c.buildDir(time.Now())
	name := c.warmCopyName()
	return []Line{
		{Comment: "unless it is running already: the warm copy-mode builder container, started once the runner (" + runnerBin() + ") is copied into it: " + c.C.Bin + " cp -a - " + name + ":" + warmCopyRoot + "; " + c.C.Bin + " start " + name + " (it exits after " + WarmIdle.String() + " without a build; SMOL_WARM=0 or --warm=false: none)", Argv: c.warmCopyCreateCommand()},
		{Comment: strings.Join(names, ", ") + " (in the warm copy-mode builder container; the source goes in first as a tar stream on its standard input, and the outputs come back after: " + c.C.Bin + " cp " + name + ":" + dir + "/out -)", Argv: c.warmCopyExecCommand(steps, dir)},
	}
}

// runWarmCopy runs steps in the warm copy-mode container, making it when it
// is not running. ok is false when it could not, having built nothing: the
// caller then runs the steps in fresh containers.
func (c *Copy) runWarmCopy(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) (res []Result, ok bool) {
	stdout, stderr, flush := unlabelled(steps, stdout, stderr)
	defer flush()
	dir := c.buildDir(time.Now())
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			if !c.startWarmCopy(ctx) {
				return nil, false
			}
			fmt.Fprintf(stderr, "smol: started warm copy-mode builder container %s for the next builds (it exits after %s without one; smol clean removes it)\n", c.warmCopyName(), WarmIdle)
		}
		var sent int64
		var took time.Duration
		input := func(w io.Writer) error {
			t0 := time.Now()
			n, err := c.writeSource(w)
			sent, took = n, time.Since(t0)
			return err
		}
		res, d := c.C.runRunner(ctx, c.warmCopyExecCommand(steps, dir), "", input, steps, stdout, stderr, true)
		if ctx.Err() != nil {
			return cancelled(steps, ctx.Err()), true
		}
		if len(d.results) == 0 {
			if !notRunning(d.other.String()) {
				return nil, false
			}
			continue // it exited between the cp and the exec
		}
		if c.Log != nil {
			fmt.Fprintf(c.Log, "smol: %-22s %6.1fs  %d files, %s in (copy mode, warm container %s)\n", "source in", took.Seconds(), len(c.Files), sizeOf(sent), c.warmCopyName())
		}
		d.showHeld()
		for _, r := range res {
			if r.Err != nil {
				return res, true
			}
		}
		if c.reuseOutputs(d.outputs) {
			return res, true
		}
		if err := c.fetchFrom(ctx, c.warmCopyName(), dir+"/out"); err != nil {
			for i := range res {
				res[i].Err = err
			}
			return res, true
		}
		c.keepOutputs(d.outputs)
		return res, true
	}
	return nil, false
}

// cancelled is the result of steps that a cancelled ctx stopped before they
// ran.
func cancelled(steps []plan.Step, err error) []Result {
	res := make([]Result, len(steps))
	for i := range res {
		res[i].Err = err
	}
	return res
}

// writeSource writes to w what the runner's -build receives, the source as
// src and an empty out, and returns the stream's size.
func (c *Copy) writeSource(w io.Writer) (int64, error) {
	tw := transfer.NewWriter(w, c.MTime)
	if err := tw.Dir("out", c.C.UID, c.C.GID); err != nil {
		return 0, fmt.Errorf("copy mode: source: %w", err)
	}
	tw.Owner(c.C.UID, c.C.GID, true)
	err := tw.Tree("src", c.Source, c.Files)
	n, cerr := tw.Close()
	if err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("copy mode: source: %w", err)
	}
	return n, nil
}

// startWarmCopy makes the warm copy-mode container with the cache volumes,
// copies the runner into it and starts it. Another smol starting the same
// container at the same time counts as success.
func (c *Copy) startWarmCopy(ctx context.Context) bool {
	for _, v := range c.caches() {
		if c.volume(ctx, v, c.cacheLabels(), false) != nil {
			return false
		}
	}
	name := c.warmCopyName()
	create := c.warmCopyCreateCommand()
	var errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, create[0], create[1:]...)
	cmd.Stderr = &errBuf
	if err := cmd.Run(); err != nil {
		msg := strings.ToLower(errBuf.String())
		return strings.Contains(msg, "already in use") || strings.Contains(msg, "conflict")
	}
	runner, err := os.ReadFile(filepath.Join(runnerDir(c.C.Host, filepath.Join), runnerBin()))
	if err == nil {
		_, err = c.send(ctx, name+":"+warmCopyRoot, func(tw *transfer.Writer) error {
			tw.Owner(c.C.UID, c.C.GID, false)
			if err := tw.Bytes("runner", runner, 0o755); err != nil {
				return err
			}
			return tw.Dir("builds", c.C.UID, c.C.GID)
		})
	}
	if err == nil {
		_, err = Output(exec.CommandContext(ctx, c.C.Bin, "start", name), nil)
	}
	if err != nil {
		c.C.removeWithVolumes(name)
		return false
	}
	return true
}

// keptOutputs is how many fetched outputs smol keeps on the host, by digest,
// for reuseOutputs: enough for a few platforms' outputs of two builds.
const keptOutputs = 16

// output is one "smol-runner: output" line: a file the runner's jobs wrote
// under the build's out directory.
type output struct {
	name string // slash-separated, relative to out
	mode os.FileMode
	sum  string // SHA-256, hex
}

// parseOutputs reads the runner's output lines; ok is false when there are
// none or one is not what the runner writes.
func parseOutputs(lines []string) (outs []output, ok bool) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || !filepath.IsLocal(f[0]) || len(f[2]) != sha256.Size*2 {
			return nil, false
		}
		mode, err := strconv.ParseUint(f[1], 8, 32)
		if _, herr := hex.DecodeString(f[2]); err != nil || herr != nil {
			return nil, false
		}
		outs = append(outs, output{f[0], os.FileMode(mode).Perm(), f[2]})
	}
	return outs, len(outs) > 0
}

// keptDir is where smol keeps copies of fetched outputs, named by digest.
func (c *Copy) keptDir() string { return filepath.Join(c.C.Host.Home, ".smol-outputs") }

// reuseOutputs writes the outputs the runner listed into the host's output
// directory from the copies kept of outputs fetched before, and reports
// whether it had every one: a warm rebuild that changed nothing makes the
// same bytes, and fetching them costs an engine call and the bytes' trip.
// Each copy is checked against the digest the runner took of the file in
// the container; when one is missing or differs, nothing is left written
// and the caller fetches the outputs.
//
// A run with TempCaches (smol verify) fetches every output: what it checks
// should come from the rebuild alone.
func (c *Copy) reuseOutputs(lines []string) bool {
	outs, ok := parseOutputs(lines)
	if !ok || c.TempCaches {
		return false
	}
	t0 := time.Now()
	var n int64
	var written []string
	for _, o := range outs {
		dst := filepath.Join(c.C.Host.Out, filepath.FromSlash(o.name))
		size, err := copyChecked(filepath.Join(c.keptDir(), o.sum), dst, o.sum, o.mode)
		if err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			return false
		}
		written = append(written, dst)
		n += size
	}
	// A copy used now is as fresh as one fetched now: keepOutputs evicts
	// by modification time, and the outputs of an unchanged build are the
	// ones most worth keeping.
	now := time.Now()
	for _, o := range outs {
		os.Chtimes(filepath.Join(c.keptDir(), o.sum), now, now)
	}
	if c.Log != nil {
		fmt.Fprintf(c.Log, "smol: %-22s %6.1fs  0 B out (copy mode: %d outputs, %s, are the bytes of copies smol kept)\n", "outputs back", time.Since(t0).Seconds(), len(outs), sizeOf(n))
	}
	return true
}

// keepOutputs keeps a copy of each output just fetched whose bytes are
// those the runner listed, and removes the copies beyond keptOutputs that
// were fetched or used (reuseOutputs) least recently. Failing to keep one
// costs only a fetch later.
func (c *Copy) keepOutputs(lines []string) {
	outs, ok := parseOutputs(lines)
	if !ok || os.MkdirAll(c.keptDir(), 0o755) != nil {
		return
	}
	for _, o := range outs {
		kept := filepath.Join(c.keptDir(), o.sum)
		if _, err := os.Stat(kept); err == nil {
			os.Chtimes(kept, time.Now(), time.Now())
			continue
		}
		tmp := kept + ".tmp-" + strconv.Itoa(os.Getpid())
		os.Remove(tmp) // left by a smol of the same pid that died
		if _, err := copyChecked(filepath.Join(c.C.Host.Out, filepath.FromSlash(o.name)), tmp, o.sum, 0o644); err == nil {
			os.Rename(tmp, kept)
		}
		os.Remove(tmp)
	}
	entries, err := os.ReadDir(c.keptDir())
	if err != nil || len(entries) <= keptOutputs {
		return
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var all []aged
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), fi.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, a := range all[min(keptOutputs, len(all)):] {
		os.Remove(filepath.Join(c.keptDir(), a.name))
	}
}

// copyChecked copies src to a new file dst with mode and returns its size;
// when the bytes' SHA-256 is not sum, it removes dst and fails.
func copyChecked(src, dst, sum string, mode os.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
		err = fmt.Errorf("%s: not the bytes of %s", src, sum)
	}
	if err != nil {
		os.Remove(dst)
		return 0, err
	}
	return n, nil
}
