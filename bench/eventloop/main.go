// Command eventloop is a measured experiment, not part of gohttp-smol: the
// floor of what serving static files costs in Go under two connection
// models, to tell how much of gohttp-smol's CPU per request is its own code
// and how much the Go runtime's goroutine-per-connection model adds, before
// anyone writes an event loop into the product.
//
// It serves the files of a directory from memory (a .gz sibling when the
// request mentions gzip), answering any request head with a prebuilt
// response, and does nothing else: no validation, no headers beyond
// Content-Type, Content-Length and Date. Two models, chosen by the file
// name it runs under (so that the benchmark, which names servers by file,
// can run both in one run with -also):
//
//   - a name containing "goroutine": net.Listen, one goroutine per
//     connection blocking in Read and Write, as net/http and h1 do;
//   - otherwise: one epoll(7) loop on one locked thread, non-blocking
//     sockets, level-triggered, as nginx and lighttpd do.
//
// It takes gohttp-smol's arguments as the benchmark passes them:
// --addr HOST:PORT [--log-format off] DIR. BENCHMARKS.md has what it
// measured.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eventloop:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("eventloop", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	fs.String("log-format", "", "ignored")
	version := fs.Bool("version", false, "print the version")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *version {
		fmt.Println("eventloop experiment")
		return nil
	}
	if fs.NArg() != 1 {
		return errors.New("usage: eventloop --addr HOST:PORT DIR")
	}
	files, err := load(fs.Arg(0))
	if err != nil {
		return err
	}
	setDate()
	go tickDate()
	if strings.Contains(filepath.Base(os.Args[0]), "goroutine") {
		return serveGoroutines(*addr, files)
	}
	return serveEpoll(*addr, files)
}

// file is one path's prebuilt response heads and bodies.
type file struct {
	head, body     []byte // identity
	gzHead, gzBody []byte // nil without a .gz sibling
}

func load(dir string) (map[string]*file, error) {
	files := map[string]*file{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".gz") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ctype := http.DetectContentType(body)
		f := &file{body: body, head: head(ctype, len(body), "")}
		if gz, err := os.ReadFile(filepath.Join(dir, e.Name()+".gz")); err == nil {
			f.gzBody, f.gzHead = gz, head(ctype, len(gz), "gzip")
		}
		files["/"+e.Name()] = f
	}
	return files, nil
}

func head(ctype string, n int, coding string) []byte {
	h := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n", ctype, n)
	if coding != "" {
		h += "Content-Encoding: " + coding + "\r\nVary: Accept-Encoding\r\n"
	}
	return []byte(h)
}

var notFound = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n")

// date is the Date field, refreshed every second by tickDate.
var date atomic.Pointer[[]byte]

func setDate() {
	b := []byte("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n\r\n")
	date.Store(&b)
}

func tickDate() {
	for {
		time.Sleep(time.Second)
		setDate()
	}
}

// respond appends the responses to the whole heads at the start of in and
// returns what it consumed and the output.
func respond(in, out []byte, files map[string]*file) (consumed int, res []byte) {
	res = out
	for {
		end := bytes.Index(in[consumed:], []byte("\r\n\r\n"))
		if end < 0 {
			return consumed, res
		}
		h := in[consumed : consumed+end]
		consumed += end + 4
		path := h
		if i := bytes.IndexByte(path, ' '); i >= 0 {
			path = path[i+1:]
		}
		if i := bytes.IndexByte(path, ' '); i >= 0 {
			path = path[:i]
		}
		f := files[string(path)]
		switch {
		case f == nil:
			res = append(res, notFound...)
			res = append(res, *date.Load()...)
		case f.gzBody != nil && bytes.Contains(h, []byte("gzip")):
			res = append(append(append(res, f.gzHead...), *date.Load()...), f.gzBody...)
		default:
			res = append(append(append(res, f.head...), *date.Load()...), f.body...)
		}
	}
}

func serveGoroutines(addr string, files map[string]*file) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			var out []byte
			n := 0
			for {
				m, err := c.Read(buf[n:])
				if err != nil {
					return
				}
				n += m
				used, res := respond(buf[:n], out[:0], files)
				n = copy(buf, buf[used:n])
				if len(res) > 0 {
					if _, err := c.Write(res); err != nil {
						return
					}
				}
				if cap(res) <= 64<<10 {
					out = res
				}
			}
		}()
	}
}

// econn is a connection of the epoll loop.
type econn struct {
	fd      int
	in      []byte
	n       int
	pending []byte // not yet written; EPOLLOUT instead of EPOLLIN while non-empty
}

func serveEpoll(addr string, files map[string]*file) error {
	runtime.LockOSThread()
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	lfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	syscall.SetsockoptInt(lfd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	if err := syscall.Bind(lfd, sa); err != nil {
		return err
	}
	if err := syscall.Listen(lfd, 1024); err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	conns := map[int]*econn{}
	closeConn := func(c *econn) {
		syscall.Close(c.fd) // also leaves the epoll set
		delete(conns, c.fd)
	}
	// flush writes c.pending, and watches for writability while some is left.
	flush := func(c *econn) bool {
		wasBlocked := len(c.pending) > 0
		for len(c.pending) > 0 {
			n, err := syscall.Write(c.fd, c.pending)
			if err == syscall.EAGAIN {
				break
			}
			if err != nil {
				return false
			}
			c.pending = c.pending[n:]
		}
		// While answers wait, only writability is watched: level-triggered
		// readability would wake the loop for nothing until they are out.
		if blocked := len(c.pending) > 0; blocked != wasBlocked {
			ev := uint32(syscall.EPOLLIN)
			if blocked {
				ev = syscall.EPOLLOUT
			}
			syscall.EpollCtl(ep, syscall.EPOLL_CTL_MOD, c.fd, &syscall.EpollEvent{Events: ev, Fd: int32(c.fd)})
		}
		return true
	}
	events := make([]syscall.EpollEvent, 128)
	var out []byte
	for {
		n, err := epollWait(ep, events)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					nfd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					conns[nfd] = &econn{fd: nfd, in: make([]byte, 4096)}
					syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, nfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(nfd)})
				}
				continue
			}
			c := conns[fd]
			if c == nil {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && !flush(c) {
				closeConn(c)
				continue
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 || len(c.pending) > 0 {
				continue // reading waits until the previous answers are out
			}
			m, err := syscall.Read(fd, c.in[c.n:])
			if err == syscall.EAGAIN {
				continue
			}
			if err != nil || m == 0 {
				closeConn(c)
				continue
			}
			c.n += m
			used, res := respond(c.in[:c.n], out[:0], files)
			c.n = copy(c.in, c.in[used:c.n])
			if len(res) > 0 {
				if cap(res) <= 64<<10 {
					out = res
					c.pending = res // written before out is reused, or copied below
				} else {
					c.pending = res
				}
				if !flush(c) {
					closeConn(c)
					continue
				}
				if len(c.pending) > 0 && cap(res) <= 64<<10 {
					c.pending = append([]byte(nil), c.pending...) // out is reused
				}
			}
			if c.n == len(c.in) {
				closeConn(c) // a head larger than the buffer: not this experiment's business
			}
		}
	}
}

// epollWait is epoll_wait(2) without a timeout, made as a raw system call:
// the runtime is not told the thread blocks, so it does not hand the
// processor to another thread and back around every wait, which is what
// syscall.EpollWait costs when each wait lasts longer than sysmon's 20µs
// (measured first: 195µs of CPU per request at 5k requests/s). The runtime's
// preemption signal interrupts the wait (EINTR), so the collector and the
// Date goroutine still get the processor.
func epollWait(ep int, events []syscall.EpollEvent) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
