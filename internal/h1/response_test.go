package h1

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestLimitSource: the body of a streamed file must reach
// net.TCPConn.ReadFrom as one LimitedReader over the *os.File, the only
// shape for which it uses sendfile(2); io.CopyN already wraps the file
// in one.
func TestLimitSource(t *testing.T) {
	f, err := os.Open("response.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name      string
		src       io.Reader
		n, wantN  int64
		wantOuter bool
	}{
		{"io.CopyN's", &io.LimitedReader{R: f, N: 100}, 1000, 100, true},
		{"declared length smaller", &io.LimitedReader{R: f, N: 100}, 40, 40, true},
		{"bare file", f, 70, 70, false},
	} {
		lr, outer := limitSource(tc.src, tc.n)
		if _, ok := lr.R.(*os.File); !ok {
			t.Errorf("%s: limited %T, want *os.File", tc.name, lr.R)
		}
		if lr.N != tc.wantN || (outer != nil) != tc.wantOuter {
			t.Errorf("%s: N %d outer %v, want %d %v", tc.name, lr.N, outer != nil, tc.wantN, tc.wantOuter)
		}
	}
	lr, _ := limitSource(strings.NewReader("abc"), 2)
	if b, _ := io.ReadAll(lr); string(b) != "ab" {
		t.Errorf("limited read %q, want %q", b, "ab")
	}
}
