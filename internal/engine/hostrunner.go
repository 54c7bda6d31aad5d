package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The runner is smol's own program, not part of what is built: it only
// starts go commands with the environment and arguments smol gives it, so the
// toolchain that compiles it cannot change a byte of the outputs. Compiled in
// the builder container, on a cold cache, it costs a compile of much of the
// standard library (about 10 CPU seconds). A go command on the host usually
// has that in its own build cache already, so when there is one smol
// cross-compiles the runner with it, for Linux on the container's
// architecture, and the builder never compiles it.

// hostRunnerEnv is the environment of the host go command that builds the
// runner: the caller's (its GOCACHE, GOPATH, HOME), with everything that
// would change what or how it builds set.
func hostRunnerEnv(environ []string) []string {
	set := map[string]string{
		"GOOS": "linux", "GOARCH": runtime.GOARCH, "CGO_ENABLED": "0",
		"GOFLAGS": "", "GOWORK": "off", "GOTOOLCHAIN": "local", "GOENV": "off",
		"GOEXPERIMENT": "", "GOAMD64": "", "GOARM64": "", "GOPROXY": "off",
	}
	var env []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// hostBuild is the one host build of the runner in a run: every step that
// needs the runner waits for the same build, and the build can start
// before the first step is known.
type hostBuild struct {
	mu   sync.Mutex
	done chan struct{} // nil until the build starts; closed when it ends
	ok   bool          // set before done is closed
}

// StartRunner starts building the runner on the host in the background
// when it is not built yet, so that the build overlaps what smol does
// before its first step (looking up the image, asking the daemon what it
// sees, reading the source). The steps wait for it; so does WaitRunner.
// It must only be called when the build runs as the calling user, since
// it creates the cache's home directory.
func (c *Container) StartRunner(ctx context.Context) { c.startRunner(ctx) }

func (c *Container) startRunner(ctx context.Context) <-chan struct{} {
	c.runner.mu.Lock()
	defer c.runner.mu.Unlock()
	if c.runner.done == nil {
		done := make(chan struct{})
		c.runner.done = done
		go func() {
			defer close(done)
			c.runner.ok = c.buildRunnerOnHost(ctx)
		}()
	}
	return c.runner.done
}

// WaitRunner waits for a host build of the runner that has started, so
// that no go command outlives smol with a half-written file in the cache.
// It returns at once when none has.
func (c *Container) WaitRunner() {
	c.runner.mu.Lock()
	done := c.runner.done
	c.runner.mu.Unlock()
	if done != nil {
		<-done
	}
}

// hostRunner reports whether the runner is built, building it on the host
// first if need be (once per run, however many steps ask at the same time).
func (c *Container) hostRunner(ctx context.Context) bool {
	<-c.startRunner(ctx)
	return c.runner.ok
}

// buildRunnerOnHost compiles the runner into its directory in the host
// cache with the host's go command, and reports whether the runner is built.
// No go command, or one too old for the runner (Go 1.21), is not an error:
// the builder compiles the runner instead.
func (c *Container) buildRunnerOnHost(ctx context.Context) bool {
	if c.runnerBuilt() {
		return true
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return false
	}
	cp, err := exec.LookPath("cp")
	if err != nil {
		return false
	}
	dir := runnerDir(c.Host, filepath.Join)
	if writeRunner(dir) != nil {
		return false
	}
	tmp, err := os.CreateTemp(dir, runnerBin()+".tmp-")
	if err != nil {
		return false
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	// go run rather than go build: since Go 1.24 the go command keeps what
	// go run links in its build cache, so a new smol cache directory costs
	// a cache look-up, not a link. -exec hands the executable to cp
	// instead of running it, which also suits a host that cannot run a
	// Linux binary (a Mac with podman machine).
	cmd := exec.CommandContext(ctx, goCmd, "run", "-trimpath", "-exec", cp, ".", tmp.Name())
	cmd.Dir = dir
	cmd.Env = hostRunnerEnv(os.Environ())
	if err := cmd.Run(); err != nil {
		return false
	}
	// Renamed into place: a concurrent smol sees the whole file or none.
	return os.Chmod(tmp.Name(), 0o755) == nil && os.Rename(tmp.Name(), filepath.Join(dir, runnerBin())) == nil
}
