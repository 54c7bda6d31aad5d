package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// A warm builder container is a container that stays up between builds so
// that a build can run its compile with `docker exec` instead of starting a
// container of its own, which costs a large part of a warm one-line rebuild.
// It exists for one set of mounts: the image ID, the host directories, the
// user and the engine's options are hashed into its name
// (smol-warm-<digest>), so a build only ever finds one whose setup equals
// the container it would otherwise start, with no network, the source
// read-only and the same caches. Its first process is the runner in -idle
// mode, which exits, and with --rm takes the container with it, after
// WarmIdle without a build.
//
// Bind mounts are resolved when a container starts: a host directory removed
// and made again since then is another directory that the container does not
// see. So each build passes the device and inode of every host directory to
// the runner (-check), which refuses to run a job when any differs; smol then
// removes the container and starts a fresh one.
//
// The output directory is different for every build (.smol-PID inside the
// user's output directory), so a warm container mounts its parent and each
// build's -o is moved under it (relocateOut). The go command records neither
// the -o path nor the container, so the binaries are the same bytes as from a
// fresh container; cmd/smol's tests check that.
//
// Only smol build uses warm containers, for its steps without network: the
// compile, and the std steps beside the dependency steps, which then cost
// no container of their own. Never the dependency steps (network), smol
// verify or the reproducibility checks, which must show what a fresh
// container gives.

// WarmLabel is the label every warm builder container carries (value 1):
// smol clean removes what has it.
const WarmLabel = "smol.warm"

// WarmIdle is how long a warm container waits for a build before it exits.
const WarmIdle = 10 * time.Minute

// warmOutRoot is where a warm container sees the parent of the build's
// output directory.
const warmOutRoot = "/outs"

// warmMount is one bind mount of a warm container.
type warmMount struct {
	host, dir string
	ro        bool
}

func (c *Container) warmMounts() []warmMount {
	in := plan.ContainerLayout
	return []warmMount{
		{c.Host.Src, in.Src, true},
		{filepath.Dir(c.Host.Out), warmOutRoot, false},
		{c.Host.GoCache, in.GoCache, false},
		{c.Host.ModCache, in.ModCache, false},
		{c.Host.Home, in.Home, false},
	}
}

// warmName is the name of the warm container for c's setup: a digest of
// everything the container was started with.
func (c *Container) warmName() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", c.warmStart())
	return "smol-warm-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// warmStart is the command line that starts the warm container, less its
// name: what warmName hashes.
func (c *Container) warmStart() []string {
	argv := []string{c.Bin, "run", "--detach", "--rm",
		"--label", WarmLabel + "=1",
		"--user", fmt.Sprintf("%d:%d", c.UID, c.GID),
		"--pull=never", "--network=none",
	}
	argv = append(argv, tmpfs...)
	argv = append(argv, c.gorootArgs()...)
	argv = append(argv, c.podmanOptions()...)
	for _, m := range c.warmMounts() {
		v := m.host + ":" + m.dir
		if m.ro {
			v += ":ro"
		}
		argv = append(argv, "-v", v)
	}
	bin := path.Join(runnerDir(plan.ContainerLayout, path.Join), runnerBin())
	return append(argv, c.Image, bin, "-idle", strconv.Itoa(int(WarmIdle/time.Second)))
}

// warmStartCommand is warmStart with the container's name.
func (c *Container) warmStartCommand() []string {
	argv := c.warmStart()
	return append(argv[:4:4], append([]string{"--name", c.warmName()}, argv[4:]...)...)
}

// warmUsable reports whether steps may run in a warm container: steps
// with no network, once the runner is built.
func (c *Container) warmUsable(steps []plan.Step) bool {
	return c.warmSteps(steps) && c.runnerBuilt()
}

// warmSteps reports whether steps are ones a warm container runs: no
// network, not interactive, and warm containers allowed.
func (c *Container) warmSteps(steps []plan.Step) bool {
	if !c.Warm || len(steps) == 0 {
		return false
	}
	for _, s := range steps {
		if s.Network || s.Interactive {
			return false
		}
	}
	return true
}

// relocateOut moves the -o of each step from the container's output
// directory to the same directory seen through warmOutRoot.
func (c *Container) relocateOut(steps []plan.Step) []plan.Step {
	return relocate(steps, plan.ContainerLayout.Out, path.Join(warmOutRoot, filepath.Base(c.Host.Out)))
}

// relocate returns steps with directory from (and what is under it) moved to
// to wherever a step names it as its working directory, its output directory
// or the argument of -o. Other arguments are left alone: a warm container
// sees the same directories elsewhere, and the go command records none of
// these paths in what it builds.
func relocate(steps []plan.Step, from, to string) []plan.Step {
	move := func(p string) string {
		if p == from || strings.HasPrefix(p, from+"/") {
			return to + strings.TrimPrefix(p, from)
		}
		return p
	}
	var moved []plan.Step
	for _, s := range steps {
		args := append([]string(nil), s.Args...)
		for i := 1; i < len(args); i++ {
			if args[i-1] == "-o" {
				args[i] = move(args[i])
			}
		}
		s.Args = args
		s.Dir = move(s.Dir)
		s.OutDir = move(s.OutDir)
		moved = append(moved, s)
	}
	return moved
}

// warmChecks are the runner's -check arguments: each mount's directory in
// the container with the device and inode of its host directory now.
func (c *Container) warmChecks() ([]string, error) {
	var args []string
	for _, m := range c.warmMounts() {
		var st syscall.Stat_t
		if err := syscall.Stat(m.host, &st); err != nil {
			return nil, fmt.Errorf("warm container: %w", err)
		}
		args = append(args, "-check", fmt.Sprintf("%s=%d:%d", m.dir, uint64(st.Dev), uint64(st.Ino)))
	}
	return args, nil
}

// warmExecCommand is the docker exec line that runs steps in the warm
// container, with checks (see warmChecks) before the jobs.
func (c *Container) warmExecCommand(steps []plan.Step, checks []string) []string {
	g := c.group(c.relocateOut(steps))
	argv := []string{c.Bin, "exec", "--interactive", "--user", fmt.Sprintf("%d:%d", c.UID, c.GID), "-w", g.Dir}
	for _, kv := range g.Env {
		argv = append(argv, "-e", kv)
	}
	argv = append(argv, c.warmName(), g.Args[0], "-warm")
	argv = append(argv, checks...)
	return append(argv, g.Args[1:]...)
}

// warmCommands is what --dry-run prints for steps run in the warm container.
func (c *Container) warmCommands(steps []plan.Step) []Line {
	checks, _ := c.warmChecks()
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return []Line{
		{Comment: "unless it is running already: the warm builder container, which exits after " + WarmIdle.String() + " without a build (SMOL_WARM=0 or --warm=false: none)", Argv: c.warmStartCommand()},
		{Comment: strings.Join(names, ", ") + " (in the warm builder container)", Argv: c.warmExecCommand(steps, checks)},
	}
}

// runWarm runs steps in the warm container, starting it when it is not
// running. ok is false when it could not, having built nothing: the caller
// then runs the steps in a fresh container. Stale mounts retire the
// container and a fresh warm one is started once.
func (c *Container) runWarm(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) (res []Result, ok bool) {
	if err := c.checkMounts(); err != nil {
		return nil, false
	}
	stdout, stderr, flush := unlabelled(steps, stdout, stderr)
	defer flush()
	if ready := c.warmStarting(); ready != nil {
		<-ready
		// Said with the compile's output: std steps show none.
		if c.warmEarly && steps[0].OutDir != "" {
			c.warmEarly = false
			c.sayStarted(stderr)
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		checks, err := c.warmChecks()
		if err != nil {
			return nil, false
		}
		res, d := c.runRunner(ctx, c.warmExecCommand(steps, checks), "", nil, steps, stdout, stderr, true)
		if len(d.results) > 0 || ctx.Err() != nil {
			d.showHeld()
			return res, true
		}
		stale := d.stale
		if stale == "" && noWorkDir(d.other.String()) {
			// The runner's directory is gone from the cache the
			// container mounted: the cache was removed and made again
			// since, so the runner never started to check.
			stale = "cache directory"
		}
		if stale != "" {
			c.removeWarm()
			fmt.Fprintf(stderr, "smol: removed warm builder container %s: its %s is no longer the host directory it mounted\n", c.warmName(), stale)
		} else if !notRunning(d.other.String()) {
			return nil, false
		}
		if attempt == 0 {
			started, ok := c.startWarm(ctx)
			if !ok {
				return nil, false
			}
			if started {
				c.sayStarted(stderr)
			}
		}
	}
	return nil, false
}

// unlabelled returns the writers a runner's output for steps goes to: one
// step alone writes its output as it is (see RunAll), so the name the
// runner puts before each of its lines comes off. flush passes on a last
// line without a newline.
func unlabelled(steps []plan.Step, stdout, stderr io.Writer) (o, e io.Writer, flush func()) {
	if len(steps) != 1 {
		return stdout, stderr, func() {}
	}
	strip := []byte(steps[0].Name + ": ")
	ow := &lineWriter{w: writerFunc(func(b []byte) (int, error) { return stdout.Write(bytes.TrimPrefix(b, strip)) })}
	ew := &lineWriter{w: writerFunc(func(b []byte) (int, error) { return stderr.Write(bytes.TrimPrefix(b, strip)) })}
	return ow, ew, func() { ow.flush(); ew.flush() }
}

// startWarmEarly starts the warm container in the background (warmUp)
// while the dependency steps run, so that the compile after them does not
// wait for a container start.
func (c *Container) startWarmEarly(ctx context.Context, steps []plan.Step) {
	if len(steps) > 0 && steps[0].Network {
		c.warmUp(ctx)
	}
}

// warmUp starts the warm container in the background, once per Container,
// unless it is running already; runWarm waits for it. It does nothing
// without warm containers or with mounts they cannot have.
func (c *Container) warmUp(ctx context.Context) {
	c.warmMu.Lock()
	defer c.warmMu.Unlock()
	if !c.Warm || c.warmReady != nil || c.checkMounts() != nil {
		return
	}
	ready := make(chan struct{})
	c.warmReady = ready
	go func() {
		defer close(ready)
		// No look first: a container of that name answers the start
		// with a conflict as fast as it would answer an inspect.
		c.warmEarly, _ = c.startWarm(ctx)
	}()
}

// warmStarting is the channel of warmUp's start, nil when none began.
func (c *Container) warmStarting() <-chan struct{} {
	c.warmMu.Lock()
	defer c.warmMu.Unlock()
	return c.warmReady
}

// notRunning reports whether the engine said the exec's container is not
// there or not running.
func notRunning(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "no such container") || strings.Contains(s, "is not running") || strings.Contains(s, "no container with name")
}

// noWorkDir reports whether the engine said it could not enter the exec's
// working directory, as runc says it: "chdir to cwd (...) set in
// config.json failed: no such file or directory".
func noWorkDir(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "chdir") && strings.Contains(s, "no such file or directory")
}

// startWarm starts the warm container. started says this call started it;
// ok says it is there: one of that name (running already, or started by
// another smol at the same time) counts too.
func (c *Container) startWarm(ctx context.Context) (started, ok bool) {
	var errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, c.warmStartCommand()[0], c.warmStartCommand()[1:]...)
	cmd.Stderr = &errBuf
	if err := cmd.Run(); err != nil {
		msg := strings.ToLower(errBuf.String())
		return false, strings.Contains(msg, "already in use") || strings.Contains(msg, "conflict")
	}
	return true, true
}

func (c *Container) sayStarted(w io.Writer) {
	fmt.Fprintf(w, "smol: started warm builder container %s for the next builds (it exits after %s without one; smol clean removes it)\n", c.warmName(), WarmIdle)
}

// removeWarm removes the warm container for c's setup.
func (c *Container) removeWarm() { c.remove(c.warmName()) }

// WarmEnabled reads SMOL_WARM: anything but "0", "false", "off" or "no"
// leaves warm containers on.
func WarmEnabled(getenv func(string) string) bool {
	switch strings.ToLower(getenv("SMOL_WARM")) {
	case "0", "false", "off", "no":
		return false
	}
	return true
}
