package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// start serves h with h1 on loopback and returns the address; timeouts
// adjusts the net/http Server first.
func start(t *testing.T, h http.Handler, timeouts func(*http.Server)) (*Server, string, <-chan error) {
	t.Helper()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second, ErrorLog: quietLog()}
	if timeouts != nil {
		timeouts(hs)
	}
	s := &Server{HTTP: hs}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() { s.Close() })
	return s, l.Addr().String(), done
}

// client is one raw connection with a response reader.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t, c, bufio.NewReader(c)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
}

// get sends a GET and reads its response.
func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
	return c.read()
}

func (c *client) read() (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("reading a response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading a body: %v", err)
	}
	return resp, string(body)
}

// closed reports whether the server closed the connection (EOF or reset)
// within d, without sending anything more.
func (c *client) closed(d time.Duration) bool {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	n, err := c.br.Read(make([]byte, 1))
	if n > 0 {
		c.t.Fatalf("unexpected bytes from the server")
	}
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "done "+r.URL.Path)
	})
	s, addr, served := start(t, h, nil)

	idle := dial(t, addr)
	if resp, body := idle.get("/first"); resp.StatusCode != 200 || body != "done /first" {
		t.Fatalf("first request: %d %q", resp.StatusCode, body)
	}
	busy := dial(t, addr)
	busy.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
	<-entered
	between := dial(t, addr) // answered once, then the start of a next head
	if resp, _ := between.get("/first"); resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	between.send("G")
	partial := dial(t, addr) // a first head partly sent when the shutdown begins
	partial.send("GET /late HTTP/1.1\r\nHo")
	time.Sleep(50 * time.Millisecond)

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()

	if !idle.closed(2 * time.Second) {
		t.Error("an idle connection stayed open after Shutdown")
	}
	if !between.closed(2 * time.Second) {
		t.Error("a connection between requests stayed open after Shutdown (net/http closes it)")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("a new connection was accepted after Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	partial.send("st: t\r\n\r\n")
	resp, body := partial.read()
	if resp.StatusCode != 200 || body != "done /late" || !resp.Close {
		t.Errorf("partly sent request: %d %q, Connection: close %v; want 200, its body, close", resp.StatusCode, body, resp.Close)
	}

	close(release)
	resp, body = busy.read()
	if resp.StatusCode != 200 || body != "done /wait" || !resp.Close {
		t.Errorf("in-flight request: %d %q, Connection: close %v; want 200, its body, close", resp.StatusCode, body, resp.Close)
	}
	if !busy.closed(2 * time.Second) {
		t.Error("the in-flight request's connection stayed open")
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

// TestShutdownDrainsHandedOver: a connection handed to net/http is
// drained by Shutdown like the others.
func TestShutdownDrainsHandedOver(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "posted")
	})
	s, addr, _ := start(t, h, nil)
	c := dial(t, addr)
	c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if resp, body := c.read(); resp.StatusCode != 200 || body != "posted" {
		t.Errorf("handed-over request: %d %q", resp.StatusCode, body)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownTimeout: Shutdown gives up when its context ends, and Close
// then cuts the connection.
func TestShutdownTimeout(t *testing.T) {
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // until the connection goes
	})
	s, addr, _ := start(t, h, nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline", err)
	}
	s.Close()
	if !c.closed(2 * time.Second) {
		t.Error("Close left the connection open")
	}
}

func TestTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	_, addr, _ := start(t, h, func(s *http.Server) {
		s.ReadHeaderTimeout = 300 * time.Millisecond
		s.IdleTimeout = 1200 * time.Millisecond
	})

	t.Run("slowloris", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		head := "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + strings.Repeat("x", 100) + "\r\n\r\n"
		start := time.Now()
		for i := 0; i < len(head); i++ {
			if _, err := c.c.Write([]byte{head[i]}); err != nil {
				break // cut off
			}
			time.Sleep(20 * time.Millisecond)
			if time.Since(start) > 3*time.Second {
				t.Fatal("still writing a head byte by byte after 3s")
			}
		}
		if !c.closed(time.Second) {
			t.Error("a head sent a byte at a time was not cut off")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cut off after %v; the header timeout is 300ms", d)
		}
	})
	t.Run("silent", func(t *testing.T) {
		// A new connection that sends nothing has the header timeout,
		// not the idle timeout.
		t.Parallel()
		c := dial(t, addr)
		start := time.Now()
		if !c.closed(3 * time.Second) {
			t.Fatal("a connection that sent nothing outlived the header timeout")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("closed after %v; the header timeout is 300ms, the idle timeout 1.2s", d)
		}
	})
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		if resp, _ := c.get("/"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		start := time.Now()
		if !c.closed(3 * time.Second) {
			t.Fatal("an idle connection outlived the idle timeout")
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("idle connection closed after %v; the idle timeout is 1.2s", d)
		}
	})
	t.Run("keep-alive", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		for i := range 3 {
			if resp, body := c.get("/"); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
			time.Sleep(500 * time.Millisecond) // longer than the header timeout, within the idle one
		}
	})
}

// TestPanic: a handler's panic drops its connection, is logged, and the
// server goes on.
func TestPanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		io.WriteString(w, "ok")
	})
	var logged lockedBuffer
	_, addr, _ := start(t, h, func(s *http.Server) { s.ErrorLog = log.New(&logged, "", 0) })
	c := dial(t, addr)
	c.send("GET /panic HTTP/1.1\r\nHost: t\r\n\r\n")
	if !c.closed(2 * time.Second) {
		t.Fatal("the connection of a panicking handler stayed open")
	}
	if resp, body := dial(t, addr).get("/"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("after a panic: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(logged.String(), "boom") {
		t.Errorf("the panic was not logged: %q", logged.String())
	}
}

// lockedBuffer is a log destination that a test may read while the
// server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestStreams: a handler writing in small pieces reaches the client as it
// writes, not when it returns.
func TestStreams(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			w.Write(make([]byte, 4<<10)) // 32 KiB, more than any buffer here
		}
		<-release
		io.WriteString(w, "end")
	})
	_, addr, _ := start(t, h, nil)
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.br.Peek(4 << 10); err != nil {
		t.Fatalf("the start of the body did not arrive while the handler ran: %v", err)
	}
	close(release)
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, body := c.read(); resp.StatusCode != 200 || len(body) != 32<<10+3 {
		t.Errorf("status %d, %d body bytes", resp.StatusCode, len(body))
	}
}

// TestWriteErrorEndsConnection: once a response is cut short by the write
// timeout, the connection is closed, not used for the next response.
func TestWriteErrorEndsConnection(t *testing.T) {
	big := make([]byte, 64<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			w.Write(big)
			return
		}
		io.WriteString(w, "small")
	})
	_, addr, _ := start(t, h, func(s *http.Server) { s.WriteTimeout = 300 * time.Millisecond })
	c := dial(t, addr)
	c.c.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n")
	time.Sleep(time.Second) // not reading: the server's write times out
	c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if len(body) == len(big) {
		t.Skip("the whole body fitted the socket buffers: nothing timed out")
	}
	// The body is cut short; the server must then close, not go on with
	// the next response as if the first were whole.
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after %d of %d body bytes: %v; want the connection closed (unexpected EOF)", len(body), len(big), err)
	}
	if bytes.Contains(body, []byte("HTTP/1.1 200")) {
		t.Error("the next response was written into the cut body")
	}
}
