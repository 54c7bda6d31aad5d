package h1

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// sockIO reads and writes a connection's socket with read(2) and write(2)
// made as raw system calls, inside the net package's RawConn.Read and
// RawConn.Write: those keep everything net.Conn's Read and Write do around
// the call (the fd's read or write lock, its deadline, parking on the
// poller when the call would block, net.ErrClosed after Close), so
// deadlines, Shutdown and Close act on them exactly as on net.Conn.
//
// Why: a system call made through the syscall package enters the
// scheduler's syscall state, and the first one after the process has been
// idle wakes the runtime's monitor thread (sysmon), which then sleeps and
// wakes again on the same core before it goes back to its deep sleep. For
// a server answering requests as they come, idle in between, that was
// about 1.4 extra context switches per request (2.4 against lighttpd's 1.0
// for one client sending one request at a time; perf stat). The socket is
// non-blocking, so these calls return at once and hold the processor no
// longer than the kernel's work; nothing here may block.
type sockIO struct {
	rc syscall.RawConn

	// The arguments and results of the call in progress: the functions
	// below are made once per connection, so that a request allocates no
	// closure.
	p     []byte
	q     []byte // writev: written after p
	n     int
	errno syscall.Errno
	short bool // write(2) wrote nothing and reported no error

	readFn, writeFn func(fd uintptr) bool
}

func newSockIO(c *net.TCPConn) (*sockIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sockIO{rc: rc}
	s.readFn = s.readOnce
	s.writeFn = s.writeAll
	return s, nil
}

// read reads into p as net.Conn's Read does: io.EOF at the end of the
// stream, a deadline's error wrapping os.ErrDeadlineExceeded.
func (s *sockIO) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.n, s.errno = p, 0, 0
	err := s.rc.Read(s.readFn)
	s.p = nil
	switch {
	case err != nil:
		return 0, err
	case s.errno != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", s.errno)}
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// readOnce makes one read(2); it asks to wait for readiness only when the
// call would block, so readiness is always tested by a read.
func (s *sockIO) readOnce(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.p[0])), uintptr(len(s.p)))
		switch e {
		case 0:
			s.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.errno = e
		return true
	}
}

// write writes all of p, as net.Conn's Write does.
func (s *sockIO) write(p []byte) (int, error) {
	return s.writev(p, nil)
}

// writev writes all of p and then all of q, in one writev(2) when the
// socket takes them at once.
func (s *sockIO) writev(p, q []byte) (int, error) {
	if len(p) == 0 {
		p, q = q, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.q, s.n, s.errno, s.short = p, q, 0, 0, false
	err := s.rc.Write(s.writeFn)
	s.p, s.q = nil, nil
	switch {
	case err != nil:
		return s.n, err
	case s.errno != 0:
		return s.n, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", s.errno)}
	case s.short:
		return s.n, io.ErrUnexpectedEOF // as the net package's Write
	}
	return s.n, nil
}

// writeAll writes what is left of s.p and s.q, from byte s.n of the two,
// until it is all written, asking to wait for the socket to drain when the
// call would block.
func (s *sockIO) writeAll(fd uintptr) bool {
	for s.n < len(s.p)+len(s.q) {
		var n uintptr
		var e syscall.Errno
		if s.n < len(s.p) && len(s.q) > 0 {
			rest := s.p[s.n:]
			iov := [2]syscall.Iovec{{Base: &rest[0]}, {Base: &s.q[0]}}
			iov[0].SetLen(len(rest))
			iov[1].SetLen(len(s.q))
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), 2)
		} else {
			var rest []byte
			if s.n < len(s.p) {
				rest = s.p[s.n:]
			} else {
				rest = s.q[s.n-len(s.p):]
			}
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		}
		switch e {
		case 0:
			if n == 0 {
				s.short = true
				return true
			}
			s.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.errno = e
			return true
		}
	}
	return true
}
