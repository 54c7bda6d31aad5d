package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Local reports whether the Docker daemon behind the CLI is a process of
// this machine in the caller's own mount namespace and root: then the
// daemon resolves every path to the file the caller sees, and a bind mount
// needs no probe, which costs a container and three CLI calls in front of
// every first build with a cache directory. want is what DaemonInfo said of
// the CLI's daemon.
//
// It answers true only when it can show all of it: the CLI's endpoint (from
// DOCKER_HOST, DOCKER_CONTEXT or the CLI's configuration, read through
// getenv) is a unix socket; the daemon on that socket (its SO_PEERCRED
// process) shares the caller's mount namespace and root; and that daemon's
// /info names the daemon want names. Anything else is false, and the caller
// probes: a socket made by init for socket activation (its process is not
// the daemon's), a daemon in a namespace of its own or in another container,
// a remote host, podman.
func Local(ctx context.Context, kind string, getenv func(string) string, want Daemon) bool {
	if kind != "docker" {
		return false
	}
	sock, ok := socketPath(getenv, readCLIConfig(getenv))
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", sock)
	if err != nil {
		return false
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	pid, err := peerPID(c.(*net.UnixConn))
	if err != nil || !sameMounts(pid) {
		return false
	}
	id, err := infoID(c)
	return err == nil && id == want.ID
}

// socketPath is the unix socket the docker CLI talks to, given its
// environment and the currentContext of its config.json: DOCKER_HOST
// first, then DOCKER_CONTEXT, then the configuration, then the default
// socket. ok is false for any endpoint that is not a unix socket named
// here (tcp, ssh, a context's own endpoint, which smol does not read).
func socketPath(getenv func(string) string, configContext string) (string, bool) {
	if h := getenv("DOCKER_HOST"); h != "" {
		if p, ok := strings.CutPrefix(h, "unix://"); ok && filepath.IsAbs(p) {
			return p, true
		}
		return "", false
	}
	ctx := getenv("DOCKER_CONTEXT")
	if ctx == "" {
		ctx = configContext
	}
	if ctx != "" && ctx != "default" {
		return "", false
	}
	return "/var/run/docker.sock", true
}

// readCLIConfig returns the currentContext of the docker CLI's config.json
// (in DOCKER_CONFIG, or ~/.docker): "" when there is none. A file that
// cannot be read or parsed answers "?", which socketPath takes for a
// context of its own: the CLI would not use the default socket silently.
func readCLIConfig(getenv func(string) string) string {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "?"
		}
		dir = filepath.Join(home, ".docker")
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if os.IsNotExist(err) {
		return ""
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err != nil || json.Unmarshal(b, &cfg) != nil {
		return "?"
	}
	return cfg.CurrentContext
}

// peerPID is the process that made the listening end of c. Init (pid 1)
// does not count: with socket activation it made the socket and the daemon
// only inherited it, so its namespaces say nothing about the daemon's.
func peerPID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	// 0 is a process outside the caller's pid namespace.
	if cred.Pid <= 1 {
		return 0, fmt.Errorf("socket made by pid %d", cred.Pid)
	}
	return int(cred.Pid), nil
}

// sameMounts reports whether process pid has the caller's mount namespace
// and root directory; false when either cannot be read.
func sameMounts(pid int) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	theirs, err := os.Readlink(proc + "/ns/mnt")
	if ours := MountNamespace(); err != nil || ours == "" || theirs != ours {
		return false
	}
	var a, b syscall.Stat_t
	if syscall.Stat(proc+"/root/", &a) != nil || syscall.Stat("/", &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// infoID asks the Docker API on c for /info and returns the daemon's
// identity as DaemonInfo writes it: "ID NAME DOCKERROOTDIR". HTTP/1.0, so
// the daemon answers with a plain body and closes.
func infoID(c net.Conn) (string, error) {
	if _, err := io.WriteString(c, "GET /info HTTP/1.0\r\nHost: docker\r\n\r\n"); err != nil {
		return "", err
	}
	r := bufio.NewReader(io.LimitReader(c, 4<<20))
	tp := textproto.NewReader(r)
	status, err := tp.ReadLine()
	if err != nil {
		return "", err
	}
	if f := strings.Fields(status); len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || f[1] != "200" {
		return "", fmt.Errorf("/info: %q", status)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return "", err
	}
	if te := hdr.Get("Transfer-Encoding"); te != "" && te != "identity" {
		return "", fmt.Errorf("/info: transfer encoding %q", te)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	var info struct {
		ID, Name, DockerRootDir string
	}
	if err := json.Unmarshal(bytes.TrimSpace(body), &info); err != nil {
		return "", fmt.Errorf("/info: %w", err)
	}
	if info.ID == "" {
		return "", fmt.Errorf("/info: no ID")
	}
	return info.ID + " " + info.Name + " " + info.DockerRootDir, nil
}
