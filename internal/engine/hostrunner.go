package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-o", tmp.Name(), ".")
	cmd.Dir = dir
	cmd.Env = hostRunnerEnv(os.Environ())
	if err := cmd.Run(); err != nil {
		return false
	}
	// Renamed into place: a concurrent smol sees the whole file or none.
	return os.Chmod(tmp.Name(), 0o755) == nil && os.Rename(tmp.Name(), filepath.Join(dir, runnerBin())) == nil
}
