package site

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// Benchmarks of the handler alone (a ResponseWriter that discards, so that
// allocs/op are the handler's own) and over loopback, each beside
// http.FileServer on the same file, the seed's server:
//
//	go test ./internal/site -run '^$' -bench . -benchmem

// benchWriter is a ResponseWriter that keeps nothing but the status.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header  { return w.h }
func (w *benchWriter) WriteHeader(code int) { w.code = code }
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(b)
	return len(b), nil
}

// benchTree writes the benchmark files: a 1 KiB page, a 100 KiB script, and
// a 1 MiB+1 file that is streamed.
func benchTree(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	page := append([]byte("<!doctype html>\n<title>bench</title>\n"), bytes.Repeat([]byte("<p>Lorem ipsum dolor sit amet.</p>\n"), 30)...)
	files := map[string][]byte{
		"1k.html":  page[:1024],
		"100k.js":  bytes.Repeat([]byte("function f(a, b) { return a + b * 42; } // padding\n"), 2048)[:100<<10],
		"big.bin":  bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, (1<<20)/8+1),
		"404.html": []byte("<!doctype html><title>not found</title>"),
	}
	for name, data := range files {
		writeFile(b, filepath.Join(dir, name), data)
	}
	return dir
}

func benchHandler(b *testing.B, h http.Handler, target string, hdr http.Header, want int) {
	b.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := &benchWriter{h: make(http.Header, 16)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
	}
	if w.code != want {
		b.Fatalf("GET %s: status %d, want %d", target, w.code, want)
	}
}

func benchLoad(b *testing.B) (*Site, string) {
	b.Helper()
	dir := benchTree(b)
	s, err := Load(context.Background(), Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	return s, dir
}

func BenchmarkServe1KiB(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/1k.html", nil, 200)
}

// BenchmarkServe1KiBGzip asks as a browser does; the file has a gzip variant.
func BenchmarkServe1KiBGzip(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/1k.html", http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}, 200)
}

func BenchmarkServe100KiBGzip(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/100k.js", http.Header{"Accept-Encoding": {"gzip"}}, 200)
}

func BenchmarkServeNotModified(b *testing.B) {
	s, _ := benchLoad(b)
	w := &benchWriter{h: http.Header{}}
	s.ServeHTTP(w, httptest.NewRequest("GET", "/1k.html", nil))
	benchHandler(b, s, "/1k.html", http.Header{"If-None-Match": w.h["Etag"]}, 304)
}

func BenchmarkServeIfModifiedSince(b *testing.B) {
	s, _ := benchLoad(b)
	w := &benchWriter{h: http.Header{}}
	s.ServeHTTP(w, httptest.NewRequest("GET", "/1k.html", nil))
	benchHandler(b, s, "/1k.html", http.Header{"If-Modified-Since": w.h["Last-Modified"]}, 304)
}

func BenchmarkServeRange(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/100k.js", http.Header{"Range": {"bytes=1000-1999"}}, 206)
}

// BenchmarkServeSlowPath resolves a non-canonical path.
func BenchmarkServeSlowPath(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/a/../1k.html", nil, 200)
}

func BenchmarkServeNotFound(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/missing.html", nil, 404)
}

// BenchmarkServeStreamed serves the file above MaxFileSize from disk (the
// writer is not a socket, so this measures open, stat and copy, not
// sendfile).
func BenchmarkServeStreamed(b *testing.B) {
	s, _ := benchLoad(b)
	benchHandler(b, s, "/big.bin", nil, 200)
}

func BenchmarkFileServer1KiB(b *testing.B) {
	dir := benchTree(b)
	benchHandler(b, http.FileServer(http.Dir(dir)), "/1k.html", nil, 200)
}

// benchLoopback fetches target over a keep-alive loopback connection.
func benchLoopback(b *testing.B, h http.Handler, target string) {
	b.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest("GET", srv.URL+target, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %s", target, resp.Status)
		}
	}
}

func BenchmarkLoopback1KiB(b *testing.B) {
	s, _ := benchLoad(b)
	benchLoopback(b, s, "/1k.html")
}

func BenchmarkLoopbackFileServer1KiB(b *testing.B) {
	benchLoopback(b, http.FileServer(http.Dir(benchTree(b))), "/1k.html")
}

func BenchmarkLoad(b *testing.B) {
	dir := benchTree(b)
	st, _ := os.Stat(filepath.Join(dir, "100k.js"))
	b.SetBytes(st.Size() + 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(context.Background(), Options{Dir: dir}); err != nil {
			b.Fatal(err)
		}
	}
}
