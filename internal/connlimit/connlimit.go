// Package connlimit bounds how many connections accepted from a listener
// are open at once.
//
// When the bound is reached, Accept waits until a connection closes before
// it accepts the next one: new connections queue in the kernel's listen
// backlog (which refuses them once it is full) instead of being accepted
// only to be closed. Every accepted connection holds its slot until it is
// closed, whatever closes it, so idle keep-alive connections count; the
// server's idle and read timeouts are what free slots held by clients that
// send nothing.
//
// A TCP connection is returned as a [TCPConn], which keeps every method of
// *net.TCPConn (sendfile through ReadFrom, CloseWrite, SyscallConn) and
// gives the bare connection to a server that serves the socket itself,
// through UnwrapTCP, while its Close still frees the slot.
package connlimit

import (
	"net"
	"sync"
)

// A Limit is a number of connections shared by the listeners it wraps.
type Limit struct{ slots chan struct{} }

// New returns a limit of n open connections; n must be positive.
func New(n int) *Limit {
	if n <= 0 {
		panic("connlimit: a limit must be positive")
	}
	return &Limit{slots: make(chan struct{}, n)}
}

// Listen returns l with its connections counted against lim.
func (lim *Limit) Listen(l net.Listener) *Listener {
	return &Listener{Listener: l, slots: lim.slots, done: make(chan struct{})}
}

// Listener is a net.Listener whose open connections are counted against
// a Limit.
type Listener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Accept waits for a free slot, then for a connection. It returns
// net.ErrClosed once the listener is closed, also while waiting for a slot.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	rel := &release{slots: l.slots}
	if tc, ok := c.(*net.TCPConn); ok {
		return &TCPConn{TCPConn: tc, rel: rel}, nil
	}
	return &conn{Conn: c, rel: rel}, nil
}

// Close closes the listener; a waiting Accept returns.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// release frees a slot once, however many times the connection is closed.
type release struct {
	once  sync.Once
	slots chan struct{}
}

func (r *release) free() { r.once.Do(func() { <-r.slots }) }

// TCPConn is a TCP connection holding a slot until it is closed.
type TCPConn struct {
	*net.TCPConn
	rel *release
}

// Close closes the connection and frees its slot.
func (c *TCPConn) Close() error {
	err := c.TCPConn.Close()
	c.rel.free()
	return err
}

// UnwrapTCP returns the TCP connection, for a server that reads and writes
// the socket directly. It must still close c, not the connection returned,
// for the slot to be freed.
func (c *TCPConn) UnwrapTCP() *net.TCPConn { return c.TCPConn }

type conn struct {
	net.Conn
	rel *release
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.rel.free()
	return err
}
