// Package h1 serves the plain HTTP/1.1 requests that make up nearly all of
// a static site's traffic, GET and HEAD with ordinary headers, without the
// per-request cost of net/http's server, and hands every other connection
// to a net/http Server, which then owns it for its lifetime.
//
// Why: on one core, net/http's connection machinery costs about 8µs per
// request (a request context, a Request and URL and header map built
// afresh, two bufio layers, the response state machine), which is most of
// the time gohttp-smol spends on a 1 KiB file. Here a connection reuses
// one Request and one response across its requests, and a response held in
// memory leaves in one write(2) or writev(2). BENCHMARKS.md has the figures.
//
// Safety comes from refusing rather than from re-implementing: the parser
// accepts a strict subset of HTTP/1.1 (see parseHead), and a request head
// outside it, with a body, an upgrade, an expectation, an unusual method or
// version, a line that is not CRLF-terminated, a byte out of place or a
// head larger than the read buffer, is never answered here. Its connection
// is passed, with the bytes already read, to the net/http Server, which
// answers it and everything after it exactly as it would have without this
// package. The response side mirrors net/http's ResponseWriter rules
// (implicit 200, Content-Type sniffing, Content-Length for short bodies and
// chunked encoding otherwise, HEAD, bodiless statuses, Date); a
// differential test holds the two to the same answers. A handler that has
// a whole response's header ready-made (internal/site does, per file) can
// send it with the body in one step through the ResponseWriter's
// WritePrepared method, skipping the header map; a second differential
// test holds that path to the general one byte for byte.
package h1

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A Server serves HTTP/1.1 on plain TCP connections with Handler, falling
// back to HTTP for what it does not serve itself. HTTP must not be serving
// anything else: Serve serves it on a listener of handed-over connections,
// and Shutdown and Close shut it down.
//
// The timeouts and limits are HTTP's: ReadHeaderTimeout (ReadTimeout when
// zero) bounds the arrival of a request head, IdleTimeout (ReadTimeout when
// zero) a keep-alive wait, WriteTimeout each response; a head larger than
// the read buffer is handed over, so that MaxHeaderBytes is enforced there.
// An idle or write deadline is not moved for every request but only once
// it has fallen behind by 1/64 of its timeout (at most a second), so these
// two timeouts may end that much sooner than with HTTP alone, never later.
// HTTP's ConnContext, when set, gives each connection its context.
//
// What differs from serving with HTTP alone, and why it does not matter to
// gohttp-smol's handler:
//   - h1 does not watch the socket while a handler runs, and a request's
//     context is the connection's: it is not cancelled when the client goes
//     away or the request ends, only when the connection ends. Handlers
//     that answer from memory or stream a file notice a gone client by
//     their writes failing; one that waits on something else, or registers
//     work on the context per request, should not be served here. Before
//     expensive work, a handler can ask [ClientAlive], which looks.
//   - http.ResponseController's deadlines, full duplex and Hijack report
//     http.ErrNotSupported.
//   - HTTP's ConnState hook sees only handed-over connections, and its
//     ConnContext runs for them a second time, when HTTP accepts them.
//   - The Request, its Header map and the one-element value slices in it
//     belong to the connection and are reused for its next requests (a
//     value repeated verbatim is the same slice): a handler must not keep
//     them past its return, nor change a request's values in place. The
//     site handler reads them and returns.
type Server struct {
	HTTP *http.Server

	handoff  *handoffListener
	shutting atomic.Bool

	mu    sync.Mutex
	ls    map[net.Listener]struct{}
	conns map[*conn]struct{}
	wg    sync.WaitGroup // one per conn goroutine
}

// Serve accepts connections on l until l fails or the server shuts down,
// when it returns http.ErrServerClosed. Connections that are not TCP, nor
// wrap a TCP connection (an UnwrapTCP() *net.TCPConn method), go to HTTP at
// once.
func (s *Server) Serve(l net.Listener) error {
	if !s.track(l) {
		l.Close()
		return http.ErrServerClosed
	}
	defer s.untrack(l)
	base := context.Background()
	if s.HTTP.BaseContext != nil {
		base = s.HTTP.BaseContext(l)
	}

	var delay time.Duration // back-off on transient accept errors, as net/http's
	for {
		c, err := l.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			if transient(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("h1: accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		tc, ok := c.(*net.TCPConn)
		if w, wraps := c.(tcpWrapper); wraps {
			tc, ok = w.UnwrapTCP(), true
		}
		if !ok {
			if !s.handoff.give(c) {
				c.Close()
			}
			continue
		}
		cc := newConn(s, base, c, tc)
		if !s.add(cc) {
			c.Close()
			continue
		}
		go cc.serve()
	}
}

// A tcpWrapper is a connection that wraps a TCP one, such as a
// connlimit.TCPConn: h1 serves the TCP connection and closes the wrapper,
// so that what the wrapper does on Close (free a slot) still happens.
type tcpWrapper interface {
	net.Conn
	UnwrapTCP() *net.TCPConn
}

// track registers l; it reports false once the server is shutting down.
// The first listener creates the handoff listener.
func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	if s.ls == nil {
		s.ls = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
		s.handoff = newHandoffListener(l.Addr())
		go func() {
			// It ends when Shutdown or Close closes the handoff listener.
			if err := s.HTTP.Serve(s.handoff); !errors.Is(err, http.ErrServerClosed) {
				s.logf("h1: serving handed-over connections: %v", err)
			}
		}()
	}
	s.ls[l] = struct{}{}
	return true
}

// transient reports whether an accept error is worth retrying: running out
// of descriptors or memory passes, and a connection reset before it was
// accepted concerns that connection only.
func transient(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	delete(s.ls, l)
	s.mu.Unlock()
}

func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// forget stops tracking c, whose socket is handed over.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// remove forgets c; its goroutine is about to return.
func (s *Server) remove(c *conn) {
	s.forget(c)
	s.wg.Done()
}

// Shutdown stops accepting, closes the connections that have answered a
// request and wait for (or are reading) the next, gives those waiting for
// their first request up to 5 seconds, lets those in the middle of one
// finish it (with Connection: close), then shuts HTTP down with ctx, which
// drains the connections handed over to it, including those handed over
// during the drain. These are net/http's own rules for its connections.
// It returns ctx's error if ctx ends first; Close then cuts what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	// Idle connections notice the flag at once (their read is
	// interrupted); a busy one notices it once its response is sent.
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.HTTP.Shutdown(ctx)
}

// Close closes the listeners and every connection at once, then HTTP.
func (s *Server) Close() error {
	s.stop()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return s.HTTP.Close()
}

// stop sets the shutting flag, closes the listeners and interrupts the
// connections blocked reading.
func (s *Server) stop() {
	// Connections already handed over, or handed over during the drain,
	// get Connection: close on their next response, as on any Shutdown.
	s.HTTP.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutting.Store(true)
	for l := range s.ls {
		l.Close()
	}
	past := time.Unix(1, 0)
	for c := range s.conns {
		// A read deadline in the past wakes a blocked Read with a timeout;
		// conn.readHead sees the flag and decides (see there).
		c.rwc.SetReadDeadline(past)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.HTTP.ErrorLog != nil {
		s.HTTP.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// handoffListener is the net.Listener HTTP serves: it yields the
// connections this package hands over.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// give hands c to HTTP; it reports false when HTTP no longer accepts.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}
