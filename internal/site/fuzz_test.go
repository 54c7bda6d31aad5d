package site

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzResolve checks path resolution, alone and through the handler on the
// test tree: a resolved path is canonical, stays under the root and names
// no dotfile; no request-target gets a secret byte, or a 200 for a path
// with a dot segment. Seeds: testdata/fuzz/FuzzResolve.
func FuzzResolve(f *testing.F) {
	fx := newFixture(f)
	s := fx.load(f, Options{Listing: true})
	f.Add("/docs/../index.html")
	f.Fuzz(func(t *testing.T, target string) {
		if key, ok := resolve(target); ok {
			checkKey(t, target, key, fx.root)
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http answers 400 before any handler runs
		}
		r := &http.Request{Method: "GET", URL: u, Header: http.Header{}, RequestURI: target}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if bytes.Contains(rec.Body.Bytes(), []byte(secret)) {
			t.Fatalf("GET %q (path %q) disclosed a secret: %q", target, u.Path, rec.Body.Bytes())
		}
		if rec.Code == 200 {
			for i, seg := range strings.Split(u.Path, "/") {
				if strings.HasPrefix(seg, ".") && seg != "." && seg != ".." && !(i == 1 && seg == wellKnown) {
					t.Fatalf("GET %q (path %q) = 200 despite dot segment %q", target, u.Path, seg)
				}
			}
		}
	})
}

// checkKey asserts what resolve promises of a key it returned for in.
func checkKey(t *testing.T, in, key, root string) {
	t.Helper()
	if !strings.HasPrefix(key, "/") || strings.Contains(key, "//") {
		t.Fatalf("resolve(%q) = %q: not a clean absolute path", in, key)
	}
	segs := strings.Split(strings.Trim(key, "/"), "/")
	for i, seg := range segs {
		if key == "/" {
			break
		}
		if seg == "." || seg == ".." || !validSegment(seg) {
			t.Fatalf("resolve(%q) = %q: segment %q", in, key, seg)
		}
		if seg[0] == '.' && !(i == 0 && seg == wellKnown) {
			t.Fatalf("resolve(%q) = %q: dot segment %q", in, key, seg)
		}
	}
	if again, ok := resolve(key); !ok || again != key {
		t.Fatalf("resolve(%q) = %q, but resolve(%q) = %q, %v", in, key, key, again, ok)
	}
	joined := filepath.Join(root, filepath.FromSlash(key))
	if rel, err := filepath.Rel(root, joined); err != nil || !filepath.IsLocal(rel) {
		t.Fatalf("resolve(%q) = %q, which leads to %s, outside %s", in, key, joined, root)
	}
}

// FuzzRange checks range parsing for any header and size (no panic, ranges
// within bounds, no overlap, the multipart layout as long as announced), and
// the handler's answers for files of a few sizes (Content-Length equal to the
// body, 206 bodies equal to the bytes named by Content-Range, 416 with
// "bytes */N"). Seeds: testdata/fuzz/FuzzRange.
func FuzzRange(f *testing.F) {
	sizes := []int{0, 1, 20, 5000}
	fsys := fstest.MapFS{}
	contents := map[string][]byte{}
	for _, n := range sizes {
		name := fmt.Sprintf("f%d.txt", n)
		contents[name] = content(n)
		fsys[name] = &fstest.MapFile{Data: contents[name]}
	}
	s, err := Load(context.Background(), Options{FS: fsys})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("bytes=0-0", int64(10))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		checkRanges(t, header, size)

		name := fmt.Sprintf("f%d.txt", sizes[int(size%int64(len(sizes)))])
		r := httptest.NewRequest("GET", "/"+name, nil)
		r.Header.Set("Range", header)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		checkRangeResponse(t, header, contents[name], rec)
	})
}

// content returns n bytes that cannot contain a multipart delimiter.
func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func checkRanges(t *testing.T, header string, size int64) {
	t.Helper()
	ranges, res := parseRange(header, size, nil)
	if res != rangeOK {
		if ranges != nil {
			t.Fatalf("parseRange(%q, %d) = %v with result %d", header, size, ranges, res)
		}
		return
	}
	if len(ranges) == 0 || len(ranges) > maxRanges {
		t.Fatalf("parseRange(%q, %d) = %d ranges", header, size, len(ranges))
	}
	for i, r := range ranges {
		if r.start < 0 || r.length <= 0 || r.start > size-r.length {
			t.Fatalf("parseRange(%q, %d): range %+v out of bounds", header, size, r)
		}
		for _, o := range ranges[i+1:] {
			if r.start < o.start+o.length && o.start < r.start+r.length {
				t.Fatalf("parseRange(%q, %d): %+v overlaps %+v", header, size, r, o)
			}
		}
	}
	if size > 1<<16 {
		return
	}
	data := content(int(size))
	m := byteranges{boundary: "B0UNDARY", ctype: "text/plain", size: size, ranges: ranges}
	var buf bytes.Buffer
	if err := m.writeTo(&buf, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != m.length() {
		t.Fatalf("parseRange(%q, %d): multipart body is %d bytes, length() says %d", header, size, buf.Len(), m.length())
	}
	mr := multipart.NewReader(&buf, m.boundary)
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if i != len(ranges) {
				t.Fatalf("parseRange(%q, %d): %d parts, want %d", header, size, i, len(ranges))
			}
			break
		}
		if err != nil {
			t.Fatalf("parseRange(%q, %d): part %d: %v", header, size, i, err)
		}
		got, _ := io.ReadAll(p)
		r := ranges[i]
		if !bytes.Equal(got, data[r.start:r.start+r.length]) || p.Header.Get("Content-Range") != contentRange(r, size) {
			t.Fatalf("parseRange(%q, %d): part %d = %q %q, want %+v", header, size, i, p.Header.Get("Content-Range"), got, r)
		}
	}
}

func checkRangeResponse(t *testing.T, header string, data []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Fatalf("Range %q on %d bytes: Content-Length %s, body %d bytes", header, len(data), cl, len(body))
	}
	size := strconv.Itoa(len(data))
	switch rec.Code {
	case 200:
		if !bytes.Equal(body, data) {
			t.Fatalf("Range %q on %d bytes: 200 with a different body", header, len(data))
		}
	case 416:
		if got := rec.Header().Get("Content-Range"); got != "bytes */"+size {
			t.Fatalf("Range %q on %d bytes: 416 with Content-Range %q", header, len(data), got)
		}
	case 206:
		if mt, params, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt == "multipart/byteranges" {
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("Range %q: %v", header, err)
				}
				got, _ := io.ReadAll(p)
				checkPart(t, header, p.Header.Get("Content-Range"), size, got, data)
			}
		}
		checkPart(t, header, rec.Header().Get("Content-Range"), size, body, data)
	default:
		t.Fatalf("Range %q on %d bytes: status %d", header, len(data), rec.Code)
	}
}

// checkPart checks that got is the part of data that a Content-Range value
// names.
func checkPart(t *testing.T, header, cr, size string, got, data []byte) {
	t.Helper()
	var first, last int
	var total string
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%s", &first, &last, &total); err != nil || total != size ||
		first < 0 || last < first || last >= len(data) || !bytes.Equal(got, data[first:last+1]) {
		t.Fatalf("Range %q on %s bytes: part with Content-Range %q holds %q", header, size, cr, got)
	}
}
