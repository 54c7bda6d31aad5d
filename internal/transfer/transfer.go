// Package transfer decides and carries out how a build's files reach the
// container engine's daemon: by bind mounts of the caller's directories
// (mount), or, where the daemon runs on another file system (a remote
// DOCKER_HOST, docker:dind in CI, a docker context pointing at a build
// host), as tar streams through the engine's CLI (copy).
//
// It provides the choice (Parse), the check of whether the daemon sees the
// caller's files (Probe, remembered per daemon and file system by Remember),
// and the two tar streams of copy mode: the source going in (WriteSource)
// and the outputs coming back (Extract). It runs no build; package engine
// does, with what this package decides.
package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
)

// Modes.
const (
	Auto  = "auto"  // probe the daemon, then mount or copy
	Mount = "mount" // bind-mount the caller's directories
	Copy  = "copy"  // tar streams in and out, caches in named volumes
)

// Parse checks a --transfer (SMOL_TRANSFER) value; "" is Auto.
func Parse(v string) (string, error) {
	switch v {
	case "", Auto:
		return Auto, nil
	case Mount, Copy:
		return v, nil
	}
	return "", fmt.Errorf("--transfer %q: want auto, mount or copy (env SMOL_TRANSFER)", v)
}

// ErrUnseen means the daemon does not see the caller's directories, so
// bind mounts would show it empty or unrelated directories.
var ErrUnseen = errors.New("the container engine's daemon cannot see this machine's files")

// Dirs are the directories a mount-mode build bind-mounts that Probe checks.
type Dirs struct {
	Module string // holds go.mod; read, never written
	Cache  string // a directory smol owns and may write a file in
}

// Probe reports whether the daemon behind bin (the docker or podman CLI)
// sees d as the caller does: it writes a random file in d.Cache, creates
// (never starts) a container of image with both directories bind-mounted,
// and reads the file and the module's go.mod back through the daemon with
// "cp". A daemon on another file system fails to create the container (no
// such directory) or returns other bytes. Only an answer from a working
// daemon is returned with a nil error; anything else (the daemon is down, the
// image is missing) is an error for the caller to report as it is.
func Probe(ctx context.Context, bin, image, name string, d Dirs) (sees bool, err error) {
	goMod, err := os.ReadFile(filepath.Join(d.Module, "go.mod"))
	if err != nil {
		return false, fmt.Errorf("transfer probe: %w", err)
	}
	if err := os.MkdirAll(d.Cache, 0o755); err != nil {
		return false, fmt.Errorf("transfer probe: %w", err)
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	f, err := os.CreateTemp(d.Cache, ".smol-probe-*")
	if err != nil {
		return false, fmt.Errorf("transfer probe: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(nonce); err != nil {
		f.Close()
		return false, fmt.Errorf("transfer probe: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("transfer probe: %w", err)
	}
	defer removeContainer(bin, name)
	var stderr bytes.Buffer
	create := exec.CommandContext(ctx, bin, "create", "--name", name, "--network=none", "--pull=never",
		"--mount", "type=bind,source="+d.Module+",target=/smol-probe/src,readonly",
		"--mount", "type=bind,source="+d.Cache+",target=/smol-probe/cache,readonly",
		image)
	create.Stderr = &stderr
	if err := create.Run(); err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "bind source path does not exist") || strings.Contains(msg, "no such file or directory") {
			return false, nil
		}
		return false, fmt.Errorf("transfer probe: %s create: %v: %s", filepath.Base(bin), err, strings.TrimSpace(msg))
	}
	checks := []struct {
		path string
		want []byte
	}{
		{"/smol-probe/cache/" + filepath.Base(f.Name()), nonce},
		{"/smol-probe/src/go.mod", goMod},
	}
	// Each read is a CLI call that waits on the daemon: both at once.
	type answer struct {
		same bool
		err  error
	}
	answers := make(chan answer, len(checks))
	for _, c := range checks {
		go func() {
			got, ok, err := readOne(ctx, bin, name, c.path)
			answers <- answer{ok && bytes.Equal(got, c.want), err}
		}()
	}
	sees = true
	var firstErr error
	for range checks {
		a := <-answers
		if firstErr == nil {
			firstErr = a.err
		}
		sees = sees && a.same
	}
	if firstErr != nil {
		return false, firstErr
	}
	return sees, nil
}

// readOne reads one regular file from a container through "cp ... -",
// which streams it as a tar archive; ok is false when it is not there.
func readOne(ctx context.Context, bin, ctr, path string) (data []byte, ok bool, err error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "cp", ctr+":"+path, "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(strings.ToLower(stderr.String()), "could not find the file") || strings.Contains(stderr.String(), "no such file") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("transfer probe: %s cp: %v: %s", filepath.Base(bin), err, strings.TrimSpace(stderr.String()))
	}
	files, err := readTar(&out, 1<<20)
	if err != nil || len(files) != 1 {
		return nil, false, nil
	}
	for _, b := range files {
		return b, true, nil
	}
	return nil, false, nil
}

func removeContainer(bin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, bin, "rm", "--force", name).Run()
}

// Daemon is what DaemonInfo reports about the daemon behind a CLI.
type Daemon struct {
	// ID names the daemon for the memo of its probe: docker info's ID,
	// name and data root (two daemons of one host share the ID, which
	// comes from the host's /etc/docker, but not a data root), podman's
	// host name and socket path.
	ID string
	// Driver is the storage driver of a Docker daemon's images:
	// overlay2, fuse-overlayfs, vfs, ... ("" for podman).
	Driver string
}

// DaemonInfo asks the daemon behind bin, in one info call, for its ID and
// (Docker's) storage driver.
func DaemonInfo(ctx context.Context, bin, kind string) (Daemon, error) {
	format := "{{.ID}} {{.Name}} {{.DockerRootDir}}\t{{.Driver}}"
	if kind == "podman" {
		// Nothing of smol's asks for podman's driver.
		format = "{{.Host.Hostname}} {{.Host.RemoteSocket.Path}}"
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "info", "--format", format)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Daemon{}, fmt.Errorf("%s info: %v: %s", kind, err, strings.TrimSpace(stderr.String()))
	}
	id, driver, _ := strings.Cut(strings.TrimSpace(out.String()), "\t")
	d := Daemon{ID: strings.TrimSpace(id), Driver: strings.TrimSpace(driver)}
	if d.ID == "" {
		return Daemon{}, fmt.Errorf("%s info: the daemon has no ID", kind)
	}
	return d, nil
}

// MemoKey names a probe's answer: the daemon, the caller's mount namespace
// (a container or a private namespace sees other file systems under the
// same paths) and the file systems of the probed directories. A daemon that
// saw one checkout sees another on the same file system, so the probe runs
// once per daemon and file system, not per build.
func MemoKey(daemonID, mountNS string, d Dirs) string {
	h := sha256.New()
	fmt.Fprintf(h, "smol transfer 1\n%s\n%s\n", daemonID, mountNS)
	for _, dir := range []string{d.Module, d.Cache} {
		fmt.Fprintf(h, "%s\n", device(dir))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// device names the file system holding dir ("" when it cannot be read).
func device(dir string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return ""
	}
	return fmt.Sprintf("%d", st.Dev)
}

// MountNamespace is the caller's mount namespace ("" where there is no
// /proc).
func MountNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/mnt")
	return ns
}

// Remembered returns the mode a probe chose for key, kept under dir, and
// whether there is one.
func Remembered(dir, key string) (mode string, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		return "", false
	}
	switch m := strings.TrimSpace(string(b)); m {
	case Mount, Copy:
		return m, true
	}
	return "", false
}

// Remember keeps mode as the answer for key under dir. Failing to keep it
// costs only another probe next time, so the error is for the log.
func Remember(dir, key, mode string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, key), []byte(mode+"\n"), 0o644)
}
