package h1

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// allocsPerRequest serves n keep-alive requests, each the bytes req, with
// h on one connection and returns the heap allocations per request the
// whole process made meanwhile. The client side allocates nothing per
// request, so that the figure is the server's.
func allocsPerRequest(t *testing.T, h http.Handler, req string, n int) float64 {
	t.Helper()
	_, addr, _ := start(t, h, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	raw := []byte(req)
	buf := make([]byte, 64<<10)
	// The length of one response, from a first exchange.
	roundTrip := func(want int) int {
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		got := 0
		for {
			m, err := c.Read(buf[got:])
			got += m
			if err != nil {
				t.Fatalf("after %d response bytes: %v", got, err)
			}
			if want > 0 && got >= want {
				return got
			}
			if want == 0 {
				if i := bytes.Index(buf[:got], []byte("\r\n\r\n")); i >= 0 {
					j := bytes.Index(buf[:i], []byte("Content-Length: "))
					k := bytes.IndexByte(buf[j:], '\r')
					cl, _ := strconv.Atoi(string(buf[j+16 : j+k]))
					if got >= i+4+cl {
						return got
					}
				}
			}
		}
	}
	size := roundTrip(0)
	for range 100 {
		roundTrip(size) // warm: pools, caches, the connection's buffers
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		if got := roundTrip(size); got != size {
			t.Fatalf("a response of %d bytes, not %d", got, size)
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}

// fileLikeHandler answers every request with a prepared 1 KiB response, as
// internal/site does for a file held in memory.
type fileLikeHandler struct{ head, body []byte }

func newFileLikeHandler() fileLikeHandler {
	body := bytes.Repeat([]byte("x"), 1024)
	head := "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nContent-Type: text/html; charset=utf-8\r\n"
	return fileLikeHandler{[]byte(head), body}
}

func (p fileLikeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// What a file server reads of a request.
	_ = r.Header["Accept-Encoding"]
	_ = r.Header["Range"]
	_ = r.Header["If-None-Match"]
	if pw, ok := w.(interface{ WritePrepared(head, body []byte) bool }); ok && pw.WritePrepared(p.head, p.body) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.Copy(w, bytes.NewReader(p.body))
}

// A keep-alive request answered from memory allocates nothing, for the
// heads load generators send and for a browser's: the connection keeps the
// strings of the last head's target, Host and field values, and hands the
// same ones out while they repeat.
func TestKeepAliveAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tc := range []struct {
		name, req string
		max       float64
	}{
		{"host only", "GET /hello.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 0.05},
		{"browser", "GET /hello.html HTTP/1.1\r\nHost: example.com\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
			"Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n" +
			"Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\nSec-Fetch-User: ?1\r\nPriority: u=0, i\r\n\r\n", 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allocsPerRequest(t, newFileLikeHandler(), tc.req, 2000)
			t.Logf("%.2f allocations per request", got)
			if got > tc.max {
				t.Errorf("%.2f allocations per request, want at most %.2f", got, tc.max)
			}
		})
	}
}

// The strings a connection hands out again are the ones its last head
// held, and a change to them, by the client or by a handler, is never
// carried into the next request.
func TestHeadValuesReused(t *testing.T) {
	var uc headCache
	parse := func(head string) *http.Request {
		t.Helper()
		r := &http.Request{Header: make(http.Header)}
		if _, res := parseHead([]byte(head), r, &uc); res != parsed {
			t.Fatalf("%q: %v", head, res)
		}
		return r
	}
	same := func(a, b []string) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

	r1 := parse("GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nUser-Agent: u\r\n\r\n")
	r2 := parse("GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nUser-Agent: u\r\n\r\n")
	if !same(r1.Header["Accept"], r2.Header["Accept"]) || !same(r1.Header["User-Agent"], r2.Header["User-Agent"]) {
		t.Error("a repeated head got new value slices")
	}
	// Another order, another value, a repeated field.
	r3 := parse("GET / HTTP/1.1\r\nUser-Agent: u\r\nHost: b\r\nAccept: y\r\nAccept: z\r\n\r\n")
	if r3.Host != "b" || !same(r3.Header["User-Agent"], r2.Header["User-Agent"]) {
		t.Errorf("host %q, User-Agent reused: %v", r3.Host, same(r3.Header["User-Agent"], r2.Header["User-Agent"]))
	}
	if got := r3.Header["Accept"]; len(got) != 2 || got[0] != "y" || got[1] != "z" || r2.Header["Accept"][0] != "x" {
		t.Errorf("Accept %q (the request before: %q), want [y z] ([x])", got, r2.Header["Accept"])
	}
	// Names in another case, then canonical again.
	r31 := parse("GET / HTTP/1.1\r\nuser-agent: u\r\nhost: b\r\naccept: y\r\n\r\n")
	r32 := parse("GET / HTTP/1.1\r\nUser-Agent: v\r\nHost: c\r\nAccept: y\r\n\r\n")
	if r31.Host != "b" || r31.Header["User-Agent"][0] != "u" || r31.Header["Accept"][0] != "y" ||
		r32.Host != "c" || r32.Header["User-Agent"][0] != "v" || !same(r31.Header["Accept"], r32.Header["Accept"]) || len(r32.Header) != 2 {
		t.Errorf("lower-case names, then canonical: %q %v, %q %v", r31.Host, r31.Header, r32.Host, r32.Header)
	}
	// A handler overwrites a value in place: the next head gets a fresh one.
	r4 := parse("GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: u\r\n\r\n")
	r4.Header["User-Agent"][0] = "changed"
	r5 := parse("GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: u\r\n\r\n")
	if got := r5.Header["User-Agent"]; len(got) != 1 || got[0] != "u" || same(got, r4.Header["User-Agent"]) {
		t.Errorf("after a handler changed the last value: %q", got)
	}
	// Appending to a handed-out value leaves the shared slice alone.
	r6 := parse("GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: u\r\n\r\n")
	r6.Header["User-Agent"] = append(r6.Header["User-Agent"], "extra")
	r7 := parse("GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: u\r\n\r\n")
	if got := r7.Header["User-Agent"]; len(got) != 1 || got[0] != "u" {
		t.Errorf("after a handler appended to the last value: %q", got)
	}
}
