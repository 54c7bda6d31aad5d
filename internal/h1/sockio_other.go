//go:build !linux

package h1

import "net"

// sockIO reads and writes through net.Conn; the raw system calls of the
// Linux version are a CPU saving that other systems go without.
type sockIO struct{ c *net.TCPConn }

func newSockIO(c *net.TCPConn) (*sockIO, error) { return &sockIO{c: c}, nil }

func (s *sockIO) read(p []byte) (int, error)  { return s.c.Read(p) }
func (s *sockIO) write(p []byte) (int, error) { return s.c.Write(p) }

func (s *sockIO) writev(p, q []byte) (int, error) {
	bufs := net.Buffers{p, q}
	n, err := bufs.WriteTo(s.c)
	return int(n), err
}
