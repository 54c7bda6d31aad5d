package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// Container runs steps with `docker run` or `podman run`. It drives the CLI
// rather than the API so that DOCKER_HOST, contexts, podman machines and
// rootless setups behave exactly as they do for the user's own commands.
type Container struct {
	Kind  string      // "docker" or "podman"
	Bin   string      // path of the CLI
	Image string      // image reference or ID to run
	Host  plan.Layout // host directories, mounted at plan.ContainerLayout
	UID   int         // the container runs as UID:GID so outputs belong to the caller
	GID   int
	// Prefix starts container names (smol-<pid>) so that a cancelled build
	// can find and remove its container.
	Prefix string
	// DepsNetwork is the --network of the dependency step: "" for the
	// engine's default (bridge), or e.g. "host" where the bridge cannot
	// reach the module proxy.
	DepsNetwork string
	// CABundle, when set, is a host file of CA certificates mounted over
	// the image's own for steps with network access, so the dependency step
	// trusts what the host trusts (a company proxy that re-signs TLS, say).
	// It cannot change what is built: go.sum pins every module's bytes.
	CABundle string
	// NoFile is the caller's open-file limit as "soft:hard", passed to
	// podman (see Command); NoFileLimit computes it.
	NoFile string
	// Rootless is set for podman run by a user other than root.
	Rootless bool
	// GOROOTVolume, when set, is the GOROOT volume of Image (an image ID),
	// filled by FillGOROOT: every container mounts it read-only over
	// GOROOTDir (see goroot.go).
	GOROOTVolume string
	// FindGOROOT, when set, is called once, before the first container of
	// Run or RunAll starts, and its result becomes GOROOTVolume: finding or
	// filling the volume costs CLI calls that a build found up to date
	// never needs.
	FindGOROOT func(context.Context) string
	gorootOnce sync.Once
	// Warm lets compile steps run in a warm builder container (warm.go)
	// instead of a fresh one. Leave it off where a fresh container must be
	// shown to give the bytes: smol verify and reproducibility checks.
	Warm bool
	// warmMu guards warmReady: the dependency steps and the std steps
	// beside them both start the warm container early (warmUp).
	warmMu sync.Mutex
	// warmReady, when not nil, is closed once a warm container started
	// early (warmUp) is up or has failed to start.
	warmReady chan struct{}
	// warmEarly says the early start did start a container; it is set
	// before warmReady is closed.
	warmEarly bool
	// Labels are KEY=VALUE container labels, each passed as --label: they
	// say which smol process a container belongs to.
	Labels []string
	// runner is the one host build of the runner (see StartRunner).
	runner hostBuild
}

// NoFileLimit returns the process's RLIMIT_NOFILE as "soft:hard".
func NoFileLimit() string {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return "1024:4096"
	}
	return fmt.Sprintf("%d:%d", rl.Cur, rl.Max)
}

// HostCABundle is the Debian/Ubuntu/Alpine path of the system CA bundle,
// which is also the first file Go's crypto/x509 reads on Linux.
const HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// Name implements Executor.
func (c *Container) Name() string { return c.Kind }

// Layout implements Executor.
func (c *Container) Layout() plan.Layout { return plan.ContainerLayout }

// ContainerName is the name the container of step s runs under.
func (c *Container) ContainerName(s plan.Step) string {
	slug := strings.NewReplacer(" ", "-", "/", "-").Replace(s.Name)
	return c.Prefix + "-" + slug
}

// Command implements Executor.
func (c *Container) Command(s plan.Step) []string {
	return c.command(s, c.mounts(s))
}

// mounts are the -v options that give step s its directories: the caller's,
// bind-mounted.
func (c *Container) mounts(s plan.Step) []string {
	in := plan.ContainerLayout
	argv := []string{"-v", c.Host.Src + ":" + in.Src + ":ro"}
	if s.Network && c.CABundle != "" {
		argv = append(argv, "-v", c.CABundle+":"+HostCABundle+":ro")
	}
	if s.OutDir != "" {
		argv = append(argv, "-v", c.Host.Out+":"+in.Out)
	}
	return append(argv,
		"-v", c.Host.GoCache+":"+in.GoCache,
		"-v", c.Host.ModCache+":"+in.ModCache,
		"-v", c.Host.Home+":"+in.Home,
	)
}

// tmpfs puts the container's /tmp in memory. The go command keeps its work
// directory there (objects before they reach the build cache, test
// binaries, which run from it: hence exec); in the image's own file system
// that is the engine's storage driver, slow with fuse-overlayfs (a cold
// build of the server took 18 s against 16 s with this, and 15 s on the
// host). What is built does not change: -trimpath keeps the work
// directory's path out of every output.
var tmpfs = []string{"--tmpfs", "/tmp:rw,exec"}

// command is the run line of step s with mounts as its directories.
func (c *Container) command(s plan.Step, mounts []string) []string {
	argv := []string{c.Bin, "run", "--rm", "--name", c.ContainerName(s),
		"--user", fmt.Sprintf("%d:%d", c.UID, c.GID),
		// The image was resolved (and made if need be) before the build;
		// a pull in the middle of it would change what is being built.
		"--pull=never",
	}
	for _, l := range c.Labels {
		argv = append(argv, "--label", l)
	}
	argv = append(argv, c.podmanOptions()...)
	if s.Interactive {
		argv = append(argv, "--interactive")
		if isTerminal(os.Stdin) {
			argv = append(argv, "--tty")
		}
	}
	switch {
	case !s.Network:
		argv = append(argv, "--network=none")
	case c.DepsNetwork != "":
		argv = append(argv, "--network="+c.DepsNetwork)
	}
	argv = append(argv, tmpfs...)
	argv = append(argv, c.gorootArgs()...)
	argv = append(argv, mounts...)
	argv = append(argv, "-w", s.Dir)
	for _, kv := range s.Env {
		argv = append(argv, "-e", kv)
	}
	argv = append(argv, c.Image)
	return append(argv, s.Args...)
}

// Run implements Executor.
func (c *Container) Run(ctx context.Context, s plan.Step, stdout, stderr io.Writer) error {
	c.findGOROOT(ctx)
	if err := c.checkMounts(); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return c.runCLI(ctx, c.Command(s), c.ContainerName(s), stdinFor(s), stdout, stderr)
}

// runCLI runs argv, an engine command that runs container name, and
// explains a failure to reach the daemon. Cancelled, the container is
// interrupted, then removed.
func (c *Container) runCLI(ctx context.Context, argv []string, name string, stdin io.Reader, stdout, stderr io.Writer) error {
	var errBuf bytes.Buffer
	err := proc{
		argv: argv, env: os.Environ(), stdin: stdin,
		stdout: stdout, stderr: io.MultiWriter(stderr, &errBuf),
		cleanup: func() { c.remove(name) },
	}.run(ctx)
	if err != nil && ctx.Err() == nil {
		if daemonErr := explainDaemon(c.Kind, errBuf.String()); daemonErr != nil {
			return daemonErr
		}
	}
	return err
}

// remove force-removes a container left by a cancelled step. It uses a fresh
// context: the build's own is already cancelled.
func (c *Container) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, c.Bin, "rm", "--force", name).Run()
}

// ErrDaemon means the engine's CLI could not reach its daemon or service.
var ErrDaemon = errors.New("container engine not reachable")

// explainDaemon turns the CLI's complaint about a missing daemon into one
// line that says what to do, or returns nil for any other failure.
func explainDaemon(kind, stderr string) error {
	for _, sign := range []string{
		"Cannot connect to the Docker daemon",
		"Is the docker daemon running",
		"error during connect",
		"Cannot connect to Podman",
		"unable to connect to Podman socket",
	} {
		if strings.Contains(stderr, sign) {
			hint := "start it (sudo systemctl start docker) or point DOCKER_HOST at a running one"
			if kind == "podman" {
				hint = "start it (podman machine start, or systemctl --user start podman.socket)"
			}
			return fmt.Errorf("%w: %s: %s", ErrDaemon, kind, hint)
		}
	}
	return nil
}

// ShortID is image ID id as docker images shows it: 12 hex digits.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(len(id), 12)]
}

// ImageID returns the ID of ref in the engine's local store, or "" when the
// store does not hold it.
func (c *Container) ImageID(ctx context.Context, ref string) (string, error) {
	out, stderr, err := c.inspectIDs(ctx, ref)
	if err != nil {
		if errors.Is(err, ErrDaemon) {
			return "", err
		}
		if notFound(stderr) {
			return "", nil
		}
		return "", fmt.Errorf("%s image inspect %s: %v: %s", c.Kind, ref, err, strings.TrimSpace(stderr))
	}
	return strings.TrimSpace(out), nil
}

// inspectIDs runs the engine's image inspect of refs, printing their IDs,
// and returns what it wrote to its standard output and error. err is the
// run's error, or ErrDaemon's explanation when the engine says its daemon
// is not there.
func (c *Container) inspectIDs(ctx context.Context, refs ...string) (stdout, stderr string, err error) {
	var out, errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Bin, append([]string{"image", "inspect", "--format", "{{.Id}}"}, refs...)...)
	cmd.Stdout, cmd.Stderr = &out, &errBuf
	if err = cmd.Run(); err != nil {
		if d := explainDaemon(c.Kind, errBuf.String()); d != nil {
			err = d
		}
	}
	return out.String(), errBuf.String(), err
}

// ImageIDs is ImageID for several references in one CLI call (each call
// costs the CLI's start-up, tens of milliseconds of CPU): the ID of each
// reference, in order, "" for those the store does not hold. The inspect
// prints the IDs of the images it finds in the order asked and names each
// missing one on stderr. When that does not account for every reference
// (an engine that words it otherwise, or another error), each is asked
// alone, so the answer is never a guess.
func (c *Container) ImageIDs(ctx context.Context, refs ...string) ([]string, error) {
	ids := make([]string, len(refs))
	if len(refs) > 1 {
		out, stderr, err := c.inspectIDs(ctx, refs...)
		if errors.Is(err, ErrDaemon) {
			return nil, err
		}
		found := strings.Fields(out)
		missing := missingImages(stderr, refs)
		if (err == nil) == (len(missing) == 0) && len(found)+len(missing) == len(refs) {
			for i, ref := range refs {
				if !missing[ref] {
					ids[i], found = found[0], found[1:]
				}
			}
			return ids, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for i, ref := range refs {
		id, err := c.ImageID(ctx, ref)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// notFound reports whether an engine's error output says an image or
// object it was asked about does not exist: docker says "No such image" or
// "No such object", podman "image not known".
func notFound(stderr string) bool {
	msg := strings.ToLower(stderr)
	return strings.Contains(msg, "no such image") || strings.Contains(msg, "image not known") || strings.Contains(msg, "no such object")
}

// missingImages returns the references among refs that a line of an image
// inspect's error output names as not found: "Error response from daemon:
// No such image: REF" (docker), "Error: REF: image not known" (podman).
// A reference counts only where it stands as a word of its own, so that
// golang:1.26 is not found in a line about golang:1.26.8.
func missingImages(stderr string, refs []string) map[string]bool {
	missing := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		if !notFound(line) {
			continue
		}
		for _, ref := range refs {
			if namesWord(line, ref) {
				missing[ref] = true
			}
		}
	}
	return missing
}

// namesWord reports whether word occurs in line between separators: the
// line's ends, spaces, quotes, or a colon after it.
func namesWord(line, word string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		before := start == 0 || strings.ContainsRune(" \"'", rune(line[start-1]))
		after := end == len(line) || strings.ContainsRune(" \"':\r", rune(line[end]))
		if before && after {
			return true
		}
		i = start + 1
	}
}

// Pull pulls ref. Its output goes to stderr so a person sees progress.
func (c *Container) Pull(ctx context.Context, ref string, stderr io.Writer) error {
	var errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Bin, "pull", ref)
	cmd.Stdout, cmd.Stderr = stderr, io.MultiWriter(stderr, &errBuf)
	if err := cmd.Run(); err != nil {
		if d := explainDaemon(c.Kind, errBuf.String()); d != nil {
			return d
		}
		return fmt.Errorf("%s pull %s: %v", c.Kind, ref, err)
	}
	return nil
}

// ExplainDaemon turns the CLI's complaint about a missing daemon, in msg,
// into an error that says what to do, or returns nil.
func ExplainDaemon(kind, msg string) error { return explainDaemon(kind, msg) }

// podmanOptions are the options every container podman runs for smol
// needs; none for docker.
func (c *Container) podmanOptions() []string {
	if c.Kind != "podman" {
		return nil
	}
	// Podman asks the runtime for its own default rlimits, which a
	// sandboxed or locked-down host may not grant ("error setting rlimit
	// type 7"). The caller's own open-file limit always fits, and a go
	// build needs nowhere near 4096 processes.
	opts := []string{"--ulimit", "nofile=" + c.NoFile, "--ulimit", "nproc=4096:4096"}
	if c.Rootless {
		// Rootless podman maps the caller to root in the container;
		// keep-id maps it to itself, so --user and file ownership mean
		// the same as with docker.
		opts = append(opts, "--userns=keep-id")
	}
	return opts
}

// removeWithVolumes removes container name and its anonymous volumes.
func (c *Container) removeWithVolumes(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, c.Bin, "rm", "--force", "--volumes", name).Run()
}
