package h1

import (
	"context"
	"errors"
	"syscall"
)

// connKey is the context key under which a connection served here is
// found by [ClientAlive].
type connKey struct{}

// ClientAlive reports whether the client of the request whose context is
// ctx may still be there: false once ctx has ended, or, for a request
// served by this package, once the client has closed or reset its
// connection. A handler calls it before work that is expensive and
// pointless for a client that has gone, such as a password hash.
//
// It exists because a request served here has the connection's context,
// which no one cancels while the connection's requests are being answered:
// a client can pipeline many requests, close, and leave the server to
// answer them all. net/http notices that with a read in the background and
// cancels the context; here the socket is looked at only when asked. The
// check peeks at the socket without blocking and without consuming
// anything; a close that arrives behind unread request bytes is not seen
// until those are read. It must be called from the handler's goroutine,
// while the handler runs.
func ClientAlive(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	c, ok := ctx.Value(connKey{}).(*conn)
	if !ok {
		return true // not ours: net/http cancels the context itself
	}
	if !c.peerAlive() {
		c.cancel() // later checks on this connection are answered by ctx
		return false
	}
	return true
}

// peerAlive peeks at the socket: a read that returns zero bytes is the
// client's FIN, and a reset is an error; pending bytes, or none yet, mean
// the client is still there.
func (c *conn) peerAlive() bool {
	rc, err := c.rwc.SyscallConn()
	if err != nil {
		return true
	}
	alive := true
	var b [1]byte
	rc.Read(func(fd uintptr) bool {
		n, err := peek(fd, b[:])
		switch {
		case err == nil && n == 0:
			alive = false // EOF
		case err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR):
			alive = false // ECONNRESET and the like
		}
		return true // never wait for readiness
	})
	return alive
}
