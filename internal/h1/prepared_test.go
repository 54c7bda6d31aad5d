package h1

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/site"
)

// The prepared-response tests hold the path that sends a header prepared
// at Load (response.WritePrepared) to the general one, byte for byte: the
// same site, behind the same fixed fields, is served by two h1 servers,
// one whose ResponseWriter offers WritePrepared and one whose does not,
// and every byte of the two answers must match but the Date values.

// fixedHeader is what the handler in front of the site sets on every
// response, as gohttp-smol's does with its security headers.
var fixedHeader = http.Header{
	"X-Content-Type-Options": {"nosniff"},
	"Referrer-Policy":        {"strict-origin-when-cross-origin"},
	"Vary":                   {"Origin"}, // merged with the site's own Vary
}

// preparedSite loads a site exercising every kind of in-memory response:
// identity only, gzip variants, precompressed br and zstd siblings, a
// fingerprinted asset, a fallback, a 404 page and a streamed file.
func preparedSite(t testing.TB) *site.Site {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":       "<!doctype html><title>home</title><p>home",
		"about/index.html": "<!doctype html><title>about</title>",
		"404.html":         "<!doctype html><title>not here</title>",
		"app.3f9a1c2e.js":  strings.Repeat("function f(a){return a+1};\n", 400),
		"style.css":        strings.Repeat("body{margin:0;padding:0}\n", 200),
		"style.css.br":     "pretend brotli",
		"style.css.zst":    "pretend zstd!",
		"logo.png":         "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 100),
		"data.bin":         string(bytes.Repeat([]byte{0, 1, 2, 3, 250, 251}, 4000)), // 24 KB: writev
		"big.bin":          string(bytes.Repeat([]byte("0123456789abcdef"), 20000)),  // streamed
		"empty.txt":        "",
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
	s, err := site.Load(context.Background(), site.Options{
		Dir: dir, MaxFileSize: 64 << 10, Fallback: "/index.html", Header: fixedHeader,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// preparedHandler lets the site answer through w, which sets the fixed
// fields itself; with general set, w cannot send prepared responses. sent
// counts the prepared responses sent.
func preparedHandler(s *site.Site, general bool, sent *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/extra" {
			w.Header()["X-Extra"] = []string{"1"} // a field the site was not prepared with
			r.URL.Path = "/style.css"
		}
		if general {
			w = generalOnly{w}
		} else {
			w = countPrepared{w, sent}
		}
		s.ServeHTTP(w, r)
	})
}

// generalOnly hides WritePrepared, keeping what else a site may use.
type generalOnly struct{ http.ResponseWriter }

func (w generalOnly) ReadFrom(r io.Reader) (int64, error) {
	return w.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
}

// countPrepared passes WritePrepared on and counts what it sent.
type countPrepared struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countPrepared) ReadFrom(r io.Reader) (int64, error) {
	return w.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
}

func (w countPrepared) WritePrepared(head, body []byte) bool {
	pw, ok := w.ResponseWriter.(interface{ WritePrepared(h, b []byte) bool })
	if ok = ok && pw.WritePrepared(head, body); ok {
		w.n.Add(1)
	}
	return ok
}

// preparedPair is two h1 servers for the same site: prepared responses on
// and off.
type preparedPair struct {
	prepared, general string
	sent              *atomic.Int64
}

func startPrepared(t testing.TB) preparedPair {
	s := preparedSite(t)
	p := preparedPair{sent: new(atomic.Int64)}
	for i, addr := range []*string{&p.prepared, &p.general} {
		srv := &Server{HTTP: &http.Server{
			Handler:           preparedHandler(s, i == 1, p.sent),
			ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 5 * time.Second,
			WriteTimeout: time.Minute, ErrorLog: quietLog(),
		}}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		*addr = l.Addr().String()
	}
	return p
}

// rawExchange sends raw, half-closes, and returns every byte received.
func rawExchange(t testing.TB, addr, raw string) []byte {
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
	return all
}

var dateField = regexp.MustCompile(`\r\nDate: ([^\r\n]*)\r\n`)

// maskDates replaces each Date value with a placeholder, after checking
// that it is a valid date within a minute of now, and each multipart
// boundary.
func maskDates(t testing.TB, b []byte) []byte {
	t.Helper()
	for _, m := range dateField.FindAllSubmatch(b, -1) {
		d, err := http.ParseTime(string(m[1]))
		if err != nil || time.Since(d).Abs() > time.Minute {
			t.Errorf("Date %q: %v, not now", m[1], err)
		}
	}
	b = dateField.ReplaceAll(b, []byte("\r\nDate: (date)\r\n"))
	// Multipart boundaries are random.
	for _, m := range boundary.FindAllSubmatch(b, -1) {
		b = bytes.ReplaceAll(b, m[1], []byte("(boundary)"))
	}
	return b
}

var preparedCases = []struct {
	name, raw string
	prepared  int64 // responses expected to go out prepared
}{
	{"index", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"identity with variants", "GET /style.css HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"gzip", "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 1},
	{"br", "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br, zstd\r\n\r\n", 1},
	{"zstd", "GET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: zstd, gzip;q=0.5\r\n\r\n", 1},
	{"immutable", "GET /app.3f9a1c2e.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 1},
	{"image", "GET /logo.png HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 1},
	{"writev body", "GET /data.bin HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"empty file", "GET /empty.txt HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"fallback", "GET /some/route HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"query", "GET /style.css?v=2 HTTP/1.1\r\nHost: a\r\n\r\n", 1},
	{"keep-alive", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", 1},
	{"pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /style.css HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\nGET /data.bin HTTP/1.1\r\nHost: a\r\n\r\n", 3},
	{"false if-range", "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nIf-Range: \"other\"\r\n\r\n", 1},
	{"if-none-match other", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"other\"\r\n\r\n", 1},

	// The general path.
	{"head", "HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n", 0},
	{"connection close", "GET /style.css HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0},
	{"not modified", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n", 0},
	{"precondition failed", "GET /style.css HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n", 0},
	{"range", "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n", 0},
	{"ranges", "GET /data.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9,100-109\r\n\r\n", 0},
	{"unsatisfiable", "GET /style.css HTTP/1.1\r\nHost: a\r\nRange: bytes=99999-\r\n\r\n", 0},
	{"streamed", "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n", 0},
	{"redirect", "GET /about HTTP/1.1\r\nHost: a\r\n\r\n", 0},
	{"not found", "GET /missing.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", 0},
	{"field not prepared for", "GET /extra HTTP/1.1\r\nHost: a\r\n\r\n", 0},
	{"handed over", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0},
	{"pipelined then close", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1},
}

func TestPreparedMatchesGeneral(t *testing.T) {
	p := startPrepared(t)
	for _, tc := range preparedCases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.sent.Load()
			got := rawExchange(t, p.prepared, tc.raw)
			sent := p.sent.Load() - before
			want := rawExchange(t, p.general, tc.raw)
			if len(want) == 0 {
				t.Fatalf("no response to %q", tc.raw)
			}
			if g, w := maskDates(t, got), maskDates(t, want); !bytes.Equal(g, w) {
				t.Errorf("prepared and general paths differ on %q\nprepared:\n%q\ngeneral:\n%q", tc.raw, g, w)
			}
			if sent != tc.prepared {
				t.Errorf("%d responses sent prepared, want %d", sent, tc.prepared)
			}
		})
	}
}

// FuzzPrepared is TestPreparedMatchesGeneral for arbitrary bytes.
func FuzzPrepared(f *testing.F) {
	for _, tc := range preparedCases {
		f.Add([]byte(tc.raw))
	}
	p := startPrepared(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 32<<10 {
			return
		}
		got := maskDates(t, rawExchange(t, p.prepared, string(b)))
		want := maskDates(t, rawExchange(t, p.general, string(b)))
		if !bytes.Equal(got, want) {
			t.Fatalf("prepared and general paths differ on %q\nprepared:\n%q\ngeneral:\n%q", b, got, want)
		}
	})
}
