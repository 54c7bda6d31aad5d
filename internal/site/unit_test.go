package site

import (
	"net/http"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means refused
	}{
		{"/", "/"},
		{"/index.html", "/index.html"},
		{"/a/b/", "/a/b/"},
		{"//a///b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/b/.", "/a/b/"},
		{"/a/b/..", "/a/"},
		{"/a/../b", "/b"},
		{"/a/b/../../c/", "/c/"},
		{"/.", "/"},
		{"/a/..", "/"},
		{"/.well-known/acme-challenge/x", "/.well-known/acme-challenge/x"},
		{"/a/../.well-known/x", "/.well-known/x"},
		{"/café/ü.html", "/café/ü.html"},
		{"/a b/c%d", "/a b/c%d"},
		{"", ""},
		{"a", ""},
		{"*", ""},
		{"/..", ""},
		{"/../a", ""},
		{"/a/../..", ""},
		{"/a/../../b", ""},
		{"/.git/config", ""},
		{"/.git/../a", ""},
		{"/a/.env", ""},
		{"/a/.well-known/x", ""},
		{"/.well-known/.x", ""},
		{"/...", ""},
		{"/a\\b", ""},
		{"/a\x00b", ""},
		{"/a\nb", ""},
		{"/a\x7fb", ""},
		{"/\xc0\xae\xc0\xae/x", ""},
		{"/\xff", ""},
	}
	for _, tt := range tests {
		got, ok := resolve(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("resolve(%q) = %q, want it refused", tt.in, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestRawPathSafe(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"", true},
		{"/a%20b", true},
		{"/caf%c3%a9", true},
		{"/100%25", true},
		{"/trailing%", true},
		{"/%2e%2e/x", false},
		{"/%2E", false},
		{"/a%2fb", false},
		{"/a%2Fb", false},
		{"/a%5cb", false},
		{"/a%5Cb", false},
		{"/a%00", false},
		{"/%252e", true}, // %25 is '%': "%2e" is then a literal name
	}
	for _, tt := range tests {
		if got := rawPathSafe(tt.raw); got != tt.want {
			t.Errorf("rawPathSafe(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestFingerprinted(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"/app.3f9a1c2e.js", true},
		{"/assets/main-5D3FGX7Q.css", true},
		{"/chunk-0123ABCD.js", true},
		{"/img/logo_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.png", true},
		{"/x.deadbeef42.woff2", true},
		{"/app.js", false},
		{"/jquery-3.7.1.min.js", false},
		{"/report-20240101.pdf", false}, // a date: all digits
		{"/deadbeefcafe.js", false},     // hex letters only: may be a word
		{"/bootstrap5.css", false},      // lowercase letters outside hex
		{"/README2024.txt", false},      // letters then digits: a word
		{"/MP3PLAYER.js", false},        // three runs only
		{"/app.3f9a1c2.js", false},      // 7 characters
		{"/3f9a1c2e.js", true},          // the hash is the whole stem
		{"/dir.3f9a1c2e/app.js", false}, // only the file name counts
		{"/app.3F9a1c2e.js", false},     // mixed-case hex
		{"/index-BfXk3a9Q.js", false},   // mixed-case base64: not detected
		{"/app.js.3f9a1c2e", false},     // the last extension is not a part
		{"/ABCDEFGH12.css", false},      // digits only at the end
		{"/A1B2CDEFG.css", true},        // interleaved
		{"/COVID19.css", false},         // 7 characters
	}
	for _, tt := range tests {
		if got := fingerprinted(tt.name); got != tt.want {
			t.Errorf("fingerprinted(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	identity := &rep{}
	br, zstd, gz := rep{coding: "br"}, rep{coding: "zstd"}, rep{coding: "gzip"}
	all := []rep{br, zstd, gz}
	tests := []struct {
		ae       []string
		variants []rep
		want     string // coding, "" for identity
	}{
		{nil, all, ""},
		{[]string{""}, all, ""},
		{[]string{"gzip"}, all, "gzip"},
		{[]string{"GZIP"}, all, "gzip"},
		{[]string{"x-gzip"}, all, "gzip"},
		{[]string{"gzip, br"}, all, "br"},
		{[]string{"br;q=0.9, gzip"}, all, "gzip"},
		{[]string{"br;q=1.0, gzip;q=1"}, all, "br"},
		{[]string{"gzip, zstd"}, all, "zstd"},
		{[]string{"*"}, all, "br"},
		{[]string{"*;q=0.5, br;q=0.1"}, all, "zstd"},
		{[]string{"br;q=0"}, all, ""},
		{[]string{"gzip;q=0.5"}, all, "gzip"},
		{[]string{"gzip;q=0.5, identity"}, all, ""},
		{[]string{"identity;q=0, gzip;q=0"}, all, ""},
		{[]string{"gzip;q=2"}, all, ""},
		{[]string{"gzip;q=0.1234"}, all, ""},
		{[]string{"gzip;q=1.001"}, all, ""},
		{[]string{"gzip ; Q=0.3 , br;q=0.2"}, all, "gzip"},
		{[]string{"gzip;level=9;q=0.3, br;q=0.2"}, all, "gzip"},
		{[]string{",,gzip,,"}, all, "gzip"},
		{[]string{"deflate"}, all, ""},
		{[]string{"gzip"}, []rep{br}, ""},
		{[]string{"br"}, []rep{gz}, ""},
		{[]string{"gzip", "br"}, all, "br"},
	}
	for _, tt := range tests {
		got := negotiate(tt.ae, identity, tt.variants)
		if got.coding != tt.want {
			t.Errorf("negotiate(%q) = %q, want %q", tt.ae, got.coding, tt.want)
		}
	}
}

func TestParseQ(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"1", 1000}, {"1.", 1000}, {"1.000", 1000}, {"0", 0}, {"0.5", 500}, {"0.05", 50},
		{"0.001", 1}, {"0.1234", 0}, {"1.5", 0}, {"2", 0}, {".5", 0}, {"", 0}, {"0.a", 0}, {"-1", 0},
	}
	for _, tt := range tests {
		if got := parseQ(tt.in); got != tt.want {
			t.Errorf("parseQ(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	type r = byteRange
	tests := []struct {
		in   string
		size int64
		want []byteRange
		res  rangeResult
	}{
		{"bytes=0-0", 10, []r{{0, 1}}, rangeOK},
		{"bytes=0-", 10, []r{{0, 10}}, rangeOK},
		{"bytes=-3", 10, []r{{7, 3}}, rangeOK},
		{"bytes=-30", 10, []r{{0, 10}}, rangeOK},
		{"bytes=5-100", 10, []r{{5, 5}}, rangeOK},
		{"bytes= 1-2 , 4-5 ", 10, []r{{1, 2}, {4, 2}}, rangeOK},
		{"bytes=4-5,1-2", 10, []r{{4, 2}, {1, 2}}, rangeOK},
		{"bytes=0-99999999999999999999999", 10, []r{{0, 10}}, rangeOK},
		{"bytes=10-", 10, nil, rangeUnsatisfiable},
		{"bytes=99999999999999999999999-", 10, nil, rangeUnsatisfiable},
		{"bytes=-0", 10, nil, rangeUnsatisfiable},
		{"bytes=0-", 0, nil, rangeUnsatisfiable},
		{"bytes=10-,20-", 10, nil, rangeUnsatisfiable},
		{"bytes=10-,2-3", 10, []r{{2, 2}}, rangeOK},
		{"bytes=", 10, nil, rangeIgnore},
		{"bytes=,", 10, nil, rangeIgnore},
		{"bytes=3-2", 10, nil, rangeIgnore},
		{"bytes=a-", 10, nil, rangeIgnore},
		{"bytes=-", 10, nil, rangeIgnore},
		{"bytes=1", 10, nil, rangeIgnore},
		{"bytes=+1-2", 10, nil, rangeIgnore},
		{"bytes=1--2", 10, nil, rangeIgnore},
		{"bytes=0-1,x", 10, nil, rangeIgnore},
		{"bytes=0-5,5-6", 10, nil, rangeIgnore},
		{"bytes=-5,0-5", 10, nil, rangeIgnore},
		{"items=0-1", 10, nil, rangeIgnore},
		{"0-1", 10, nil, rangeIgnore},
	}
	for _, tt := range tests {
		got, res := parseRange(tt.in, tt.size, nil)
		if res != tt.res || len(got) != len(tt.want) {
			t.Errorf("parseRange(%q, %d) = %v, %d; want %v, %d", tt.in, tt.size, got, res, tt.want, tt.res)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseRange(%q, %d) = %v, want %v", tt.in, tt.size, got, tt.want)
				break
			}
		}
	}
}

// mayBeConditional may only skip evaluate's steps when none of them could
// apply: it must say true for every field evaluate reads.
func TestMayBeConditional(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want bool
	}{
		{"none", http.Header{}, false},
		{"plain browser", http.Header{"Accept": {"*/*"}, "User-Agent": {"x"}, "Accept-Encoding": {"gzip"}}, false},
		{"If-Match", http.Header{"Accept": {"*/*"}, "If-Match": {`"a"`}}, true},
		{"If-None-Match", http.Header{"If-None-Match": {`"a"`}}, true},
		{"If-Modified-Since", http.Header{"If-Modified-Since": {"x"}}, true},
		{"If-Unmodified-Since", http.Header{"If-Unmodified-Since": {"x"}}, true},
		{"If-Range", http.Header{"If-Range": {"x"}}, true},
		{"Range", http.Header{"Range": {"bytes=0-1"}}, true},
		{"many fields", http.Header{"A": nil, "B": nil, "C": nil, "D": nil, "E": nil, "F": nil, "G": nil, "H": nil, "I": nil}, true},
	} {
		if got := mayBeConditional(tc.h); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// And evaluate decides as it did for a request with none of them.
	v := &validators{etag: `"a"`, lastModified: "Mon, 30 Nov 2026 00:00:00 GMT"}
	r := &http.Request{Method: http.MethodGet, Header: http.Header{"Accept": {"*/*"}}}
	if d := evaluate(r, v); d != sendFull {
		t.Errorf("evaluate without conditional fields: %v, want sendFull", d)
	}
}
