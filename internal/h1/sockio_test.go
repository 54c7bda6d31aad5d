package h1

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection, closed when
// the test ends.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		cc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close(); cc.Close() })
	return sc.(*net.TCPConn), cc.(*net.TCPConn)
}

func newTestSockIO(t *testing.T, c *net.TCPConn) *sockIO {
	t.Helper()
	s, err := newSockIO(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A write larger than the socket buffers must wait for the reader (the
// call would block) and still deliver every byte, in order, once.
func TestSockIOWritesEverything(t *testing.T) {
	for _, tc := range []struct {
		name       string
		head, body int
	}{
		{"write", 3 << 20, 0},
		{"writev", 100, 3 << 20},
		{"writev, long head", 2 << 20, 1 << 20},
		{"empty head", 0, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, cc := tcpPair(t)
			// Small buffers, so that the writer meets a full socket.
			sc.SetWriteBuffer(16 << 10)
			cc.SetReadBuffer(16 << 10)
			s := newTestSockIO(t, sc)
			rng := rand.New(rand.NewPCG(1, 2))
			want := make([]byte, tc.head+tc.body)
			for i := range want {
				want[i] = byte(rng.Uint32())
			}
			got := make(chan []byte)
			go func() {
				var b bytes.Buffer
				buf := make([]byte, 4096)
				for {
					// A slow reader, so that the writer's socket fills.
					n, err := cc.Read(buf)
					b.Write(buf[:n])
					if err != nil {
						got <- b.Bytes()
						return
					}
					if b.Len()%(256<<10) < 4096 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			var n int
			var err error
			if tc.body == 0 {
				n, err = s.write(want)
			} else {
				n, err = s.writev(want[:tc.head], want[tc.head:])
			}
			if err != nil || n != len(want) {
				t.Fatalf("wrote %d of %d bytes: %v", n, len(want), err)
			}
			sc.CloseWrite()
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("the reader got %d bytes, not the %d written", len(b), len(want))
			}
		})
	}
}

func TestSockIOReadsAndEOF(t *testing.T) {
	sc, cc := tcpPair(t)
	s := newTestSockIO(t, sc)
	go func() {
		time.Sleep(20 * time.Millisecond) // the read waits for the data
		cc.Write([]byte("hello"))
		cc.CloseWrite()
	}()
	buf := make([]byte, 16)
	n, err := s.read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v; want \"hello\", nil", buf[:n], err)
	}
	if n, err := s.read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the peer's FIN: read %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := s.read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v; want 0, nil", n, err)
	}
}

// Deadlines and Close act on the raw calls as on net.Conn: a past
// deadline wakes a waiting read (Shutdown relies on it), and a closed
// connection reports net.ErrClosed.
func TestSockIODeadlineAndClose(t *testing.T) {
	sc, _ := tcpPair(t)
	s := newTestSockIO(t, sc)
	go func() {
		time.Sleep(20 * time.Millisecond)
		sc.SetReadDeadline(time.Now().Add(-time.Second))
	}()
	start := time.Now()
	_, err := s.read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a deadline set meanwhile: %v; want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the read woke %v after the deadline passed", d)
	}
	sc.SetDeadline(time.Time{})
	sc.Close()
	if _, err := s.read(make([]byte, 16)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v; want net.ErrClosed", err)
	}
	if _, err := s.write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v; want net.ErrClosed", err)
	}
}

// A write to a peer that has reset the connection fails with the
// system's error, and does not loop.
func TestSockIOWriteAfterReset(t *testing.T) {
	sc, cc := tcpPair(t)
	s := newTestSockIO(t, sc)
	cc.SetLinger(0)
	cc.Close() // RST
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = s.write(make([]byte, 64<<10))
		time.Sleep(time.Millisecond)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Fatalf("writes to a reset connection: %v; want a *net.OpError", err)
	}
}
