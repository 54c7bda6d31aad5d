package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/site"
)

// The parity tests send the same bytes to two real servers on loopback,
// one serving with h1 (falling back to net/http) and one with net/http
// alone, both with the same handler, and require the same answers: status,
// protocol, header fields (but Date), body, framing, and whether the
// server closed the connection. Requests served here and requests handed
// over must both be indistinguishable from net/http's own service.

// testHandler exercises what a handler may do with a ResponseWriter, in
// front of a real site.
func testHandler(t testing.TB) http.Handler {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":       "<!doctype html><title>home</title><p>home",
		"about/index.html": "<!doctype html><title>about</title>",
		"404.html":         "<!doctype html><title>not here</title>",
		"app.3f9a1c2e.js":  strings.Repeat("function f(a){return a+1};\n", 400),
		"style.css":        strings.Repeat("body{margin:0;padding:0}\n", 200),
		"data.bin":         string(bytes.Repeat([]byte{0, 1, 2, 3, 250, 251}, 4000)), // 24 KB: written by writev
		"big.bin":          string(bytes.Repeat([]byte("0123456789abcdef"), 20000)),  // 320 KB: streamed, sendfile
		".secret":          "never served",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := site.Load(context.Background(), site.Options{Dir: dir, MaxFileSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/", s)
	mux.HandleFunc("/implicit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>sniffed as HTML</body></html>") // 200, sniffed type, computed length
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 10 {
			w.Write(bytes.Repeat([]byte("x"), 1000)) // past the buffer: chunked
		}
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "second")
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(http.StatusNoContent)
		_, err := w.Write([]byte("body!"))
		if !errors.Is(err, http.ErrBodyNotAllowed) {
			panic(fmt.Sprintf("Write after 204: %v", err))
		}
	})
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Etag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345") // fewer than declared: the connection closes
	})
	mux.HandleFunc("/over", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "12")
		if _, err := io.WriteString(w, "345"); !errors.Is(err, http.ErrContentLength) {
			panic(fmt.Sprintf("Write past Content-Length: %v", err))
		}
	})
	mux.HandleFunc("/badlength", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "abc")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/inject", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Value"] = []string{" a\r\nInjected: yes "}
		w.Header()["Bad Name"] = []string{"dropped"}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/encoded", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip") // no sniffing of encoded bodies
		w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	})
	mux.HandleFunc("/readfrom", func(w http.ResponseWriter, r *http.Request) {
		// Unknown length through ReadFrom: the Write path, chunked.
		io.Copy(w, strings.NewReader(strings.Repeat("y", 5000)))
	})
	mux.HandleFunc("/request", func(w http.ResponseWriter, r *http.Request) {
		// What the handler sees of the request, so that both parsers are
		// compared too.
		body, _ := io.ReadAll(r.Body)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(w, "%s %q %q %q %q %s close=%v length=%d body=%q\n",
			r.Method, r.RequestURI, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.Close, r.ContentLength, body)
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
		}
	})
	mux.HandleFunc("/lengthless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "abc") // and no body
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Header().Set("Content-Length", "3000") // after WriteHeader: ignored
		w.Header().Set("X-Late", "1")
		w.Write(bytes.Repeat([]byte("l"), 3000))
	})
	mux.HandleFunc("/te", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", r.URL.Query().Get("te"))
		if cl := r.URL.Query().Get("cl"); cl != "" {
			w.Header().Set("Content-Length", cl)
		}
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "7")
	})
	mux.HandleFunc("/sniff", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("first"))
		w.Write(bytes.Repeat([]byte("x"), 3000))
	})
	mux.HandleFunc("/hints-length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/keep", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "keep-alive")
		io.WriteString(w, "kept?")
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("test panic")
	})
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.1:1"
		r.SetPathValue("user", "alice")
		io.WriteString(w, "mutated")
	})
	mux.HandleFunc("/url", func(w http.ResponseWriter, r *http.Request) {
		// What it sees, then a change that must not reach the next
		// request for the same target.
		fmt.Fprintf(w, "%q %q %q\n", r.URL.Path, r.URL.RawQuery, r.URL.String())
		r.URL.Path, r.URL.RawQuery, r.URL.Fragment = "/changed", "changed=1", "f"
	})
	mux.HandleFunc("/inspect", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%q spoofed=%v", r.PathValue("user"), r.RemoteAddr == "192.0.2.1:1")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "slow")
	})
	return mux
}

// pair is the two servers under comparison.
type pair struct {
	fast, std string // addresses
}

// startPair starts the two servers; the connections handed over by h1 are
// reported on handed, by their client's address.
func startPair(t testing.TB, h http.Handler) (p pair, handed *sync.Map) {
	t.Helper()
	newHTTP := func() *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second,
			MaxHeaderBytes: 8 << 10, ErrorLog: quietLog()}
	}
	handed = new(sync.Map)
	fast := &Server{HTTP: newHTTP()}
	fast.HTTP.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handed.Store(c.RemoteAddr().String(), true)
		}
	}
	std := newHTTP()
	lf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fast.Serve(lf)
	go std.Serve(ls)
	t.Cleanup(func() {
		fast.Close()
		std.Close()
	})
	return pair{fast: lf.Addr().String(), std: ls.Addr().String()}, handed
}

// exchange sends raw on a new connection, half-closes it, and returns the
// responses read until the server closed, normalised for comparison, and
// the connection's local address.
func exchange(t testing.TB, addr, raw string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	all, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading the responses: %v", err)
	}
	return normalise(all, methods(raw)), c.LocalAddr().String()
}

// boundary matches a multipart boundary, which is random.
var boundary = regexp.MustCompile(`boundary=([0-9A-Za-z'()+_,-./:=?]+)`)

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && strings.Contains(err.Error(), "reset")
}

// requestLines finds the request methods in raw, in order, so that the
// responses to HEAD are read without a body.
var requestLines = regexp.MustCompile(`(?m)^([A-Z]+) \S* HTTP/`)

func methods(raw string) []string {
	var m []string
	for _, x := range requestLines.FindAllStringSubmatch(raw, -1) {
		m = append(m, x[1])
	}
	return m
}

// normalise reads the responses in b and writes them out in a canonical
// form: the status line, the header fields sorted with Date's value
// replaced, the framing, then the decoded body.
func normalise(b []byte, methods []string) string {
	var out strings.Builder
	var random []string // multipart boundaries
	br := bufio.NewReader(bytes.NewReader(b))
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err != nil {
			break
		}
		method := http.MethodGet
		if i < len(methods) {
			method = methods[i]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			rest, _ := io.ReadAll(br)
			fmt.Fprintf(&out, "unparsable: %v; rest %q\n", err, rest)
			break
		}
		if m := boundary.FindStringSubmatch(resp.Header.Get("Content-Type")); m != nil {
			random = append(random, m[1])
		}
		fmt.Fprintf(&out, "%s %s\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := resp.Header[k]
			if k == "Date" {
				if _, err := http.ParseTime(v[0]); err != nil || len(v) != 1 {
					fmt.Fprintf(&out, "bad Date %q\n", v)
				}
				v = []string{"(date)"}
			}
			fmt.Fprintf(&out, "%s: %q\n", k, v)
		}
		body, err := io.ReadAll(resp.Body)
		fmt.Fprintf(&out, "framing: length=%d chunked=%v close=%v body error=%v\n",
			resp.ContentLength, slices.Contains(resp.TransferEncoding, "chunked"), resp.Close, err)
		fmt.Fprintf(&out, "body: %d bytes %q\n", len(body), abbreviate(body))
		fmt.Fprintf(&out, "trailer: %q\n\n", resp.Trailer)
	}
	s := out.String()
	for _, r := range random {
		s = strings.ReplaceAll(s, r, "(boundary)")
	}
	return s
}

func abbreviate(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// parityCases are raw request streams, covering the subset's edges from
// both sides: those not marked handed must be answered by h1 alone.
var parityCases = []struct {
	name, raw string
	handed    bool // whether h1 hands the connection to net/http at some point
}{
	{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"head", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"index redirect", "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"dir redirect with query", "GET /about?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"dir", "GET /about/ HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"gzip", "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n\r\n", false},
	{"gzip refused", "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=0, identity\r\n\r\n", false},
	{"immutable asset", "GET /app.3f9a1c2e.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", false},
	{"writev body", "GET /data.bin HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"sendfile body", "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"sendfile head", "HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"not found", "GET /missing.js HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"dotfile", "GET /.secret HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"encoded traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"encoded dotfile", "GET /%2esecret HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"double slash", "GET //style.css HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"conditional etag", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n", false},
	{"conditional date", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n", false},
	{"if-match fails", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n", false},
	{"range", "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n", false},
	{"ranges", "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9,100-109\r\n\r\n", false},
	{"range unsatisfiable", "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=99999-\r\n\r\n", false},
	{"pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\nGET /data.bin HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"pipelined then handed over", "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /request HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET /implicit HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"connection keep-alive", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n", false},
	{"connection upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", true},
	{"request seen", "GET /request?q=1&r=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\naccept: */*\r\nX-Multi: 1\r\nx-multi: 2\r\nPragma: no-cache\r\nX-Empty:\r\n\r\n", false},
	{"implicit", "GET /implicit HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"implicit head", "HEAD /implicit HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"empty", "GET /empty HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"empty head", "HEAD /empty HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"long", "GET /long HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"long head", "HEAD /long HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"flush", "GET /flush HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"no content", "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"not modified", "GET /notmodified HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"short", "GET /short HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"over", "GET /over HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"bad length", "GET /badlength HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"early hints", "GET /hints HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler closes", "GET /close HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"header injection", "GET /inject HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"encoded body", "GET /encoded HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"readfrom unknown length", "GET /readfrom HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"mux redirect", "GET /implicit/../long HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"invalid length, no body", "GET /lengthless HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"header changed after WriteHeader", "GET /late HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler chunked", "GET /te?te=chunked HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler identity", "GET /te?te=identity HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler gzip coding", "GET /te?te=gzip HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler chunked and length", "GET /te?te=chunked&cl=5 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler chunked and a length the body overruns", "GET /te?te=chunked&cl=0 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler chunked head", "HEAD /te?te=chunked HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"trailers", "GET /trailers HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"sniff across writes", "GET /sniff?first=%3Chtml%3E HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"sniff plain first", "GET /sniff?first=plain HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"early hints with length", "GET /hints-length HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"handler keep-alive on close", "GET /keep HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
	{"panic after a pipelined response", "GET /implicit HTTP/1.1\r\nHost: a\r\n\r\nGET /panic HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"same target twice, URL changed by the handler", "GET /url?a=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /url?a=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /url?a=2 HTTP/1.1\r\nHost: a\r\n\r\nGET /url?a=1 HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"request state not carried over", "GET /mutate HTTP/1.1\r\nHost: a\r\n\r\nGET /inspect HTTP/1.1\r\nHost: a\r\n\r\n", false},

	// Handed over.
	{"post", "POST /request HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", true},
	{"chunked body", "GET /request HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true},
	{"smuggling CL and TE", "GET /request HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /implicit HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"two lengths", "GET /request HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", true},
	{"options", "OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"delete", "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"http/1.0", "GET / HTTP/1.0\r\n\r\n", true},
	{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /style.css HTTP/1.0\r\n\r\n", true},
	{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", true},
	{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"absolute form", "GET http://a/style.css HTTP/1.1\r\nHost: b\r\n\r\n", true},
	{"no host", "GET / HTTP/1.1\r\n\r\n", true},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", true},
	{"odd host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", true},
	{"host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", true},
	{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", true},
	{"mixed LF", "GET / HTTP/1.1\r\nHost: a\n\r\n", true},
	{"space before colon", "GET /request HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n", true},
	{"obs-fold", "GET /request HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", true},
	{"control byte", "GET /request HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n", true},
	{"obs-text", "GET /request HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n", true},
	{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nBroken\r\n\r\n", true},
	{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", true},
	{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"non-ascii target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"expect", "GET /request HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", true},
	{"h2c upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", true},
	{"huge head", "GET /request HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 6000) + "\r\n\r\n", true},
	{"too large head", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 20000) + "\r\n\r\n", true},
	{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", true},
	{"incomplete", "GET / HTTP/1.1\r\nHost: a\r\n", true},
	{"served then garbage", "GET / HTTP/1.1\r\nHost: a\r\n\r\nhello there\r\n\r\n", true},
}

func TestParity(t *testing.T) {
	p, handed := startPair(t, testHandler(t))
	for _, tc := range parityCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, client := exchange(t, p.fast, tc.raw)
			want, _ := exchange(t, p.std, tc.raw)
			if _, ok := handed.Load(client); ok != tc.handed {
				t.Errorf("handed over: %v, want %v", ok, tc.handed)
			}
			if got != want {
				t.Errorf("h1 and net/http differ on %q\nh1:\n%s\nnet/http:\n%s", tc.raw, got, want)
			}
			if want == "" && !strings.Contains(tc.name, "incomplete") && !strings.Contains(tc.name, "garbage") {
				t.Errorf("no response at all to %q", tc.raw)
			}
		})
	}
}
