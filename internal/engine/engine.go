// Package engine runs the steps of a build plan: in a container through the
// docker or podman CLI, with the caller's directories bind-mounted
// (Container) or, for a daemon that cannot see them, sent and fetched as tar
// streams with the caches in volumes (Copy); or with a local Go toolchain
// (Native). All of them run the same plan.Step values; only the way a step
// reaches its directories and its go command differs.
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
	"syscall"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// Executor runs plan steps.
type Executor interface {
	// Name is "docker", "podman" or "native".
	Name() string
	// Layout is where a step run by this executor sees its directories;
	// steps must be planned with it.
	Layout() plan.Layout
	// Command is the exact command line that runs s, for --dry-run and logs.
	Command(s plan.Step) []string
	// Run runs s, streaming the go command's output to stdout and stderr.
	// When ctx is cancelled the step is stopped and leaves nothing running.
	Run(ctx context.Context, s plan.Step, stdout, stderr io.Writer) error
	// Commands is what RunAll runs for steps, for --dry-run.
	Commands(steps []plan.Step) []Line
	// RunAll runs steps that are independent of one another (the builds
	// of several platforms) at the same time, at most Jobs(len(steps)) at
	// once, and returns how each ended, in order. When more than one step
	// runs, every line of output is prefixed with the name of the step
	// that wrote it. When ctx is cancelled every step is stopped.
	RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []Result
}

// Kinds are the engine names --engine accepts.
var Kinds = []string{"docker", "podman", "native"}

// ErrNoEngine means neither docker nor podman was found.
var ErrNoEngine = errors.New("no container engine found")

// Find resolves the engine to use: name when given (from --engine or
// SMOL_ENGINE), else docker, else podman, whichever is first on PATH. It
// returns the kind and, for container engines, the path of its CLI.
func Find(name string) (kind, bin string, err error) {
	switch name {
	case "native":
		return "native", "", nil
	case "docker", "podman":
		bin, err := exec.LookPath(name)
		if err != nil {
			return "", "", fmt.Errorf("engine %s: %s is not on PATH: install it, or choose another with --engine (docker, podman, native)", name, name)
		}
		return name, bin, nil
	case "":
		for _, k := range []string{"docker", "podman"} {
			if bin, err := exec.LookPath(k); err == nil {
				return k, bin, nil
			}
		}
		return "", "", fmt.Errorf("%w: install Docker or Podman, or run inside the pinned golang image with --engine native", ErrNoEngine)
	default:
		return "", "", fmt.Errorf("unknown engine %q: use docker, podman or native", name)
	}
}

// Quote returns args as one line a POSIX shell reads back as the same words.
func Quote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteWord(a))
	}
	return b.String()
}

func quoteWord(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	// Inside single quotes nothing is special but the quote itself, which is
	// written as '\'' (close, escaped quote, reopen).
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stdinFor is the standard input of step s: the caller's for an interactive
// step, none otherwise.
func stdinFor(s plan.Step) io.Reader {
	if s.Interactive {
		return os.Stdin
	}
	return nil
}

// proc is a process an executor starts for a step, and how it is stopped
// when the build is cancelled.
type proc struct {
	argv, env []string
	dir       string
	// cred, when not nil, is the user the process runs as.
	cred *syscall.Credential
	// stdin is its standard input (nil for none).
	stdin          io.Reader
	stdout, stderr io.Writer
	// group starts the process in a process group of its own and
	// interrupts the whole group, as Ctrl-C in a terminal does, so that
	// the compiles and links a go command started end with it (go build
	// exits at once on an interrupt and leaves them running). Not for a
	// process that reads the terminal: out of the terminal's foreground
	// group, it would be stopped by SIGTTIN.
	group bool
	// stop, when not nil, is called on cancel before the interrupt.
	stop func()
	// cleanup, when not nil, is called after a cancelled run to make sure
	// nothing is left behind.
	cleanup func()
}

// run starts p and waits for it. On cancel it calls p.stop, interrupts the
// process (its group, with p.group), kills it if it has not ended 10s later
// and returns ctx's error once p.cleanup is done.
func (p proc) run(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: p.group}
	cmd.Stdin = p.stdin
	cmd.Env = p.env
	cmd.Dir = p.dir
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	// On cancel, interrupt before killing: a go command that handles the
	// interrupt (go test, go run) stops its children itself, the runner
	// stops its jobs, and the docker CLI forwards the interrupt to the
	// container.
	cmd.Cancel = func() error {
		if p.stop != nil {
			p.stop()
		}
		if p.group {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		}
		return cmd.Process.Signal(os.Interrupt)
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		if p.cleanup != nil {
			p.cleanup()
		}
		return ctx.Err()
	}
	return err
}

// Output runs cmd and returns its standard output. Its standard error goes
// to stderr, when not nil, and into the error, which names the command and
// ends with what it printed (its standard output when its standard error is
// empty), so that a failed engine or go command says why in one line.
func Output(cmd *exec.Cmd, stderr io.Writer) ([]byte, error) {
	var stdout, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &errBuf
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(&errBuf, stderr)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errBuf.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return stdout.Bytes(), nil
}
