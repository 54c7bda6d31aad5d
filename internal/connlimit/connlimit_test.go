package connlimit

import (
	"errors"
	"net"
	"testing"
	"time"
)

// accepted runs Accept in the background and delivers its result.
func accepted(l net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLimitShared opens two listeners sharing a limit of two: a third
// connection, on either, is accepted only once one of the first two is
// closed, and closing a connection twice frees one slot, not two.
func TestLimitShared(t *testing.T) {
	lim := New(2)
	var ls []*Listener
	for range 2 {
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l := lim.Listen(raw)
		t.Cleanup(func() { l.Close() })
		ls = append(ls, l)
	}
	dial(t, ls[0].Addr().String())
	dial(t, ls[1].Addr().String())
	a, b := <-accepted(ls[0]), <-accepted(ls[1])
	if _, ok := a.(*TCPConn); !ok {
		t.Fatalf("accepted a %T, want a *TCPConn", a)
	}
	if a.(*TCPConn).UnwrapTCP() == nil {
		t.Fatal("UnwrapTCP = nil")
	}

	dial(t, ls[0].Addr().String())
	dial(t, ls[0].Addr().String())
	third := accepted(ls[0])
	select {
	case <-third:
		t.Fatal("a third connection was accepted with two open and a limit of two")
	case <-time.After(100 * time.Millisecond):
	}
	a.Close()
	a.Close() // a second Close must not free a second slot
	select {
	case c := <-third:
		if c == nil {
			t.Fatal("Accept failed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted after one closed")
	}
	fourth := accepted(ls[0])
	select {
	case <-fourth:
		t.Fatal("a fourth connection was accepted: closing one twice freed two slots")
	case <-time.After(100 * time.Millisecond):
	}
	b.Close()
	if c := <-fourth; c == nil {
		t.Fatal("no fourth connection after a second one closed")
	}
}

// TestCloseWhileWaiting closes a listener whose Accept waits for a slot:
// the Accept must return net.ErrClosed, as a server's shutdown expects.
func TestCloseWhileWaiting(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(1).Listen(raw)
	dial(t, l.Addr().String())
	if c := <-accepted(l); c == nil {
		t.Fatal("first Accept failed")
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	l.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}
