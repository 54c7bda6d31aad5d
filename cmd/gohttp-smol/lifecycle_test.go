package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigFile writes a file of n random bytes and returns them.
func bigFile(t *testing.T, name string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	writeFile(t, name, string(b))
	return b
}

// slowDownload fetches url reading at about rate bytes a second and sends
// the outcome on the returned channel: nil when the body equals want.
func slowDownload(client *http.Client, url string, want []byte, rate int) <-chan error {
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			done <- fmt.Errorf("status %d", resp.StatusCode)
			return
		}
		var got bytes.Buffer
		chunk := make([]byte, rate/20)
		for {
			n, err := io.ReadFull(resp.Body, chunk)
			got.Write(chunk[:n])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				done <- fmt.Errorf("after %d bytes: %w", got.Len(), err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !bytes.Equal(got.Bytes(), want) {
			done <- fmt.Errorf("body of %d bytes differs from the file's %d", got.Len(), len(want))
			return
		}
		done <- nil
	}()
	return done
}

// TestGracefulShutdownUnderLoad sends SIGTERM (and SIGINT, Nomad's signal)
// while a steady load runs and a slow 10 MiB download is in flight: every
// request that reached the server must complete, the download too, and
// the exit status must be 0. Once the listener is closed new connections
// are refused, which is not a failed request: no server had it.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "small.html"), "small")
			big := bigFile(t, filepath.Join(dir, "big.bin"), 10<<20) // streamed: above --max-file-size
			p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--log-format", "off", "--shutdown-timeout", "30s", dir)

			download := slowDownload(newClient(nil), p.url("/big.bin"), big, 8<<20)
			l := startLoad(newClient(nil), 4, p.url("/small.html"), status200("small"), true)
			time.Sleep(300 * time.Millisecond)
			p.signal(sig)
			if code := p.wait(30 * time.Second); code != 0 {
				t.Errorf("exit status %d after %v, want 0", code, sig)
			}
			if err := <-download; err != nil {
				t.Errorf("download in flight at %v: %v", sig, err)
			}
			l.end(t, 10)
			for _, want := range []string{"shutting down", "msg=stopped"} {
				if !strings.Contains(p.stderr.String(), want) {
					t.Errorf("log lacks %q", want)
				}
			}
		})
	}
}

// TestShutdownTimeout checks that a drain that takes longer than
// --shutdown-timeout is cut short and reported with exit status 1.
func TestShutdownTimeout(t *testing.T) {
	dir := t.TempDir()
	big := bigFile(t, filepath.Join(dir, "big.bin"), 10<<20)
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--shutdown-timeout", "300ms", dir)
	download := slowDownload(newClient(nil), p.url("/big.bin"), big, 1<<20) // 10 s at this rate
	time.Sleep(300 * time.Millisecond)
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 1 {
		t.Errorf("exit status %d, want 1 for a drain cut short", code)
	}
	if !strings.Contains(p.stderr.String(), "requests still in flight after 300ms") {
		t.Errorf("stderr does not say why:\n%s", p.stderr.String())
	}
	if err := <-download; err == nil {
		t.Error("the download completed although its connection was closed")
	}
}

// TestReloadUnderLoad changes the content and sends SIGHUP while a steady
// load runs: no request may fail, and once the reload is logged every
// response has the new content. A reload that fails keeps the old content.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	index := filepath.Join(dir, "index.html")
	writeFile(t, index, "version one")
	writeFile(t, filepath.Join(dir, "app.html"), "app")
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--log-format", "off", "--fallback", "/app.html", "--metrics-path", "/metrics", dir)

	either := func(resp *http.Response, body []byte) string {
		if resp.StatusCode != 200 || (string(body) != "version one" && string(body) != "version two") {
			return fmt.Sprintf("%d %q", resp.StatusCode, body)
		}
		return ""
	}
	l := startLoad(newClient(nil), 4, p.url("/"), either, false)
	time.Sleep(200 * time.Millisecond)
	writeFile(t, index, "version two")
	p.signal(syscall.SIGHUP)
	p.waitLog("reload: content reloaded", 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	l.end(t, 10)
	if _, body := get(t, nil, p.url("/")); body != "version two" {
		t.Errorf("after reload: %q, want version two", body)
	}

	// The fallback file is gone: that content cannot load, so the previous
	// one stays, and the metrics count the failure.
	if err := os.Remove(filepath.Join(dir, "app.html")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, index, "version three")
	l = startLoad(newClient(nil), 2, p.url("/"), either, false)
	p.signal(syscall.SIGHUP)
	p.waitLog("reload: content not reloaded", 10*time.Second)
	l.end(t, 1)
	if _, body := get(t, nil, p.url("/")); body != "version two" {
		t.Errorf("after a failed reload: %q, want version two kept", body)
	}
	m := scrape(t, p.url("/metrics"))
	if m[`gohttp_smol_reloads_total{result="ok"}`] != 1 || m[`gohttp_smol_reloads_total{result="error"}`] != 1 {
		t.Errorf("reload counters: %v ok, %v error; want 1 and 1", m[`gohttp_smol_reloads_total{result="ok"}`], m[`gohttp_smol_reloads_total{result="error"}`])
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// notifySocket is a service manager's notification socket.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, conn: conn, msgs: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// expect waits for the next message other than WATCHDOG=1 and checks that
// it starts with want.
func (n *notifySocket) expect(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-n.msgs:
			if m == "WATCHDOG=1" {
				continue
			}
			if !strings.HasPrefix(m, want) {
				t.Fatalf("notification %q, want %q", m, want)
			}
			return m
		case <-timeout:
			t.Fatalf("no %q notification within 10s", want)
		}
	}
}

// TestSocketActivationHandoff plays systemd: the test holds the listening
// socket and passes it to a server (LISTEN_FDS), then starts a second server
// on the same socket, waits for its READY=1, and stops the first, while a
// client sends a steady stream of requests: none may fail, since the socket
// never closes. It also checks the notifications of both servers, including
// RELOADING=1 with MONOTONIC_USEC and the watchdog.
func TestSocketActivationHandoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // f keeps the socket open, as systemd does
	defer f.Close()
	addr := l.Addr().String()

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "same content")
	spawn := func(n *notifySocket, extra ...string) *proc {
		env := append([]string{"LISTEN_FDS=1", "LISTEN_FDNAMES=http", "NOTIFY_SOCKET=" + n.path}, extra...)
		p := start(t, startOpts{env: env, files: []*os.File{f}, shellPID: true},
			"--addr", "127.0.0.1:1", "--log-format", "json", dir) // --addr is ignored
		if p.addr != addr {
			t.Fatalf("server listens on %q, want the passed socket %q", p.addr, addr)
		}
		return p
	}

	n1 := newNotifySocket(t)
	p1 := spawn(n1, "WATCHDOG_USEC=200000")
	n1.expect(t, "READY=1")
	select {
	case m := <-n1.msgs:
		if m != "WATCHDOG=1" {
			t.Errorf("notification %q, want WATCHDOG=1 every 100ms", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("no watchdog ping within 5s with WATCHDOG_USEC=200000")
	}

	ld := startLoad(newClient(nil), 4, "http://"+addr+"/", status200("same content"), false)
	time.Sleep(300 * time.Millisecond)

	p1.signal(syscall.SIGHUP)
	if m := n1.expect(t, "RELOADING=1\nMONOTONIC_USEC="); len(m) < len("RELOADING=1\nMONOTONIC_USEC=1") {
		t.Errorf("RELOADING without a time: %q", m)
	}
	n1.expect(t, "READY=1")

	n2 := newNotifySocket(t)
	p2 := spawn(n2)
	n2.expect(t, "READY=1")
	time.Sleep(200 * time.Millisecond)
	p1.signal(syscall.SIGTERM)
	n1.expect(t, "STOPPING=1")
	if code := p1.wait(30 * time.Second); code != 0 {
		t.Errorf("first server exited %d", code)
	}
	served1 := strings.Count(p1.stdout.String(), `"msg":"request"`)
	time.Sleep(300 * time.Millisecond)
	ld.end(t, 50)
	served2 := strings.Count(p2.stdout.String(), `"msg":"request"`)
	t.Logf("first server answered %d requests, second %d", served1, served2)
	if served2 == 0 {
		t.Error("the second server answered nothing")
	}
	p2.signal(syscall.SIGTERM)
	n2.expect(t, "STOPPING=1")
	if code := p2.wait(30 * time.Second); code != 0 {
		t.Errorf("second server exited %d", code)
	}
}

// TestSocketActivationNamed passes a main socket and one named "metrics":
// each serves its role.
func TestSocketActivationNamed(t *testing.T) {
	var files []*os.File
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		defer f.Close()
		files = append(files, f)
		addrs = append(addrs, l.Addr().String())
	}
	p := start(t, startOpts{env: []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=metrics:web"}, files: files, shellPID: true})
	if p.addr != addrs[1] || p.metricsAddr != addrs[0] {
		t.Fatalf("main %q, metrics %q; want %q and %q", p.addr, p.metricsAddr, addrs[1], addrs[0])
	}
	if resp, _ := get(t, nil, "http://"+addrs[1]+"/"); resp.StatusCode != 200 {
		t.Errorf("main socket: %d", resp.StatusCode)
	}
	scrape(t, "http://"+addrs[0]+"/metrics")
}
