//go:build !linux

package h1

// TCP_CORK is Linux's; elsewhere the header goes out on its own.

func corkOn(fd uintptr)  {}
func corkOff(fd uintptr) {}
