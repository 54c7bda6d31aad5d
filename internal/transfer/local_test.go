package transfer

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSocketPath(t *testing.T) {
	for _, tt := range []struct {
		name          string
		env           map[string]string
		configContext string
		want          string
		ok            bool
	}{
		{"default", nil, "", "/var/run/docker.sock", true},
		{"default context in the config", nil, "default", "/var/run/docker.sock", true},
		{"DOCKER_HOST unix", map[string]string{"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, "", "/run/user/1000/docker.sock", true},
		{"DOCKER_HOST wins over a context", map[string]string{"DOCKER_HOST": "unix:///d.sock", "DOCKER_CONTEXT": "remote"}, "remote", "/d.sock", true},
		{"DOCKER_HOST tcp", map[string]string{"DOCKER_HOST": "tcp://docker:2375"}, "", "", false},
		{"DOCKER_HOST ssh", map[string]string{"DOCKER_HOST": "ssh://builder"}, "", "", false},
		{"DOCKER_HOST relative unix path", map[string]string{"DOCKER_HOST": "unix://d.sock"}, "", "", false},
		{"DOCKER_CONTEXT", map[string]string{"DOCKER_CONTEXT": "remote"}, "", "", false},
		{"DOCKER_CONTEXT default over the config's", map[string]string{"DOCKER_CONTEXT": "default"}, "remote", "/var/run/docker.sock", true},
		{"context in the config", nil, "remote", "", false},
		{"unreadable config", nil, "?", "", false},
	} {
		got, ok := socketPath(func(k string) string { return tt.env[k] }, tt.configContext)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReadCLIConfig(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "DOCKER_CONFIG" {
			return dir
		}
		return ""
	}
	if got := readCLIConfig(env); got != "" {
		t.Errorf("no config.json: %q, want \"\"", got)
	}
	for _, tt := range []struct{ content, want string }{
		{`{"auths": {}}`, ""},
		{`{"currentContext": "builder"}`, "builder"},
		{`{"currentContext": `, "?"},
	} {
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(tt.content), 0o644)
		if got := readCLIConfig(env); got != tt.want {
			t.Errorf("config %s: %q, want %q", tt.content, got, tt.want)
		}
	}
	if got := readCLIConfig(func(string) string { return "" }); got != "?" {
		t.Errorf("no HOME and no DOCKER_CONFIG: %q, want ?", got)
	}
}

// TestLocalFakeDaemon serves /info on a unix socket from the test process
// itself, which shares the caller's mount namespace: Local is true exactly
// when the socket is the CLI's endpoint and its daemon is the one named.
func TestLocalFakeDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/info" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"ID": "abc", "Name": "host", "DockerRootDir": "/var/lib/docker"})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	env := map[string]string{"DOCKER_HOST": "unix://" + sock}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		name, kind, id string
		want           bool
	}{
		{"the daemon named", "docker", "abc host /var/lib/docker", true},
		{"another daemon", "docker", "abc host /srv/docker", false},
		{"podman", "podman", "abc host /var/lib/docker", false},
	} {
		if got := Local(context.Background(), tt.kind, getenv, Daemon{ID: tt.id}); got != tt.want {
			t.Errorf("%s: Local = %v, want %v", tt.name, got, tt.want)
		}
	}
	env["DOCKER_HOST"] = "unix://" + filepath.Join(t.TempDir(), "none.sock")
	if Local(context.Background(), "docker", getenv, Daemon{ID: "abc host /var/lib/docker"}) {
		t.Error("Local is true for a socket nobody listens on")
	}
}

// TestLocalDocker asks the real daemon: in the caller's namespace Local
// agrees with DaemonInfo; in a private mount namespace (unshare -m, where a
// tmpfs would hide files from the daemon) it is false.
func TestLocalDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs docker")
	}
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skipf("no Docker daemon: %v", err)
	}
	d, err := DaemonInfo(context.Background(), "docker", "docker")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SMOL_TEST_PRIVATE_NS") == "1" {
		if Local(context.Background(), "docker", os.Getenv, d) {
			t.Fatal("Local is true in a private mount namespace")
		}
		return
	}
	if sock, ok := socketPath(os.Getenv, readCLIConfig(os.Getenv)); ok {
		if c, err := net.Dial("unix", sock); err == nil {
			pid, err := peerPID(c.(*net.UnixConn))
			c.Close()
			if err != nil {
				t.Skipf("the daemon's socket does not name the daemon (%v): Local is false by design", err)
			}
			if !sameMounts(pid) {
				t.Skip("the daemon runs in another mount namespace: Local is false by design")
			}
		}
	}
	if !Local(context.Background(), "docker", os.Getenv, d) {
		t.Fatal("Local is false for the local daemon")
	}
	if os.Getuid() != 0 {
		t.Log("not root: no private mount namespace to check")
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Log("no unshare: no private mount namespace to check")
		return
	}
	cmd := exec.Command(unshare, "-m", "--propagation", "private", os.Args[0], "-test.run=^TestLocalDocker$")
	cmd.Env = append(os.Environ(), "SMOL_TEST_PRIVATE_NS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in a private mount namespace: %v\n%s", err, out)
	}
}
