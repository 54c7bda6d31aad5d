package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/metrics"
	"github.com/gohttp-smol/gohttp-smol/internal/site"
)

func newHandler(t testing.TB, c *config.Config) *handler {
	t.Helper()
	headers := responseHeaders(c)
	s, err := site.Load(context.Background(), site.Options{FS: fstest.MapFS{
		"index.html": {Data: []byte(strings.Repeat("<p>1 KiB</p>", 85))},
	}, Header: fieldMap(headers)})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{headers: headers, metrics: metrics.New("dev", "go", nil), metricsPath: "/metrics"}
	h.site.Store(s)
	h.ready.Store(true)
	return h
}

func TestReadyz(t *testing.T) {
	h := newHandler(t, &config.Config{Root: "/srv"})
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		ready bool
		code  int
	}{{true, 200}, {false, 503}, {true, 200}} {
		h.ready.Store(tc.ready)
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("ready=%v: /readyz %d, want %d", tc.ready, resp.StatusCode, tc.code)
		}
		if resp, _ := http.Get(srv.URL + "/healthz"); resp.StatusCode != 200 {
			t.Errorf("ready=%v: /healthz %d, want 200 always", tc.ready, resp.StatusCode)
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.Config
		want []string
	}{
		{"user site", config.Config{Root: "/srv"}, []string{
			"X-Content-Type-Options: nosniff", "Referrer-Policy: strict-origin-when-cross-origin"}},
		{"default site", config.Config{}, []string{
			"X-Content-Type-Options: nosniff", "Referrer-Policy: strict-origin-when-cross-origin",
			"Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
			"X-Frame-Options: DENY"}},
		{"extra, replaced, removed", config.Config{Root: "/srv", Headers: []config.Header{
			{Name: "x-robots-tag", Value: "noindex"}, {Name: "referrer-policy", Value: "no-referrer"},
			{Name: "X-Content-Type-Options", Value: ""}, {Name: "X-Gone", Value: ""}}}, []string{
			"Referrer-Policy: no-referrer", "X-Robots-Tag: noindex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range responseHeaders(&tc.c) {
				if len(h.value) != 1 || cap(h.value) != 1 {
					t.Errorf("%s: value slice len %d cap %d, want 1 and 1", h.name, len(h.value), cap(h.value))
				}
				got = append(got, h.name+": "+h.value[0])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestHTTPSURL(t *testing.T) {
	for _, tc := range []struct {
		host, port, uri string
		want            string
	}{
		{"example.com", "443", "/a?b=c", "https://example.com/a?b=c"},
		{"example.com:80", "443", "/", "https://example.com/"},
		{"example.com:8080", "8443", "/x%20y", "https://example.com:8443/x%20y"},
		{"[::1]:8080", "8443", "/", "https://[::1]:8443/"},
		{"[::1]:80", "443", "/", "https://[::1]/"},
		{"[::1]", "443", "/", "https://[::1]/"},
		{"example.com", "", "/", "https://example.com/"},
		{"example.com", "443", "*", "https://example.com/"},
	} {
		got, ok := httpsURL(tc.host, tc.port, tc.uri)
		if !ok || got != tc.want {
			t.Errorf("httpsURL(%q, %q, %q) = %q, %v; want %q", tc.host, tc.port, tc.uri, got, ok, tc.want)
		}
	}
	if got, ok := httpsURL("", "443", "/"); ok {
		t.Errorf("httpsURL with no host = %q, want not ok", got)
	}
}

// readerFromWriter is a ResponseWriter that notes whether ReadFrom was
// called, as net/http's is called to use sendfile.
type readerFromWriter struct {
	httptest.ResponseRecorder
	readFrom bool
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return io.Copy(&w.ResponseRecorder, r)
}

func TestRecorderKeepsReadFrom(t *testing.T) {
	w := &readerFromWriter{ResponseRecorder: *httptest.NewRecorder()}
	rec := &recorder{ResponseWriter: w}
	n, err := io.Copy(rec, io.LimitReader(strings.NewReader("0123456789"), 7))
	if err != nil || n != 7 || !w.readFrom {
		t.Fatalf("io.Copy through recorder: %d, %v, ReadFrom used %v", n, err, w.readFrom)
	}
	if rec.code != 200 || rec.bytes != 7 || w.Body.String() != "0123456" {
		t.Errorf("recorded %d %d, body %q", rec.code, rec.bytes, w.Body.String())
	}

	// Without ReadFrom below (HTTP/2), the copy still works.
	plainW := httptest.NewRecorder()
	rec = &recorder{ResponseWriter: plainW}
	if n, err := rec.ReadFrom(strings.NewReader("abc")); n != 3 || err != nil || plainW.Body.String() != "abc" {
		t.Errorf("ReadFrom without ReaderFrom below: %d, %v, %q", n, err, plainW.Body.String())
	}
	if http.NewResponseController(rec).Flush() != nil || !plainW.Flushed {
		t.Error("Flush did not reach the wrapped writer")
	}
}

func TestRecorderCode(t *testing.T) {
	rec := &recorder{ResponseWriter: &nopWriter{h: http.Header{}}}
	rec.WriteHeader(http.StatusEarlyHints)
	rec.WriteHeader(http.StatusNotFound)
	rec.Write([]byte("x"))
	if rec.code != 404 || rec.bytes != 1 {
		t.Errorf("code %d bytes %d, want 404 and 1 (103 is not the final status)", rec.code, rec.bytes)
	}
}

// preparedWriter is a ResponseWriter that sends prepared responses, as
// h1's does, and keeps the last one.
type preparedWriter struct {
	nopWriter
	head, body []byte
}

func (w *preparedWriter) WritePrepared(head, body []byte) bool {
	w.head, w.body = head, body
	return true
}

// TestPreparedResponses checks that a plain GET of a file leaves through
// WritePrepared with the handler's own fields in its header, that the
// recorder counts it as a 200 with its body, and that a response the site
// was not prepared for (HSTS on TLS) takes the general path.
func TestPreparedResponses(t *testing.T) {
	h := newHandler(t, &config.Config{Root: "/srv", Headers: []config.Header{{Name: "X-Robots-Tag", Value: "noindex"}}})
	w := &preparedWriter{nopWriter: nopWriter{h: http.Header{}}}
	rec := &recorder{ResponseWriter: w}
	h.serve(rec, httptest.NewRequest("GET", "/index.html", nil))
	for _, f := range []string{"HTTP/1.1 200 OK\r\n", "X-Content-Type-Options: nosniff\r\n", "X-Robots-Tag: noindex\r\n", "Content-Length: 1020\r\n"} {
		if !strings.Contains(string(w.head), f) {
			t.Errorf("prepared head %q lacks %q", w.head, f)
		}
	}
	if rec.code != 200 || rec.bytes != 1020 || len(w.body) != 1020 {
		t.Errorf("recorded %d, %d bytes; body %d bytes: want 200 and 1020", rec.code, rec.bytes, len(w.body))
	}

	w = &preparedWriter{nopWriter: nopWriter{h: http.Header{}}}
	r := httptest.NewRequest("GET", "https://example.com/index.html", nil)
	h.serve(&recorder{ResponseWriter: w}, r)
	if w.head != nil || w.h.Get("Strict-Transport-Security") == "" {
		t.Errorf("TLS response: prepared head %q, header %v; want the general path, with HSTS", w.head, w.h)
	}

	// A writer that cannot send prepared responses (net/http's): the
	// recorder says so and records nothing.
	rec = &recorder{ResponseWriter: &nopWriter{h: http.Header{}}}
	if rec.WritePrepared([]byte("HTTP/1.1 200 OK\r\n"), []byte("x")) || rec.code != 0 || rec.bytes != 0 {
		t.Errorf("WritePrepared over a plain writer: recorded %d, %d bytes", rec.code, rec.bytes)
	}
}

// nopWriter is the cheapest ResponseWriter, so that the benchmark and the
// allocation test measure the handler alone.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// TestHotPathAllocations checks that the handler adds no allocation of its
// own to what the site needs for a 1 KiB file, with access logs off.
func TestHotPathAllocations(t *testing.T) {
	h := newHandler(t, &config.Config{Root: "/srv"})
	s := h.site.Load()
	r := httptest.NewRequest("GET", "/index.html", nil)
	w := &nopWriter{h: http.Header{}}
	siteOnly := testing.AllocsPerRun(1000, func() { clear(w.h); s.ServeHTTP(w, r) })
	full := testing.AllocsPerRun(1000, func() { clear(w.h); h.ServeHTTP(w, r) })
	if full > siteOnly {
		t.Errorf("handler: %v allocations per request, the site alone %v", full, siteOnly)
	}
}

func BenchmarkHandler(b *testing.B) {
	h := newHandler(b, &config.Config{Root: "/srv"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/index.html", nil)
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkSiteAlone(b *testing.B) {
	s := newHandler(b, &config.Config{Root: "/srv"}).site.Load()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/index.html", nil)
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			s.ServeHTTP(w, r)
		}
	})
}
