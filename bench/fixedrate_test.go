package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveLoopback serves h on a loopback port and returns its address.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

func TestFixedRate(t *testing.T) {
	body := strings.Repeat("x", 1024)
	addr := serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(20 * time.Millisecond)
		case "/close":
			w.Header().Set("Connection", "close")
		case "/missing":
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	req := func(path string) []byte { return []byte("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n") }

	t.Run("sustained", func(t *testing.T) {
		start := time.Now()
		r, err := fixedRate(context.Background(), addr, req("/"), 2000, 4, 400*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// 800 requests due over 400ms: not sent in one burst, not dropped.
		if r.Requests != 800 || r.Errors != 0 {
			t.Errorf("%d requests, %d errors; want 800 and 0", r.Requests, r.Errors)
		}
		if el := time.Since(start); el < 390*time.Millisecond || r.Duration < 390*time.Millisecond {
			t.Errorf("run took %v (measured %v), want the 400ms the schedule spans", el, r.Duration)
		}
		if r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("latencies p50 %v p99 %v", r.P50, r.P99)
		}
	})
	t.Run("server too slow", func(t *testing.T) {
		// One connection, 20ms per answer, 200 due a second: about 10 answers in 200ms and the rest late.
		r, err := fixedRate(context.Background(), addr, req("/slow"), 200, 1, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests != 40 || r.Late < 30 || r.P99 < 200*time.Millisecond {
			t.Errorf("%d requests, %d late, p99 %v: want all 40 answered, most late, the last ones far behind", r.Requests, r.Late, r.P99)
		}
	})
	t.Run("server closes connections", func(t *testing.T) {
		r, err := fixedRate(context.Background(), addr, req("/close"), 500, 2, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// Each connection's first request needs no new connection.
		if r.Requests != 50 || r.Errors != 0 || r.Reconnects != 48 {
			t.Errorf("%d requests, %d errors, %d reconnects; want 50, 0, 48", r.Requests, r.Errors, r.Reconnects)
		}
	})
	t.Run("errors", func(t *testing.T) {
		r, err := fixedRate(context.Background(), addr, req("/missing"), 1000, 2, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests != 0 || r.Errors != 50 {
			t.Errorf("%d requests, %d errors; want 0 and 50 (every status 404)", r.Requests, r.Errors)
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		if _, err := fixedRate(context.Background(), addr, req("/"), 0, 1, time.Second); err == nil {
			t.Error("rate 0 accepted")
		}
	})
}

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		err    string
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1", 200, ""},
		{"HTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n", 404, ""},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, "without Content-Length"},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "bad status line"},
		{"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 0, "bad Content-Length"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 0, "EOF"},
		{"HTTP/1.1 20", 0, "unexpected EOF"},
		{"", 0, "EOF"},
	} {
		status, err := readResponse(bufio.NewReader(strings.NewReader(tc.in)))
		if status != tc.status || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: status %d, error %v; want %d, %q", tc.in, status, err, tc.status, tc.err)
		}
	}
}
