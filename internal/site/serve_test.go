package site

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// absent, as an expected header value, means the header must not be sent.
const absent = "<absent>"

// exchange is one request and what its response must be.
type exchange struct {
	name   string
	method string // GET when empty
	target string
	req    http.Header
	status int
	hdr    map[string]string // exact values, or absent
	prefix map[string]string // value prefixes
	body   *string           // exact body, when not nil
	file   string            // the body is this fixture file's bytes
	gzfile string            // the body gunzips to this fixture file's bytes
	check  func(t *testing.T, resp *http.Response, body []byte)
}

func str(s string) *string { return &s }

func (x exchange) run(t *testing.T, srv interface {
	get(*testing.T, string, string, http.Header) (*http.Response, []byte)
}, fx *fixture) {
	t.Helper()
	method := x.method
	if method == "" {
		method = "GET"
	}
	resp, body := srv.get(t, method, x.target, x.req)
	if resp.StatusCode != x.status {
		t.Errorf("%s %s: status %d, want %d (body %.80q)", method, x.target, resp.StatusCode, x.status, body)
	}
	for k, want := range x.hdr {
		got, ok := resp.Header[http.CanonicalHeaderKey(k)]
		switch {
		case want == absent && ok:
			t.Errorf("%s %s: %s = %q, want it absent", method, x.target, k, got)
		case want != absent && (len(got) != 1 || got[0] != want):
			t.Errorf("%s %s: %s = %q, want %q", method, x.target, k, got, want)
		}
	}
	for k, want := range x.prefix {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("%s %s: %s = %q, want prefix %q", method, x.target, k, got, want)
		}
	}
	if x.body != nil && string(body) != *x.body {
		t.Errorf("%s %s: body %.80q, want %.80q", method, x.target, body, *x.body)
	}
	if x.file != "" && !bytes.Equal(body, fx.files[x.file]) {
		t.Errorf("%s %s: body (%d bytes) %.40q, want %s (%d bytes)", method, x.target, len(body), body, x.file, len(fx.files[x.file]))
	}
	if x.gzfile != "" && !bytes.Equal(gunzip(t, body), fx.files[x.gzfile]) {
		t.Errorf("%s %s: gunzipped body differs from %s", method, x.target, x.gzfile)
	}
	if x.check != nil {
		x.check(t, resp, body)
	}
}

// testServer adapts an httptest server to exchange.run.
type testServer struct{ url string }

func (s testServer) get(t *testing.T, method, target string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return request(t, s.url, method, target, hdr)
}

// validatorsOf fetches the ETag and Last-Modified of target, as a client
// would before revalidating.
func validatorsOf(t *testing.T, srv testServer, target string, hdr http.Header) (etag, lastMod string) {
	t.Helper()
	resp, _ := srv.get(t, "GET", target, hdr)
	etag, lastMod = resp.Header.Get("Etag"), resp.Header.Get("Last-Modified")
	if etag == "" {
		t.Fatalf("GET %s: no ETag", target)
	}
	return etag, lastMod
}

func TestServe(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{})).URL}

	etag, lastMod := validatorsOf(t, srv, "/index.html", nil)
	gzETag, _ := validatorsOf(t, srv, "/index.html", http.Header{"Accept-Encoding": {"gzip"}})
	bigETag, bigLastMod := validatorsOf(t, srv, "/big.bin", nil)
	before := modTime.Add(-time.Hour).Format(http.TimeFormat)
	after := modTime.Add(time.Hour).Format(http.TimeFormat)
	html := "text/html; charset=utf-8"
	index := fx.files["index.html"]
	indexLen := strconv.Itoa(len(index))
	notFound := string(fx.files["404.html"])
	h := func(kv ...string) http.Header {
		hdr := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hdr.Add(kv[i], kv[i+1])
		}
		return hdr
	}

	groups := map[string][]exchange{
		"basics": {
			{name: "file", target: "/index.html", status: 200, file: "index.html", hdr: map[string]string{
				"Content-Type": html, "Content-Length": indexLen, "Etag": etag, "Last-Modified": modTime.Format(http.TimeFormat),
				"Cache-Control": "no-cache", "Accept-Ranges": "bytes", "Vary": "Accept-Encoding", "Content-Encoding": absent,
			}},
			{name: "root is index.html", target: "/", status: 200, file: "index.html", hdr: map[string]string{"Etag": etag}},
			{name: "HEAD has headers and no body", method: "HEAD", target: "/index.html", status: 200, body: str(""),
				hdr: map[string]string{"Content-Length": indexLen, "Etag": etag, "Content-Type": html}},
			{name: "dot segments resolve", target: "/docs/../index.html", status: 200, file: "index.html"},
			{name: "empty segments collapse", target: "//docs//guide.html", status: 200, file: "docs/guide.html"},
			{name: "non-default escaping", target: "/%69ndex.html", status: 200, file: "index.html"},
			{name: "escaped space", target: "/nolist/b%20c&d%3Ce%3E.txt", status: 200, body: str("b\n")},
			{name: "empty file", target: "/empty.txt", status: 200, body: str(""), hdr: map[string]string{"Content-Length": "0", "Content-Type": "text/plain; charset=utf-8"}},
			{name: "sniffed type", target: "/noext", status: 200, hdr: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
			{name: "png", target: "/logo.png", status: 200, file: "logo.png", hdr: map[string]string{"Content-Type": "image/png", "Vary": absent, "Cache-Control": "public, max-age=3600"}},
			{name: "symlink inside the tree", target: "/link-in.txt", status: 200, file: "docs/guide.html"},
			{name: "well-known", target: "/.well-known/security.txt", status: 200, file: ".well-known/security.txt"},
			{name: "directory index", target: "/docs/", status: 200, file: "docs/index.html"},
			{name: "directory index by name", target: "/docs/index.html", status: 200, file: "docs/index.html"},
		},
		"redirects and 404": {
			{name: "dir without slash", target: "/docs", status: 301, body: str(""), hdr: map[string]string{"Location": "/docs/", "Cache-Control": "no-cache"}},
			{name: "query kept", target: "/docs?a=1&b=%20", status: 301, hdr: map[string]string{"Location": "/docs/?a=1&b=%20"}},
			{name: "non-canonical dir", target: "/docs/../docs", status: 301, hdr: map[string]string{"Location": "/docs/"}},
			{name: "dir without index, no listing", target: "/nolist/", status: 404, body: &notFound},
			{name: "no redirect to a 404", target: "/nolist", status: 404, hdr: map[string]string{"Location": absent}},
			{name: "404.html", target: "/missing.html", status: 404, body: &notFound, hdr: map[string]string{
				"Content-Type": html, "Cache-Control": "no-cache", "Etag": absent, "Last-Modified": absent, "Vary": "Accept-Encoding"}},
			{name: "404.html gzipped", target: "/missing.html", req: h("Accept-Encoding", "gzip"), status: 404, gzfile: "404.html",
				hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "HEAD 404", method: "HEAD", target: "/missing.html", status: 404, body: str("")},
			{name: "no fallback without the option", target: "/app/route", status: 404},
			{name: "FIFO skipped", target: "/pipe.txt", status: 404},
			{name: "symlinked dir not followed", target: "/linkdir/guide.html", status: 404},
			{name: "dangling symlink", target: "/dangling.txt", status: 404},
		},
		"methods": {
			{name: "POST", method: "POST", target: "/index.html", status: 405, body: str("405 Method Not Allowed\n"),
				hdr: map[string]string{"Allow": "GET, HEAD, OPTIONS", "Content-Type": "text/plain; charset=utf-8"}},
			{name: "DELETE missing", method: "DELETE", target: "/nope", status: 405, hdr: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
			{name: "PUT", method: "PUT", target: "/x.txt", status: 405, hdr: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
			{name: "OPTIONS", method: "OPTIONS", target: "/index.html", status: 204, body: str(""), hdr: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		},
		"cache-control": {
			{name: "html", target: "/docs/guide.html", status: 200, hdr: map[string]string{"Cache-Control": "no-cache"}},
			{name: "hex fingerprint", target: "/app.3f9a1c2e.js", status: 200, hdr: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}},
			{name: "base32 fingerprint", target: "/main-5D3FGX7Q.css", status: 200, hdr: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}},
			{name: "plain asset", target: "/style.css", status: 200, hdr: map[string]string{"Cache-Control": "public, max-age=3600"}},
			{name: "304 keeps it", target: "/app.3f9a1c2e.js", status: 304, req: h("If-None-Match", "*"), hdr: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}},
		},
		"preconditions": {
			{name: "If-None-Match match", target: "/index.html", req: h("If-None-Match", etag), status: 304, body: str(""),
				hdr: map[string]string{"Etag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding", "Content-Type": absent, "Content-Length": absent, "Last-Modified": absent}},
			{name: "If-None-Match weak comparison", target: "/index.html", req: h("If-None-Match", "W/"+etag), status: 304},
			{name: "If-None-Match list", target: "/index.html", req: h("If-None-Match", `"a", `+etag+`, "b"`), status: 304},
			{name: "If-None-Match lines", target: "/index.html", req: h("If-None-Match", `"a"`, "If-None-Match", etag), status: 304},
			{name: "If-None-Match star", target: "/index.html", req: h("If-None-Match", "*"), status: 304},
			{name: "If-None-Match other", target: "/index.html", req: h("If-None-Match", `"other"`), status: 200, file: "index.html"},
			{name: "If-None-Match malformed", target: "/index.html", req: h("If-None-Match", `other`), status: 200},
			{name: "If-None-Match HEAD", method: "HEAD", target: "/index.html", req: h("If-None-Match", etag), status: 304},
			{name: "If-None-Match wins over If-Modified-Since", target: "/index.html", req: h("If-None-Match", `"other"`, "If-Modified-Since", after), status: 200},
			{name: "If-Modified-Since equal", target: "/index.html", req: h("If-Modified-Since", lastMod), status: 304},
			{name: "If-Modified-Since later", target: "/index.html", req: h("If-Modified-Since", after), status: 304},
			{name: "If-Modified-Since earlier", target: "/index.html", req: h("If-Modified-Since", before), status: 200},
			{name: "If-Modified-Since RFC 850", target: "/index.html", req: h("If-Modified-Since", modTime.Format(time.RFC850)), status: 304},
			{name: "If-Modified-Since invalid", target: "/index.html", req: h("If-Modified-Since", "yesterday"), status: 200},
			{name: "If-Match match", target: "/index.html", req: h("If-Match", etag), status: 200},
			{name: "If-Match star", target: "/index.html", req: h("If-Match", "*"), status: 200},
			{name: "If-Match other", target: "/index.html", req: h("If-Match", `"other"`), status: 412, body: str("412 Precondition Failed\n"),
				hdr: map[string]string{"Etag": absent, "Cache-Control": absent}},
			{name: "If-Match is strong", target: "/index.html", req: h("If-Match", "W/"+etag), status: 412},
			{name: "If-Unmodified-Since earlier", target: "/index.html", req: h("If-Unmodified-Since", before), status: 412},
			{name: "If-Unmodified-Since later", target: "/index.html", req: h("If-Unmodified-Since", after), status: 200},
			{name: "If-Match wins over If-Unmodified-Since", target: "/index.html", req: h("If-Match", etag, "If-Unmodified-Since", before), status: 200},
			{name: "412 before 304", target: "/index.html", req: h("If-Match", `"other"`, "If-None-Match", etag), status: 412},
			{name: "gzip variant has its own tag", target: "/index.html", req: h("Accept-Encoding", "gzip", "If-None-Match", gzETag), status: 304,
				hdr: map[string]string{"Etag": gzETag}},
			{name: "identity tag does not match gzip", target: "/index.html", req: h("Accept-Encoding", "gzip", "If-None-Match", etag), status: 200,
				hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "gzip tag does not match identity", target: "/index.html", req: h("If-None-Match", gzETag), status: 200,
				hdr: map[string]string{"Content-Encoding": absent}},
		},
		"ranges": {
			{name: "first bytes", target: "/tiny.txt", req: h("Range", "bytes=0-9"), status: 206, body: str("0123456789"),
				hdr: map[string]string{"Content-Range": "bytes 0-9/20", "Content-Length": "10", "Content-Type": "text/plain; charset=utf-8"}},
			{name: "suffix", target: "/tiny.txt", req: h("Range", "bytes=-5"), status: 206, body: str("fghij"), hdr: map[string]string{"Content-Range": "bytes 15-19/20"}},
			{name: "open end", target: "/tiny.txt", req: h("Range", "bytes=18-"), status: 206, body: str("ij"), hdr: map[string]string{"Content-Range": "bytes 18-19/20"}},
			{name: "past the end is cut", target: "/tiny.txt", req: h("Range", "bytes=15-100"), status: 206, body: str("fghij")},
			{name: "long suffix is everything", target: "/tiny.txt", req: h("Range", "bytes=-100"), status: 206, body: str("0123456789abcdefghij")},
			{name: "unit is case-insensitive", target: "/tiny.txt", req: h("Range", "Bytes=0-0"), status: 206, body: str("0")},
			{name: "unsatisfiable", target: "/tiny.txt", req: h("Range", "bytes=20-"), status: 416,
				hdr: map[string]string{"Content-Range": "bytes */20", "Etag": absent, "Cache-Control": absent}},
			{name: "zero suffix unsatisfiable", target: "/tiny.txt", req: h("Range", "bytes=-0"), status: 416, hdr: map[string]string{"Content-Range": "bytes */20"}},
			{name: "inverted is ignored", target: "/tiny.txt", req: h("Range", "bytes=5-2"), status: 200, body: str("0123456789abcdefghij")},
			{name: "garbage is ignored", target: "/tiny.txt", req: h("Range", "bytes=a-b"), status: 200},
			{name: "other unit is ignored", target: "/tiny.txt", req: h("Range", "items=0-1"), status: 200},
			{name: "overlap is ignored", target: "/tiny.txt", req: h("Range", "bytes=0-5,3-8"), status: 200},
			{name: "too many is ignored", target: "/tiny.txt", req: h("Range", "bytes="+strings.Repeat("0-0,", 17)), status: 200},
			{name: "two Range lines are ignored", target: "/tiny.txt", req: h("Range", "bytes=0-1", "Range", "bytes=2-3"), status: 200},
			{name: "HEAD ignores Range", method: "HEAD", target: "/tiny.txt", req: h("Range", "bytes=0-1"), status: 200, hdr: map[string]string{"Content-Length": "20"}},
			{name: "empty file ignores Range", target: "/empty.txt", req: h("Range", "bytes=0-"), status: 200, body: str("")},
			{name: "Range gets identity", target: "/index.html", req: h("Range", "bytes=0-14", "Accept-Encoding", "gzip"), status: 206,
				body: str("<!doctype html>"), hdr: map[string]string{"Content-Encoding": absent, "Etag": etag, "Vary": "Accept-Encoding"}},
			{name: "If-Range etag", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", etag), status: 206, body: str("<")},
			{name: "If-Range other etag", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", `"other"`), status: 200, file: "index.html"},
			{name: "If-Range weak etag", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", "W/"+etag), status: 200},
			{name: "If-Range gzip etag", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", gzETag), status: 200},
			{name: "If-Range date", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", lastMod), status: 206},
			{name: "If-Range old date", target: "/index.html", req: h("Range", "bytes=0-0", "If-Range", before), status: 200},
			{name: "multipart", target: "/tiny.txt", req: h("Range", "bytes=0-1, -2"), status: 206,
				check: checkMultipart("text/plain; charset=utf-8", 20, []string{"bytes 0-1/20", "bytes 18-19/20"}, []string{"01", "ij"})},
			{name: "multipart drops unsatisfiable", target: "/tiny.txt", req: h("Range", "bytes=0-0,50-60,5-5"), status: 206,
				check: checkMultipart("text/plain; charset=utf-8", 20, []string{"bytes 0-0/20", "bytes 5-5/20"}, []string{"0", "5"})},
			{name: "one satisfiable of two", target: "/tiny.txt", req: h("Range", "bytes=50-60,2-3"), status: 206, body: str("23"),
				hdr: map[string]string{"Content-Range": "bytes 2-3/20"}},
		},
		"encodings": {
			{name: "gzip", target: "/index.html", req: h("Accept-Encoding", "gzip, deflate"), status: 200, gzfile: "index.html",
				hdr: map[string]string{"Content-Encoding": "gzip", "Etag": gzETag, "Vary": "Accept-Encoding", "Content-Type": html}},
			{name: "gzip tag suffix", target: "/index.html", req: h("Accept-Encoding", "gzip"), status: 200, check: func(t *testing.T, r *http.Response, _ []byte) {
				if e := r.Header.Get("Etag"); !strings.HasSuffix(e, `-gz"`) || e == etag {
					t.Errorf("gzip ETag = %q, want a tag of its own ending in -gz", e)
				}
			}},
			{name: "x-gzip", target: "/index.html", req: h("Accept-Encoding", "x-gzip"), status: 200, hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "gzip refused", target: "/index.html", req: h("Accept-Encoding", "gzip;q=0"), status: 200, file: "index.html", hdr: map[string]string{"Content-Encoding": absent}},
			{name: "empty Accept-Encoding", target: "/index.html", req: h("Accept-Encoding", ""), status: 200, file: "index.html"},
			{name: "identity preferred", target: "/index.html", req: h("Accept-Encoding", "gzip;q=0.5, identity"), status: 200, file: "index.html"},
			{name: "star", target: "/index.html", req: h("Accept-Encoding", "*"), status: 200, hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "br preferred", target: "/pre.js", req: h("Accept-Encoding", "gzip, deflate, br, zstd"), status: 200, body: str("BROTLI-STAND-IN"),
				hdr:    map[string]string{"Content-Encoding": "br", "Content-Type": "text/javascript; charset=utf-8", "Content-Length": "15"},
				prefix: map[string]string{"Etag": `"`}},
			{name: "zstd over gzip", target: "/pre.js", req: h("Accept-Encoding", "gzip, zstd"), status: 200, body: str("ZSTD-STAND-IN"), hdr: map[string]string{"Content-Encoding": "zstd"}},
			{name: "q-values win", target: "/pre.js", req: h("Accept-Encoding", "br;q=0.5, gzip;q=0.8"), status: 200, gzfile: "pre.js", hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "gzip sibling", target: "/pre.js", req: h("Accept-Encoding", "gzip"), status: 200, gzfile: "pre.js", hdr: map[string]string{"Content-Encoding": "gzip"}},
			{name: "star zero", target: "/pre.js", req: h("Accept-Encoding", "*;q=0, identity"), status: 200, file: "pre.js", hdr: map[string]string{"Content-Encoding": absent}},
			{name: "lines", target: "/pre.js", req: h("Accept-Encoding", "gzip;q=0.1", "Accept-Encoding", "zstd;q=0.2"), status: 200, hdr: map[string]string{"Content-Encoding": "zstd"}},
			{name: "incompressible type", target: "/logo.png", req: h("Accept-Encoding", "gzip"), status: 200, file: "logo.png", hdr: map[string]string{"Content-Encoding": absent, "Vary": absent}},
			{name: "too small to gain", target: "/tiny.txt", req: h("Accept-Encoding", "gzip"), status: 200, hdr: map[string]string{"Content-Encoding": absent, "Vary": absent}},
		},
		"streamed": {
			{name: "whole", target: "/big.bin", status: 200, file: "big.bin", hdr: map[string]string{
				"Content-Length": strconv.Itoa(200 << 10), "Content-Type": "application/octet-stream", "Etag": bigETag,
				"Last-Modified": modTime.Format(http.TimeFormat), "Accept-Ranges": "bytes", "Vary": absent}, prefix: map[string]string{"Etag": `"f`}},
			{name: "HEAD", method: "HEAD", target: "/big.bin", status: 200, body: str(""), hdr: map[string]string{"Content-Length": strconv.Itoa(200 << 10)}},
			{name: "range", target: "/big.bin", req: h("Range", "bytes=100000-100009"), status: 206, body: str(string(fx.files["big.bin"][100000:100010])),
				hdr: map[string]string{"Content-Range": "bytes 100000-100009/204800"}},
			{name: "multipart", target: "/big.bin", req: h("Range", "bytes=0-3,-4"), status: 206,
				check: checkMultipart("application/octet-stream", 204800, []string{"bytes 0-3/204800", "bytes 204796-204799/204800"},
					[]string{string(fx.files["big.bin"][:4]), string(fx.files["big.bin"][204796:])})},
			{name: "unsatisfiable", target: "/big.bin", req: h("Range", "bytes=204800-"), status: 416, hdr: map[string]string{"Content-Range": "bytes */204800"}},
			{name: "If-None-Match", target: "/big.bin", req: h("If-None-Match", bigETag), status: 304},
			{name: "If-Modified-Since", target: "/big.bin", req: h("If-Modified-Since", bigLastMod), status: 304},
			{name: "If-Range", target: "/big.bin", req: h("Range", "bytes=0-0", "If-Range", bigETag), status: 206, body: str(string(fx.files["big.bin"][:1]))},
			{name: "symlink", target: "/big-link.bin", status: 200, file: "big.bin"},
			{name: "in-memory gzip sibling", target: "/big.txt", req: h("Accept-Encoding", "gzip"), status: 200, gzfile: "big.txt",
				hdr: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}},
			{name: "streamed identity of sibling", target: "/big.txt", status: 200, file: "big.txt", hdr: map[string]string{"Vary": "Accept-Encoding"}, prefix: map[string]string{"Etag": `"f`}},
		},
	}
	for group, xs := range groups {
		t.Run(group, func(t *testing.T) {
			for _, x := range xs {
				t.Run(x.name, func(t *testing.T) { x.run(t, srv, fx) })
			}
		})
	}
}

// checkMultipart returns a check that the body is multipart/byteranges with
// the given parts.
func checkMultipart(ctype string, size int, ranges, bodies []string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, resp *http.Response, body []byte) {
		t.Helper()
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
			t.Fatalf("Content-Type = %q (%v), want multipart/byteranges with a boundary", resp.Header.Get("Content-Type"), err)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("Content-Length = %s, body has %d bytes", cl, len(body))
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				if i != len(ranges) {
					t.Errorf("got %d parts, want %d", i, len(ranges))
				}
				return
			}
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			data, _ := io.ReadAll(p)
			if i >= len(ranges) {
				t.Errorf("extra part %d: %q", i, data)
				continue
			}
			if got := p.Header.Get("Content-Range"); got != ranges[i] {
				t.Errorf("part %d Content-Range = %q, want %q", i, got, ranges[i])
			}
			if got := p.Header.Get("Content-Type"); got != ctype {
				t.Errorf("part %d Content-Type = %q, want %q", i, got, ctype)
			}
			if string(data) != bodies[i] {
				t.Errorf("part %d = %q, want %q", i, data, bodies[i])
			}
		}
	}
}

func TestServeFallback(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{Fallback: "/index.html"})).URL}
	route := exchange{status: 200, file: "index.html", hdr: map[string]string{"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8"}}
	notFound := string(fx.files["404.html"])
	xs := []exchange{
		{name: "route", target: "/app/settings"},
		{name: "route with slash", target: "/app/settings/"},
		{name: "route with query", target: "/users?id=3"},
		{name: "existing file wins", target: "/style.css", status: 200, file: "style.css", hdr: map[string]string{"Cache-Control": "public, max-age=3600"}},
		{name: "missing asset", target: "/app.js", status: 404, body: &notFound},
		{name: "missing fingerprinted asset", target: "/assets/app.0123abcd.js", status: 404, body: &notFound},
		{name: "dotfile is not a route", target: "/.git/config", status: 404},
		{name: "dir without index is a route", target: "/nolist/", status: 200, file: "index.html"},
		{name: "revalidation", target: "/deep/route", req: http.Header{"If-None-Match": {"*"}}, status: 304, hdr: map[string]string{"Cache-Control": "no-cache"}},
	}
	for _, x := range xs {
		if x.status == 0 {
			x.status, x.file, x.hdr = route.status, route.file, route.hdr
		}
		t.Run(x.name, func(t *testing.T) { x.run(t, srv, fx) })
	}

	// A fallback that is a fingerprinted file still gets the HTML policy.
	writeFile(t, filepath.Join(fx.root, "shell.0123abcd.js"), []byte("shell"))
	srv = testServer{serve(t, fx.load(t, Options{Fallback: "/shell.0123abcd.js"})).URL}
	exchange{target: "/route", status: 200, body: str("shell"), hdr: map[string]string{"Cache-Control": "no-cache"}}.run(t, srv, fx)
	exchange{target: "/shell.0123abcd.js", status: 200, hdr: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}}.run(t, srv, fx)
}

func TestServeCacheControlOverride(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{CacheControl: CacheControl{
		HTML: "no-store", Immutable: "max-age=60", Default: "max-age=5",
		Fingerprinted: func(name string) bool { return strings.HasPrefix(name, "/docs/") || name == "/style.css" },
	}})).URL}
	for _, x := range []exchange{
		{target: "/", status: 200, hdr: map[string]string{"Cache-Control": "no-store"}},
		{target: "/docs/guide.html", status: 200, hdr: map[string]string{"Cache-Control": "no-store"}},
		{target: "/style.css", status: 200, hdr: map[string]string{"Cache-Control": "max-age=60"}},
		{target: "/app.3f9a1c2e.js", status: 200, hdr: map[string]string{"Cache-Control": "max-age=5"}},
		{target: "/missing", status: 404, hdr: map[string]string{"Cache-Control": "no-store"}},
	} {
		t.Run(x.target, func(t *testing.T) { x.run(t, srv, fx) })
	}
}

// TestServeCacheControlPrivate loads a site behind authentication: no
// default value may let a shared cache keep a response (RFC 9111 §3.5),
// whatever kind of file or answer it is, while a value the operator gave
// is kept as given.
func TestServeCacheControlPrivate(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{Fallback: "/index.html", Listing: true, CacheControl: CacheControl{Private: true}})).URL}
	for _, x := range []exchange{
		{target: "/", status: 200, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
		{target: "/docs/guide.html", status: 200, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
		{target: "/app.3f9a1c2e.js", status: 200, hdr: map[string]string{"Cache-Control": "private, max-age=31536000, immutable"}},
		{target: "/style.css", status: 200, hdr: map[string]string{"Cache-Control": "private, max-age=3600"}},
		{target: "/docs", status: 301, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
		{target: "/nolist/", status: 200, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
		{target: "/app/route", status: 200, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
		{target: "/missing.html", status: 404, hdr: map[string]string{"Cache-Control": "private, no-cache"}},
	} {
		t.Run(x.target, func(t *testing.T) {
			x.run(t, srv, fx)
			resp, _ := srv.get(t, "GET", x.target, nil)
			if v := resp.Header.Get("Cache-Control"); SharedCacheable(v) {
				t.Errorf("Cache-Control %q lets a shared cache store it", v)
			}
		})
	}
	srv = testServer{serve(t, fx.load(t, Options{CacheControl: CacheControl{Private: true, Default: "max-age=5"}})).URL}
	exchange{target: "/style.css", status: 200, hdr: map[string]string{"Cache-Control": "max-age=5"}}.run(t, srv, fx)
}

func TestSharedCacheable(t *testing.T) {
	for v, want := range map[string]bool{
		DefaultCacheHTML: false, DefaultCacheImmutable: true, DefaultCacheDefault: true,
		PrivateCacheHTML: false, PrivateCacheImmutable: false, PrivateCacheDefault: false,
		"max-age=60, S-MAXAGE=600": true, "no-store": false, " Must-Revalidate ": true,
		"publicity": false, "": false,
	} {
		if got := SharedCacheable(v); got != want {
			t.Errorf("SharedCacheable(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestServeListing(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{Listing: true})).URL}
	exchange{target: "/nolist", status: 301, hdr: map[string]string{"Location": "/nolist/"}}.run(t, srv, fx)
	exchange{target: "/docs/", status: 200, file: "docs/index.html"}.run(t, srv, fx)
	resp, body := srv.get(t, "GET", "/nolist/", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /nolist/ = %d, Content-Type %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if bytes.Contains(body, []byte(".env")) {
		t.Errorf("listing shows a dotfile:\n%s", body)
	}
	golden(t, "listing.golden", body)
	etag := resp.Header.Get("Etag")
	exchange{target: "/nolist/", req: http.Header{"If-None-Match": {etag}}, status: 304}.run(t, srv, fx)
	// The links of the listing lead to the files.
	for _, href := range []string{"./a.txt", "./b%20c&d%3Ce%3E.txt", "./x:y.txt", "./sub/"} {
		if resp, _ := srv.get(t, "GET", "/nolist/"+strings.TrimPrefix(href, "./"), nil); resp.StatusCode != 200 {
			t.Errorf("listing link %s: GET = %d, want 200", href, resp.StatusCode)
		}
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update to accept it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestServeStreamedChanges checks that a streamed file is looked at again on
// each request: new validators when it changes, 404 when it goes or when a
// symlink leading out of the tree takes its place.
func TestServeStreamedChanges(t *testing.T) {
	fx := newFixture(t)
	srv := testServer{serve(t, fx.load(t, Options{})).URL}
	etag, _ := validatorsOf(t, srv, "/big.bin", nil)

	changed := bytes.Repeat([]byte("x"), 100<<10)
	name := filepath.Join(fx.root, "big.bin")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
	resp, body := srv.get(t, "GET", "/big.bin", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != 200 || !bytes.Equal(body, changed) || resp.Header.Get("Etag") == etag {
		t.Errorf("after replacing big.bin: %d, %d bytes, ETag %q (old %q); want 200 with the new content and a new ETag",
			resp.StatusCode, len(body), resp.Header.Get("Etag"), etag)
	}

	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	exchange{target: "/big.bin", status: 404, body: str(string(fx.files["404.html"]))}.run(t, srv, fx)

	if err := os.Symlink(filepath.Join(fx.outside, "secret.txt"), name); err != nil {
		t.Fatal(err)
	}
	exchange{target: "/big.bin", status: 404}.run(t, srv, fx)
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".secret", name); err != nil {
		t.Fatal(err)
	}
	exchange{target: "/big.bin", status: 404}.run(t, srv, fx)
}
