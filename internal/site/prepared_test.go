package site

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/fstest"
)

// TestPrepareRefuses checks that no response is prepared when a fixed field
// would change the framing or the Date, or would not be written as it
// stands, and that one is otherwise. (That a prepared head equals what the
// general path writes is held byte for byte in internal/h1.)
func TestPrepareRefuses(t *testing.T) {
	fsys := fstest.MapFS{"index.html": {Data: []byte("<p>hi")}}
	for _, tc := range []struct {
		name     string
		header   http.Header
		prepared bool
	}{
		{"none", nil, true},
		{"plain", http.Header{"X-Frame-Options": {"DENY"}}, true},
		{"empty list", http.Header{"X-Empty": {}}, true},
		{"connection", http.Header{"Connection": {"close"}}, false},
		{"date", http.Header{"Date": {"Mon, 30 Nov 2026 00:00:00 GMT"}}, false},
		{"content-length", http.Header{"Content-Length": {"3"}}, false},
		{"transfer-encoding", http.Header{"Transfer-Encoding": {"chunked"}}, false},
		{"trailer", http.Header{"Trailer": {"X-Sum"}}, false},
		{"trailer prefix", http.Header{http.TrailerPrefix + "X-Sum": {"1"}}, false},
		{"trailing space", http.Header{"X-A": {"b "}}, false},
		{"line break", http.Header{"X-A": {"b\r\nX-B: c"}}, false},
		{"non-ascii", http.Header{"X-A": {"caf\u00e9"}}, false},
		{"bad name", http.Header{"Bad Name": {"x"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(context.Background(), Options{FS: fsys, Header: tc.header})
			if err != nil {
				t.Fatal(err)
			}
			got := s.index["/index.html"].identity.prepared
			if (got != nil) != tc.prepared {
				t.Fatalf("prepared %q, want prepared: %v", got, tc.prepared)
			}
		})
	}
}

// TestFixedFields: every response of the Site carries Options.Header, a
// field already in the header map when ServeHTTP is called keeps its
// value, and the Site's own fields take precedence over a fixed one.
func TestFixedFields(t *testing.T) {
	fsys := fstest.MapFS{"index.html": {Data: []byte("<p>hi")}}
	fixed := http.Header{"X-Frame-Options": {"DENY"}, "Cache-Control": {"private"}, "X-A": {"a"}}
	s, err := Load(context.Background(), Options{FS: fsys, Header: fixed})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, target string
		preset         http.Header
		code           int
		want           http.Header
	}{
		{"GET", "/index.html", nil, 200, http.Header{"X-Frame-Options": {"DENY"}, "X-A": {"a"}, "Cache-Control": {"no-cache"}}},
		{"HEAD", "/", nil, 200, http.Header{"X-Frame-Options": {"DENY"}, "X-A": {"a"}}},
		{"GET", "/missing.css", nil, 404, http.Header{"X-Frame-Options": {"DENY"}, "X-A": {"a"}}},
		{"OPTIONS", "/", nil, 204, http.Header{"X-Frame-Options": {"DENY"}, "Allow": {"GET, HEAD, OPTIONS"}}},
		{"DELETE", "/", nil, 405, http.Header{"X-A": {"a"}}},
		{"GET", "/index.html", http.Header{"X-Frame-Options": {"SAMEORIGIN"}}, 200, http.Header{"X-Frame-Options": {"SAMEORIGIN"}, "X-A": {"a"}}},
	} {
		w := httptest.NewRecorder()
		for k, v := range tc.preset {
			w.Header()[k] = v
		}
		s.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
		if w.Code != tc.code {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.target, w.Code, tc.code)
		}
		for k, v := range tc.want {
			if got := w.Header()[k]; !slices.Equal(got, v) {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.target, k, got, v)
			}
		}
	}
}
