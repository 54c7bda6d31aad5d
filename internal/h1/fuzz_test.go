package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

// FuzzParseHead holds parseHead to net/http's reading of the same bytes:
// whatever parseHead accepts, http.ReadRequest must read as the same
// request. (What it refuses goes to net/http anyway.)
func FuzzParseHead(f *testing.F) {
	for _, tc := range parityCases {
		f.Add([]byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &http.Request{Header: make(http.Header)}
		n, res := parseHead(b, r, nil)
		if res != parsed {
			return
		}
		if n <= 0 || n > len(b) || !bytes.HasSuffix(b[:n], crlfcrlf) {
			t.Fatalf("head length %d of %d bytes", n, len(b))
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("parseHead accepted what net/http refuses (%v): %q", err, b[:n])
		}
		if want.ContentLength > 0 || len(want.TransferEncoding) > 0 {
			t.Fatalf("parseHead accepted a request with a body: %q", b[:n])
		}
		// The same head again through a connection's cache, once to fill
		// it and once to hit it, must give the same request.
		var uc headCache
		for range 2 {
			again := &http.Request{Header: make(http.Header)}
			if m, res := parseHead(b, again, &uc); m != n || res != parsed || !reflect.DeepEqual(again.URL, r.URL) || again.RequestURI != r.RequestURI ||
				again.Host != r.Host || !reflect.DeepEqual(again.Header, r.Header) {
				t.Fatalf("%q through the cache: %d %v %#v %q %v, want %d %#v %q %v", b[:n], m, res, again.URL, again.Host, again.Header, n, r.URL, r.Host, r.Header)
			}
		}
		got := []any{r.Method, r.RequestURI, r.URL.String(), r.Host, r.Close, r.Proto, r.ProtoMajor, r.ProtoMinor, r.Header}
		exp := []any{want.Method, want.RequestURI, want.URL.String(), want.Host, want.Close, want.Proto, want.ProtoMajor, want.ProtoMinor, want.Header}
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("%q\nparseHead: %#v\nnet/http:  %#v", b[:n], got, exp)
		}
	})
}

// FuzzParity is TestParity for arbitrary bytes: h1 and net/http must
// answer them alike. The seed corpus runs with go test; go test -fuzz
// explores further.
func FuzzParity(f *testing.F) {
	for _, tc := range parityCases {
		f.Add([]byte(tc.raw))
	}
	p, _ := startPair(f, testHandler(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 32<<10 {
			return
		}
		got, _ := exchange(t, p.fast, string(b))
		want, _ := exchange(t, p.std, string(b))
		if got != want {
			t.Fatalf("h1 and net/http differ on %q\nh1:\n%s\nnet/http:\n%s", b, got, want)
		}
	})
}
