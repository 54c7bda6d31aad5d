//go:build !linux

package server

import (
	"context"
	"net"
	"syscall"
)

// Outside Linux there is no TCP_CORK; responses go out as net/http writes them.

const corkMin = 1 << 62

func withRawConn(ctx context.Context, _ net.Conn) context.Context { return ctx }

func cork(context.Context) syscall.RawConn { return nil }

func uncork(syscall.RawConn) {}
