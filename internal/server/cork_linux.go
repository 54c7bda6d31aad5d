package server

import (
	"context"
	"net"
	"syscall"
)

// A response body larger than net/http's 4 KiB connection buffer leaves the
// server in two write(2) calls, the header with the start of the body and
// then the rest, and on a TCP socket with TCP_NODELAY (Go's default) each
// goes out as its own transmission. Corking the socket for the length of such
// a response sends it as one, as nginx does with tcp_nopush: fewer segments,
// fewer wake-ups of the client, measured at 10-15% more requests per second
// for a 26 KiB precompressed file on loopback (BENCHMARKS.md).

// corkMin is the body write from which a response is corked: below it the
// whole response fits the connection buffer and goes out in one write anyway.
const corkMin = 4 << 10

type rawConnKey struct{}

// withRawConn is the http.Server ConnContext hook: it keeps the socket of a
// plain TCP connection in the connection's context, once per connection.
func withRawConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			return context.WithValue(ctx, rawConnKey{}, rc)
		}
	}
	return ctx
}

// cork sets TCP_CORK on the request's connection and returns it, or nil for
// a connection that is not plain TCP (TLS, HTTP/2, a Unix socket).
func cork(ctx context.Context) syscall.RawConn {
	rc, ok := ctx.Value(rawConnKey{}).(syscall.RawConn)
	if !ok || rc.Control(corkOn) != nil {
		return nil
	}
	return rc
}

// uncork clears TCP_CORK, which sends what the kernel holds at once.
func uncork(rc syscall.RawConn) { rc.Control(corkOff) }

func corkOn(fd uintptr)  { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) }
func corkOff(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 0) }
