package h1

import "syscall"

// While TCP_CORK is set, the kernel sends only full segments: a header
// written before a sendfile(2) body leaves with the body's first bytes
// instead of in a segment of its own.

func corkOn(fd uintptr)  { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) }
func corkOff(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 0) }
