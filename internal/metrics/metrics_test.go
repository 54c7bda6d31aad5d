package metrics

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestWriteToGolden(t *testing.T) {
	m := New(`v1.2.3-"q"\`, "go1.26.8", func() CacheStats { return CacheStats{Entries: 3, Streamed: 1, Bytes: 4096} })
	m.start = time.UnixMilli(1_700_000_000_123)
	for _, r := range []struct {
		method string
		code   int
		bytes  int64
		d      time.Duration
	}{
		{"GET", 200, 1024, 50 * time.Microsecond},
		{"GET", 200, 1024, 100 * time.Microsecond}, // on a bound: counted in it (le)
		{"GET", 304, 0, 3 * time.Millisecond},
		{"HEAD", 200, 0, 2 * time.Minute}, // beyond the last bound
		{"BREW", 405, 20, time.Millisecond},
		{"GET", 999, 0, time.Millisecond},
	} {
		m.Begin()
		m.End(r.method, r.code, r.bytes, r.d)
	}
	m.Begin() // one still in flight
	m.Reloaded(true)
	m.Reloaded(false)
	m.Reloaded(true)

	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d", n, err, buf.Len())
	}
	checkFormat(t, buf.String())
	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("exposition differs from %s (go test -update to accept):\n%s", golden, buf.String())
	}
}

var (
	commentLine = regexp.MustCompile(`^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge|histogram))$`)
	sampleLine  = regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="(?:[^"\\\n]|\\["\\n])*"(?:,[a-z_]+="(?:[^"\\\n]|\\["\\n])*")*\})? (-?[0-9.e+-]+|\+Inf)$`)
)

// checkFormat checks every line against the text exposition format's
// grammar and that each sample follows the TYPE line of its family.
func checkFormat(t *testing.T, text string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Error("exposition does not end with a line feed")
	}
	family := ""
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if commentLine.MatchString(line) {
			if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
				family, _, _ = strings.Cut(f, " ")
			}
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("malformed line %q", line)
			continue
		}
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
		if name != family && m[1] != family {
			t.Errorf("sample %q outside its family (last TYPE %q)", line, family)
		}
	}
}

func TestMethodAndCodeIndex(t *testing.T) {
	for i, m := range methods[:otherMethod] {
		if got := methodIndex(m); got != i {
			t.Errorf("methodIndex(%q) = %d, want %d", m, got, i)
		}
	}
	for _, m := range []string{"get", "BREW", ""} {
		if got := methodIndex(m); got != otherMethod {
			t.Errorf("methodIndex(%q) = %d, want OTHER", m, got)
		}
	}
	for _, tc := range []struct{ code, want int }{{100, 0}, {200, 100}, {599, 499}, {600, otherCode}, {99, otherCode}} {
		if got := codeIndex(tc.code); got != tc.want {
			t.Errorf("codeIndex(%d) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

func TestEndAllocatesNothing(t *testing.T) {
	m := New("dev", "go", nil)
	if n := testing.AllocsPerRun(1000, func() { m.Begin(); m.End("GET", 200, 1024, time.Millisecond) }); n != 0 {
		t.Errorf("Begin+End allocate %v times per request, want 0", n)
	}
}

func BenchmarkEnd(b *testing.B) {
	m := New("dev", "go", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Begin()
			m.End("GET", 200, 1024, 80*time.Microsecond)
		}
	})
}
