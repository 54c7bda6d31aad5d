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
	"time"
)

// bufSize is the read buffer of a connection, and so the largest request
// head served here; larger ones are handed over. Browsers' heads are well
// under 2 KiB unless cookies are large.
const bufSize = 4 << 10

// drainGrace is how long Shutdown lets a first request whose head is
// partly read finish arriving: net/http's closeIdleConns closes a new
// connection after 5 seconds.
const drainGrace = 5 * time.Second

// conn is one TCP connection served here.
type conn struct {
	srv    *Server
	rwc    *net.TCPConn
	nc     net.Conn // as accepted: closing goes through it (see Server.Serve)
	sio    *sockIO  // reads and writes of the hot path (see sockIO)
	ctx    context.Context
	cancel context.CancelFunc
	remote string

	buf    []byte // buf[:n] read and not yet consumed
	n      int
	served int       // requests answered
	first  time.Time // the first head's deadline, from accept

	// now is the clock read once per request, when its head is parsed: the
	// Date field and the write deadline come from it. rdl is the read
	// deadline last set on the socket; it and the write deadline are kept
	// until the time in rkeep or wkeep when re-armed with the timeout in
	// rd or wd (see armRead).
	now          time.Time
	rdl          time.Time
	rkeep, wkeep time.Time
	rd, wd       time.Duration

	last headCache // the last head's target, URL and strings

	out  []byte   // response bytes not yet written
	done int      // out[:done] are whole responses (written even if a handler panics)
	werr error    // the first write error: the connection is not reused after it
	keys []string // scratch space for sorting header names

	// req is reused for each request: it is reset from tmpl, which holds
	// the connection's context, so that nothing a handler set on one
	// request (RemoteAddr, path values, a context) reaches the next.
	req, tmpl *http.Request
	resp      response
}

func newConn(s *Server, base context.Context, nc net.Conn, c *net.TCPConn) *conn {
	cc := &conn{srv: s, rwc: c, nc: nc, remote: c.RemoteAddr().String()}
	ctx := context.WithValue(base, http.ServerContextKey, s.HTTP)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.LocalAddr())
	if s.HTTP.ConnContext != nil {
		ctx = s.HTTP.ConnContext(ctx, c)
	}
	cc.ctx, cc.cancel = context.WithCancel(context.WithValue(ctx, connKey{}, cc))
	return cc
}

// serve reads and answers requests until the connection ends or is handed
// over.
func (c *conn) serve() {
	handedOver := false
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			// As net/http does: log the panic with its stack and drop the
			// connection, whose response is in an unknown state; the
			// responses before it are whole and are sent.
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.srv.logf("h1: panic serving %v: %v\n%s", c.remote, v, buf)
		}
		if !handedOver && c.done > 0 && c.werr == nil && c.sio != nil {
			c.sio.write(c.out[:c.done])
		}
		c.cancel()
		if !handedOver {
			c.nc.Close()
		}
		c.srv.remove(c)
	}()
	var err error
	if c.sio, err = newSockIO(c.rwc); err != nil {
		return // closed already
	}
	c.buf = make([]byte, bufSize)
	c.resp.c = c
	// Header maps of at most 8 fields, the usual case for both, are a
	// single group in Go's maps: found without hashing and cleared with
	// one small memclr for each request, where room for 16 made a table
	// whose Clear cost more than parsing the head.
	c.resp.hdr = make(http.Header, 8)
	c.tmpl = (&http.Request{RemoteAddr: c.remote}).WithContext(c.ctx)
	c.req = new(http.Request)
	reqHeader := make(http.Header, 8)
	h := c.srv.HTTP.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	c.first = deadline(c.srv.HTTP.ReadHeaderTimeout, c.srv.HTTP.ReadTimeout)
	c.setReadDeadline(c.first)

	for {
		*c.req = *c.tmpl
		c.req.Header = reqHeader
		head, ok := c.readHead()
		if !ok {
			return
		}
		if head < 0 {
			handedOver = c.handOver()
			return
		}
		c.now = time.Now()
		if d := c.srv.HTTP.WriteTimeout; d > 0 {
			c.armWrite(c.now, d)
		}
		c.resp.reset(c.req)
		h.ServeHTTP(&c.resp, c.req)
		c.resp.finish()
		c.done = len(c.out)
		c.served++
		c.consume(head)
		if c.werr != nil {
			return // a response cut short: the connection is out of step
		}
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
// or shut down).
//
// Its deadlines are net/http's: the first head must arrive within the
// header timeout from accept; between requests the connection may idle for
// the idle timeout until 4 bytes have come, and the rest of the head then
// has the header timeout. On Shutdown, a connection that has answered a
// request and holds no whole head is closed, and a first head partly
// read gets at most drainGrace more.
func (c *conn) readHead() (int, bool) {
	s := c.srv
	if c.served > 0 && c.n < 4 {
		d := s.HTTP.IdleTimeout
		if d == 0 {
			d = s.HTTP.ReadTimeout
		}
		c.armRead(time.Now(), d)
	}
	started := c.served == 0 // whether the header deadline is set
	for {
		if c.n > 0 && (c.served == 0 || c.n >= 4) {
			// (Between requests net/http waits for 4 bytes before it reads
			// a head, so a connection closed after fewer gets no answer.)
			n, res := parseHead(c.buf[:c.n], c.req, &c.last)
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
				started = true
				c.setReadDeadline(deadline(s.HTTP.ReadHeaderTimeout, s.HTTP.ReadTimeout))
			}
		}
		// After every deadline change, so that a Shutdown is seen either
		// here or as the past deadline it sets.
		if s.shutting.Load() {
			if c.served > 0 {
				return 0, false // idle, or between requests: net/http closes these too
			}
			if grace := time.Now().Add(drainGrace); c.first.IsZero() || grace.Before(c.first) {
				c.first = grace
			}
			c.setReadDeadline(c.first)
		}
		m, err := c.sio.read(c.buf[c.n:])
		c.n += m
		if err != nil {
			if c.n > 0 && errors.Is(err, io.EOF) && (c.served == 0 || c.n >= 4) {
				// A head cut short: net/http answers it (400).
				return -1, true
			}
			if isTimeout(err) && s.shutting.Load() && c.served == 0 && time.Now().Before(c.first) {
				continue // woken by Shutdown; the check above sets the deadline
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

// slack is how far a deadline may stay early rather than be moved: a
// fraction of its timeout, at most a second. Setting a deadline takes
// several clock readings and a timer update in the runtime; on a
// keep-alive connection answering thousands of requests a second, moving
// the idle and write deadlines by microseconds each time was a tenth of
// the CPU of a small response. So a timeout of d may end up to slack(d)
// sooner than it would if re-armed on every request, never later.
func slack(d time.Duration) time.Duration {
	return min(d/64, time.Second)
}

// armRead sets the read deadline to now+d (none when d <= 0), unless the
// deadline already set is at most slack(d) earlier. A deadline set at s
// for the same d is that until s+slack(d), since the clock only moves
// forward: so the test is one comparison with a time kept from then.
func (c *conn) armRead(now time.Time, d time.Duration) {
	if d <= 0 {
		c.setReadDeadline(time.Time{})
		return
	}
	if d == c.rd && !c.rdl.IsZero() && now.Before(c.rkeep) {
		return
	}
	c.setReadDeadline(now.Add(d))
	c.rd, c.rkeep = d, now.Add(slack(d))
}

// armWrite is armRead for the write deadline; d > 0.
func (c *conn) armWrite(now time.Time, d time.Duration) {
	if d == c.wd && now.Before(c.wkeep) {
		return
	}
	c.rwc.SetWriteDeadline(now.Add(d))
	c.wd, c.wkeep = d, now.Add(slack(d))
}

// setReadDeadline sets the read deadline and notes it. (Shutdown sets a
// past one behind the connection's back; readHead looks at the shutting
// flag after every deadline it sets, so a note out of date is harmless.)
func (c *conn) setReadDeadline(t time.Time) {
	if t.IsZero() && c.rdl.IsZero() {
		return
	}
	c.rdl, c.rd = t, 0
	c.rwc.SetReadDeadline(t)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// consume drops the first n buffered bytes.
func (c *conn) consume(n int) {
	c.n = copy(c.buf, c.buf[n:c.n])
}

// flush writes the pending response bytes. After a write error it writes
// nothing more and returns that error.
func (c *conn) flush() error {
	if c.werr != nil || len(c.out) == 0 {
		return c.werr
	}
	_, c.werr = c.sio.write(c.out)
	c.out, c.done = c.out[:0], 0
	if cap(c.out) > 64<<10 {
		c.out = nil // a large response's buffer is not kept for the connection's life
	}
	return c.werr
}

// writeBody writes the pending response bytes and then p, in one writev(2).
func (c *conn) writeBody(p []byte) error {
	if c.werr != nil {
		return c.werr
	}
	_, c.werr = c.sio.writev(c.out, p)
	c.out, c.done = c.out[:0], 0
	return c.werr
}

// handOver passes the connection with its unread bytes to HTTP. It reports
// whether HTTP took it.
func (c *conn) handOver() bool {
	if c.flush() != nil {
		return false
	}
	// From here the socket is net/http's: Shutdown and Close must leave it
	// be, and our deadlines must not linger (net/http sets its own).
	c.srv.forget(c)
	c.rwc.SetDeadline(time.Time{})
	hc := &handedConn{TCPConn: c.rwc, nc: c.nc, pending: append([]byte(nil), c.buf[:c.n]...)}
	return c.srv.handoff.give(hc)
}

// handedConn is a connection handed over to net/http: its reads start with
// the bytes this package read and did not serve. It keeps the methods that
// net/http looks for on a *net.TCPConn: CloseWrite, and ReadFrom, which
// sends files with sendfile(2); and SyscallConn, for socket options.
type handedConn struct {
	*net.TCPConn
	nc      net.Conn // as accepted
	pending []byte
}

func (c *handedConn) Close() error { return c.nc.Close() }

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
