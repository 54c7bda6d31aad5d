// Package deploytest holds what the tests of the deployment files share:
// building the real server binary, finding the tools they drive, and waiting
// for a server to answer. It is imported by tests only.
package deploytest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// NeedTool returns the path of the named program, or ends the test: with
// t.Skip normally, with t.Fatal when CI=true, because CI is where a missing
// tool must be noticed rather than silently skipped.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found on PATH (CI=true, so this is a failure, not a skip): %v", name, err)
	}
	t.Skipf("%s not found on PATH: %v", name, err)
	return ""
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory (go test runs in the package's directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Version is the version stamped into the binary Server builds.
const Version = "v0.0.0-deploytest"

// Server builds cmd/gohttp-smol once per test binary, the way smol does
// (static, trimmed, stamped with Version), and returns the path of the
// binary. Callers must not modify the file; copy it first.
func Server(t testing.TB) string {
	t.Helper()
	NeedTool(t, "go")
	root := ModuleRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "deploytest-")
		if buildErr != nil {
			return
		}
		out := filepath.Join(buildDir, "gohttp-smol_linux_"+runtime.GOARCH)
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
			"-ldflags", "-s -w -buildid= -X main.version="+Version,
			"-o", out, "./cmd/gohttp-smol")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/gohttp-smol: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "gohttp-smol_linux_"+runtime.GOARCH)
}

// Cleanup removes what Server built. Call it from TestMain after m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago, for
// programs that insist on binding the port themselves.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Get fetches url and returns the status code and body.
func Get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// WaitOK polls url until it answers 200 or the timeout passes, and returns
// the body of the 200. A process that exits meanwhile (done closed) ends the
// wait at once with its output in the failure message.
func WaitOK(t testing.TB, url string, timeout time.Duration, done <-chan struct{}, output func() string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for {
		code, body, err := Get(ctx, url)
		if err == nil && code == http.StatusOK {
			return body
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "status " + strconv.Itoa(code) + ": " + strings.TrimSpace(body)
		}
		select {
		case <-done:
			t.Fatalf("GET %s: the server exited before answering 200 (last: %s); its output:\n%s", url, last, output())
		case <-ctx.Done():
			t.Fatalf("GET %s: no 200 within %v (last: %s); server output:\n%s", url, timeout, last, output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Process is a program started by Start, stopped when the test ends.
type Process struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when the process has exited
	out  *lockedBuffer
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Start runs cmd with its output captured, and registers a cleanup that
// sends SIGTERM, waits up to 10 s, then kills.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, Done: make(chan struct{}), out: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		cmd.Wait()
		close(p.Done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.Done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.Done
		}
	})
	return p
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Epoch is the source time Dist records: 2023-11-14 22:13:20 UTC.
const Epoch = 1700000000

// Dist lays out in a temporary directory what `smol build` leaves in dist/
// for this machine's linux/GOARCH: the server binary (built by Server and
// stamped with Version), a manifest that describes it, and SHA256SUMS.
func Dist(t testing.TB) string {
	t.Helper()
	dist := t.TempDir()
	platform := "linux/" + runtime.GOARCH
	bin := filepath.Join(dist, "gohttp-smol_linux_"+runtime.GOARCH)
	data, err := os.ReadFile(Server(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, size, err := manifest.HashFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	m := manifest.Manifest{
		Schema:     manifest.Schema,
		Tool:       manifest.Tool{Name: "smol", Version: "test"},
		Engine:     "native",
		GoVersion:  runtime.Version(),
		Module:     "github.com/gohttp-smol/gohttp-smol",
		Source:     source.Info{Revision: strings.Repeat("ab", 20), Describe: Version, Epoch: Epoch},
		Packages:   []string{"./cmd/gohttp-smol"},
		Platforms:  []string{platform},
		Version:    Version,
		VersionVar: "main.version",
		Outputs: []manifest.Output{{
			Name: filepath.Base(bin), Package: "gohttp-smol", Platform: platform, Size: size, SHA256: sum,
		}},
	}
	if err := os.WriteFile(filepath.Join(dist, manifest.ManifestFile), m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, manifest.SumsFile), m.Sums(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dist
}
