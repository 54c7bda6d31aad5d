package h1

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"syscall"
	"time"
)

// bufSize is the read buffer of a connection, and so the largest request
// head served here; larger ones are handed over. Browsers' heads are well
// under 2 KiB unless cookies are large.
const bufSize = 4 << 10

// conn is one TCP connection served here.
type conn struct {
	srv    *Server
	rwc    *net.TCPConn
	ctx    context.Context
	cancel context.CancelFunc
	remote string

	buf    []byte // buf[:n] read and not yet consumed
	n      int
	served int // requests answered

	out  []byte        // response bytes not yet written
	keys []string      // scratch space for sorting header names
	req  *http.Request // reused for each request, with the connection's context
	resp response
}

func newConn(s *Server, c *net.TCPConn) *conn {
	cc := &conn{srv: s, rwc: c, remote: c.RemoteAddr().String()}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s.HTTP)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr())
	if s.HTTP.ConnContext != nil {
		ctx = s.HTTP.ConnContext(ctx, c)
	}
	cc.ctx, cc.cancel = context.WithCancel(ctx)
	return cc
}

// serve reads and answers requests until the connection ends or is handed
// over.
func (c *conn) serve() {
	handedOver := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			// As net/http does: log the panic with its stack and drop the
			// connection, whose response is in an unknown state.
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.srv.logf("h1: panic serving %v: %v\n%s", c.remote, v, buf)
		}
		c.cancel()
		if !handedOver {
			c.rwc.Close()
		}
		c.srv.remove(c)
	}()
	c.buf = make([]byte, bufSize)
	c.resp.c = c
	c.resp.hdr = make(http.Header, 16)
	c.req = (&http.Request{Header: make(http.Header, 16), RemoteAddr: c.remote}).WithContext(c.ctx)

	for {
		head, ok := c.readHead()
		if !ok {
			return
		}
		if head < 0 {
			handedOver = c.handOver()
			return
		}
		c.serveOne()
		c.served++
		c.consume(head)
		if c.resp.closeAfter {
			if c.flush() == nil {
				// A FIN first, so that a client still sending sees the
				// response rather than a reset (net/http does the same).
				c.rwc.CloseWrite()
			}
			return
		}
		// Pipelined requests already read are answered before the
		// responses are written, in one write.
		if !bytes.Contains(c.buf[:c.n], crlfcrlf) {
			if c.flush() != nil {
				return
			}
		}
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// readHead reads until buf starts with a whole request head that parses,
// and returns its length; or -1 when the connection must be handed over;
// or false when the connection is done (closed by the client, timed out,
// or shutting down while idle).
func (c *conn) readHead() (int, bool) {
	s := c.srv
	started := false // whether the header deadline is set
	var dl time.Time // the read deadline set last
	for {
		if c.n > 0 && (c.served == 0 || c.n >= 4) {
			// (Between requests net/http waits for 4 bytes before it reads
			// a head, so a connection closed after fewer gets no answer.)
			n, res := parseHead(c.buf[:c.n], c.req)
			switch res {
			case parsed:
				return n, true
			case refused:
				return -1, true
			}
			if c.n == len(c.buf) {
				return -1, true // a head too large for us; net/http applies MaxHeaderBytes
			}
			if !started {
				// A head arriving in pieces gets the header timeout from
				// its first byte, as net/http's does.
				started = true
				dl = deadline(s.HTTP.ReadHeaderTimeout, s.HTTP.ReadTimeout)
				c.rwc.SetReadDeadline(dl)
			}
		} else if c.n == 0 {
			dl = deadline(s.HTTP.IdleTimeout, s.HTTP.ReadTimeout)
			c.rwc.SetReadDeadline(dl)
			// After setting the deadline, so that a Shutdown between the
			// two is seen: either here, or as its past deadline.
			if s.shutting.Load() {
				return 0, false
			}
		}
		m, err := c.rwc.Read(c.buf[c.n:])
		c.n += m
		if err != nil {
			if c.n > 0 && errors.Is(err, io.EOF) && (c.served == 0 || c.n >= 4) {
				// A head cut short: net/http answers it (400), except
				// after a first request when fewer than 4 bytes came
				// (it peeks 4 bytes before reading a next request).
				return -1, true
			}
			if c.n > 0 && s.shutting.Load() && isTimeout(err) && (dl.IsZero() || time.Now().Before(dl)) {
				// Interrupted by Shutdown with a request partly read: it
				// keeps the time it had.
				c.rwc.SetReadDeadline(dl)
				continue
			}
			return 0, false
		}
	}
}

// deadline returns the deadline for a timeout d, or fallback when d is
// zero, or none when both are.
func deadline(d, fallback time.Duration) time.Time {
	if d == 0 {
		d = fallback
	}
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// consume drops the first n buffered bytes.
func (c *conn) consume(n int) {
	c.n = copy(c.buf, c.buf[n:c.n])
}

// serveOne answers the request in c.req.
func (c *conn) serveOne() {
	s := c.srv
	if d := s.HTTP.WriteTimeout; d > 0 {
		c.rwc.SetWriteDeadline(time.Now().Add(d))
	}
	c.resp.reset(c.req)
	s.HTTP.Handler.ServeHTTP(&c.resp, c.req)
	c.resp.finish()
}

// flush writes the pending response bytes.
func (c *conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.rwc.Write(c.out)
	c.out = c.out[:0]
	if cap(c.out) > 64<<10 {
		c.out = nil // a large response's buffer is not kept for the connection's life
	}
	return err
}

// writeBody writes the pending response bytes and then p, in one writev(2).
func (c *conn) writeBody(p []byte) error {
	bufs := net.Buffers{c.out, p}
	_, err := bufs.WriteTo(c.rwc)
	c.out = c.out[:0]
	return err
}

// handOver passes the connection with its unread bytes to HTTP. It reports
// whether HTTP took it.
func (c *conn) handOver() bool {
	if c.flush() != nil {
		return false
	}
	// net/http sets its own deadlines; ours must not linger.
	c.rwc.SetDeadline(time.Time{})
	hc := &handedConn{TCPConn: c.rwc, pending: append([]byte(nil), c.buf[:c.n]...)}
	return c.srv.handoff.give(hc)
}

// handedConn is a connection handed over to net/http: its reads start with
// the bytes this package read and did not serve. It keeps the methods that
// net/http looks for on a *net.TCPConn: CloseWrite, and ReadFrom, which
// sends files with sendfile(2). SyscallConn lets handlers reach the socket.
type handedConn struct {
	*net.TCPConn
	pending []byte
}

func (c *handedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.TCPConn.Read(p)
}

// WriteTo would read the socket past the pending bytes (splice(2));
// hiding it makes io.Copy use Read.
func (c *handedConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}

// SyscallConn is the socket's, for socket options.
func (c *handedConn) SyscallConn() (syscall.RawConn, error) { return c.TCPConn.SyscallConn() }
