package site

import (
	"context"
	"net/http"
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
