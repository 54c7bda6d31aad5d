package engine

import (
	"context"
	"io"
	"path/filepath"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// Native runs steps with a Go toolchain on the host, for CI jobs that already
// run inside the pinned golang image and for the cross-check in smol verify.
// The environment is the step's and nothing else but PATH.
type Native struct {
	Go   string      // path of the go command
	Host plan.Layout // the directories, used as they are
	// As, when not nil, runs the go command as another user (smol verify,
	// run as root, rebuilds as a second uid). The toolchain must be
	// readable by that user.
	As *syscall.Credential
}

// Name implements Executor.
func (n *Native) Name() string { return "native" }

// Layout implements Executor.
func (n *Native) Layout() plan.Layout { return n.Host }

// Command implements Executor: `env -i` makes the printed line run with the
// same environment as Run does.
func (n *Native) Command(s plan.Step) []string {
	argv := []string{"env", "-i", "PATH=" + n.path()}
	argv = append(argv, s.Env...)
	argv = append(argv, n.Go)
	return append(argv, s.Args[1:]...)
}

// path puts the toolchain's bin directory first, so that a go command the
// go command itself starts (go vet, go generate) is the same toolchain.
func (n *Native) path() string {
	return filepath.Dir(n.Go) + ":/usr/local/bin:/usr/bin:/bin"
}

// Run implements Executor.
func (n *Native) Run(ctx context.Context, s plan.Step, stdout, stderr io.Writer) error {
	env := append([]string{"PATH=" + n.path()}, s.Env...)
	argv := append([]string{n.Go}, s.Args[1:]...)
	return proc{argv: argv, env: env, dir: s.Dir, cred: n.As, stdin: stdinFor(s), stdout: stdout, stderr: stderr, group: !s.Interactive}.run(ctx)
}
