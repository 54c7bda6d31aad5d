package main

// The tests of this package drive the real binary, built once by TestMain,
// over real sockets, with real signals.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testVersion is stamped into the binary under test.
const testVersion = "v9.8.7-test"

// binary is the path of the server built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gohttp-smol-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gohttp-smol")
	// The flags smol builds with, so that the tests run what ships.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid= -X main.version="+testVersion, "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the test process's environment without anything the server
// reads, so that the developer's shell cannot change what a test sees.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GOHTTP_SMOL_"), strings.HasPrefix(k, "LISTEN_"), strings.HasPrefix(k, "WATCHDOG_"),
			k == "PORT", k == "NOTIFY_SOCKET", k == "GOMEMLIMIT", k == "GOGC":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// syncBuffer is a bytes.Buffer safe for the process's output goroutines
// and the test reading it at the same time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running server.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	err    error // of Wait, once done is closed

	addr, metricsAddr, redirectAddr string
}

// startOpts adjusts the command before it starts.
type startOpts struct {
	env   []string
	dir   string
	files []*os.File // passed as descriptors 3, 4, ...
	// shellPID makes LISTEN_PID the server's own pid, as systemd does, by
	// starting it through a shell that execs it.
	shellPID bool
	noWait   bool // do not wait for the "serving" line
}

// start runs the server with args and waits until it logs that it serves.
func start(t *testing.T, o startOpts, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	if o.shellPID {
		p.cmd = exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, binary}, args...)...)
	} else {
		p.cmd = exec.Command(binary, args...)
	}
	p.cmd.Env = cleanEnv(o.env...)
	p.cmd.Dir = o.dir
	p.cmd.ExtraFiles = o.files
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", tail(p.stdout.String()), tail(p.stderr.String()))
		}
	})
	if o.noWait {
		return p
	}
	line := p.waitLog(`msg=serving|"msg":"serving"`, 10*time.Second)
	p.addr = field(line, "addr")
	p.metricsAddr = field(line, "metrics_addr")
	p.redirectAddr = field(line, "redirect_addr")
	return p
}

func tail(s string) string {
	if len(s) > 8000 {
		return "..." + s[len(s)-8000:]
	}
	return s
}

// field returns the value of key in a log line, text or JSON.
func field(line, key string) string {
	m := regexp.MustCompile(`(?:^| )` + key + `=("[^"]*"|\S*)|"` + key + `":("[^"]*"|[^,}]*)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1]+m[2], `"`)
}

// waitLog waits until a line of the server's output (stdout or stderr)
// matches pattern, and returns it.
func (p *proc) waitLog(pattern string, timeout time.Duration) string {
	p.t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(timeout)
	for {
		for _, out := range []string{p.stdout.String(), p.stderr.String()} {
			for line := range strings.Lines(out) {
				if re.MatchString(line) {
					return strings.TrimSpace(line)
				}
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("server exited (%v) before logging %q", p.err, pattern)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server did not log %q within %v", pattern, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("server still running after %v", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// runExit runs the binary to completion and returns its exit code and
// output.
func runExit(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv(env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// writeFile writes a file atomically (temp file and rename), as a deploy
// would, creating its directory.
func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := name + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// load is a steady stream of requests from several workers, each with its
// own keep-alive connection, checking every response.
type load struct {
	ok, failed atomic.Int64
	refused    atomic.Int64 // dials refused once the server stopped accepting
	mu         sync.Mutex
	errs       []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

// check says whether a response is right; it returns "" when it is.
type check func(resp *http.Response, body []byte) string

// startLoad runs workers requesting url until stop. With allowRefused, a
// refused connection ends that worker instead of counting as a failure:
// a server that drains has closed its listener, and no request was lost.
func startLoad(client *http.Client, workers int, url string, ok check, allowRefused bool) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					if allowRefused && errors.Is(err, syscall.ECONNREFUSED) {
						l.refused.Add(1)
						return
					}
					l.fail(err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					l.fail("reading body: " + err.Error())
					continue
				}
				if msg := ok(resp, body); msg != "" {
					l.fail(msg)
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return l
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, msg)
	}
	l.mu.Unlock()
}

// end stops the workers and fails the test if any request failed or too
// few succeeded to call it a load.
func (l *load) end(t *testing.T, minOK int64) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("load: %d ok, %d failed, %d refused after close", l.ok.Load(), l.failed.Load(), l.refused.Load())
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d requests failed, first ones: %q", n, l.errs)
	}
	if l.ok.Load() < minOK {
		t.Errorf("only %d requests succeeded, want at least %d", l.ok.Load(), minOK)
	}
}

func status200(want string) check {
	return func(resp *http.Response, body []byte) string {
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("status %d", resp.StatusCode)
		}
		if want != "" && string(body) != want {
			return fmt.Sprintf("body %.40q, want %.40q", body, want)
		}
		return ""
	}
}

// newClient returns a client with its own connection pool.
func newClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:     tlsConf,
			MaxIdleConnsPerHost: 16,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			ForceAttemptHTTP2:   tlsConf != nil,
		},
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
