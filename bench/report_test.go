package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// loadResults reads testdata/results.json: the raw results of a real, short
// run (1 s rounds, a placeholder gohttp-smol that sends the wrong bytes).
func loadResults(t *testing.T) *results {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res results
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bench -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, rerun with -update.\ngot:\n%s", name, got)
	}
}

func TestReportGolden(t *testing.T) {
	s := summarize(loadResults(t))
	md, err := renderMarkdown(s, "bench/server.svg")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", md)
	svg, err := renderSVG(s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "server.svg.golden", svg)

	// The chart must be well-formed XML, whatever the labels hold.
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
	}
	// The placeholder's wrong answers must show, never pass as a result.
	if !bytes.Contains(md, []byte("**Preliminary:**")) || !bytes.Contains(md, []byte("✗ wrong content")) {
		t.Error("a gohttp-smol that sent the wrong bytes is not flagged in the report")
	}
}

// fakeResults builds results with one run per server and file.
func fakeResults(rps map[string]map[string]float64) *results {
	res := &results{Schema: resultsSchema, Files: benchFiles()}
	for i := range res.Files {
		res.Files[i].Size = len(res.Files[i].content)
	}
	for _, name := range allServers {
		byFile, ok := rps[name]
		if !ok {
			continue
		}
		si := serverInfo{Name: name, BinaryBytes: 5 << 20, IdleRSS: 6 << 20, Startup: []time.Duration{4 * time.Millisecond}}
		if name == nameSmol {
			si.DefaultSite = &siteFigures{IdleRSS: 6 << 20, Startup: []time.Duration{3 * time.Millisecond}}
		}
		for _, f := range res.Files {
			c := check{File: f.Key, Status: 200}
			if f.Gzip && name != nameSeed {
				c.ContentEncoding = "gzip"
			}
			si.Checks = append(si.Checks, c)
			v := byFile[f.Key]
			res.Runs = append(res.Runs, runResult{Round: 1, Server: name, File: f.Key,
				Wrk: wrkResult{Requests: int64(v * 5), Duration: 5 * time.Second, RequestsSec: v, TransferSec: v * float64(f.Size)}})
		}
		res.Servers = append(res.Servers, si)
	}
	return res
}

func all(v float64) map[string]float64 { return map[string]float64{"1k": v, "100k-gz": v, "10m": v} }

func TestComputeTargets(t *testing.T) {
	tests := []struct {
		name   string
		res    func() *results
		status []string // one per target, in computeTargets' order
		got    map[int]string
	}{
		{
			name: "all met",
			res: func() *results {
				return fakeResults(map[string]map[string]float64{nameSmol: all(100), nameNginx: all(100), nameSeed: all(40)})
			},
			status: []string{statusPass, statusPass, statusPass, statusPass, statusSkip, statusPass, statusPass, statusPass},
			got:    map[int]string{0: "1.00x (100 req/s vs 100 req/s)", 1: "2.50x", 3: "1.00x (1000 MiB/s vs 1000 MiB/s)"},
		},
		{
			name: "just below each ratio",
			res: func() *results {
				return fakeResults(map[string]map[string]float64{
					nameSmol:  {"1k": 79, "100k-gz": 99, "10m": 89},
					nameNginx: all(100), nameSeed: {"1k": 32, "100k-gz": 1, "10m": 1}})
			},
			status: []string{statusFail, statusFail, statusFail, statusFail, statusSkip, statusPass, statusPass, statusPass},
			got:    map[int]string{1: "2.47x"},
		},
		{
			name: "nginx not run",
			res: func() *results {
				return fakeResults(map[string]map[string]float64{nameSmol: all(100), nameSeed: all(10)})
			},
			status: []string{statusSkip, statusPass, statusSkip, statusSkip, statusSkip, statusPass, statusPass, statusPass},
		},
		{
			name: "fast but wrong content, no gzip, too big, slow start, fat",
			res: func() *results {
				r := fakeResults(map[string]map[string]float64{nameSmol: all(1000), nameNginx: all(100), nameSeed: all(100)})
				r.Servers[0].Checks[0].Problem = "wrong content: 16 bytes that are not hello.html"
				r.Servers[0].Checks[1].ContentEncoding = ""
				r.Servers[0].BinaryBytes = 8<<20 + 1
				r.Servers[0].Startup = []time.Duration{19 * time.Millisecond, 25 * time.Millisecond, 21 * time.Millisecond}
				r.Servers[0].DefaultSite.IdleRSS = 10<<20 + 1
				return r
			},
			status: []string{statusFail, statusFail, statusFail, statusPass, statusSkip, statusFail, statusFail, statusFail},
			got: map[int]string{0: "gohttp-smol served the wrong response: wrong content", 2: "did not send gzip",
				5: "10.0 MiB", 6: "21.0 ms median", 7: "8.0 MiB"},
		},
		{
			name: "gohttp-smol not run",
			res: func() *results {
				return fakeResults(map[string]map[string]float64{nameNginx: all(100), nameSeed: all(100)})
			},
			status: []string{statusSkip, statusSkip, statusSkip, statusSkip, statusSkip, statusSkip, statusSkip, statusSkip},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets := summarize(tt.res()).targets
			if len(targets) != len(tt.status) {
				t.Fatalf("%d targets, want %d", len(targets), len(tt.status))
			}
			for i, tr := range targets {
				if tr.Status != tt.status[i] {
					t.Errorf("target %d (%s %s): %s (%s), want %s", i, tr.Name, tr.Want, tr.Status, tr.Got, tt.status[i])
				}
				if want, ok := tt.got[i]; ok && !strings.Contains(tr.Got, want) {
					t.Errorf("target %d (%s): measured %q, want it to contain %q", i, tr.Name, tr.Got, want)
				}
			}
		})
	}
}

// TestLighttpdTargets checks the targets against lighttpd: per server
// CPU-second at saturation, and CPU per request at the highest fixed rate,
// which fails when either server did not sustain the rate.
func TestLighttpdTargets(t *testing.T) {
	fixedRes := func(smolCPU, lightCPU time.Duration, smolDone int64) *results {
		res := fakeResults(map[string]map[string]float64{nameSmol: all(100), nameLighttpd: all(100)})
		for i := range res.Runs {
			res.Runs[i].ServerCPU = 5 * time.Second // both at a full core: 100 req per CPU-second
		}
		res.Settings.Fixed = &fixedSettings{Rates: []int{5000, 40000}, Connections: 32, Duration: time.Second, Rounds: 3, File: "1k"}
		for round := 1; round <= 3; round++ {
			for _, x := range []struct {
				name string
				cpu  time.Duration
				done int64
			}{{nameSmol, smolCPU, smolDone}, {nameLighttpd, lightCPU, 40000}} {
				res.Fixed = append(res.Fixed, fixedRun{Round: round, Server: x.name, Rate: 40000,
					Result:    fixedResult{Requests: x.done, Duration: time.Second},
					ServerCPU: x.cpu + time.Duration(round-2)*10*time.Millisecond}) // spread around the median
			}
		}
		return res
	}
	for _, tc := range []struct {
		name        string
		res         *results
		cpuSec, fix string // statuses
		got         string
	}{
		{"equal", fixedRes(500*time.Millisecond, 500*time.Millisecond, 40000), statusPass, statusPass, "1.00x (12.5 µs vs 12.5 µs)"},
		{"at the limit", fixedRes(575*time.Millisecond, 500*time.Millisecond, 40000), statusPass, statusPass, "1.15x"},
		{"above", fixedRes(600*time.Millisecond, 500*time.Millisecond, 40000), statusPass, statusFail, "1.20x"},
		{"not sustained", fixedRes(400*time.Millisecond, 500*time.Millisecond, 30000), statusPass, statusFail, "not sustained"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(tc.res)
			cpuSec, fix := s.targets[4], s.targets[len(s.targets)-4]
			if cpuSec.Status != tc.cpuSec || !strings.Contains(cpuSec.Got, "1.00x") {
				t.Errorf("per CPU-second target: %s %q, want %s, 1.00x", cpuSec.Status, cpuSec.Got, tc.cpuSec)
			}
			if fix.Status != tc.fix || !strings.Contains(fix.Got, tc.got) {
				t.Errorf("fixed-rate target %q: %s %q, want %s and %q", fix.Name, fix.Status, fix.Got, tc.fix, tc.got)
			}
			c := s.fixed[40000][nameSmol]
			if c.Runs != 3 || c.Max-c.Min < 0.4 {
				t.Errorf("fixed cell %+v: want 3 runs and the spread of the rounds", c)
			}
		})
	}
}

func TestSummarizeMedians(t *testing.T) {
	res := fakeResults(map[string]map[string]float64{nameNginx: all(100)})
	// Two more rounds; one with errors still counts, one with no request
	// completed does not.
	res.Runs = append(res.Runs,
		runResult{Round: 2, Server: nameNginx, File: "1k", Problem: "3 socket errors",
			Wrk: wrkResult{Requests: 1, Duration: 5 * time.Second, RequestsSec: 300, P99: time.Millisecond}},
		runResult{Round: 3, Server: nameNginx, File: "1k", Problem: "no request completed", Wrk: wrkResult{Duration: time.Second}},
	)
	c := summarize(res).cell("1k", nameNginx)
	if c.Runs != 2 || c.ReqSec != 200 {
		t.Errorf("cell: %d runs, %v req/s; want 2 runs, median 200", c.Runs, c.ReqSec)
	}
	if len(c.Problems) != 2 || !strings.HasPrefix(c.Problems[0], "round 2: ") {
		t.Errorf("problems %q, want both rounds' problems, labelled", c.Problems)
	}
	if r := summarize(res).ratio("1k", nameSmol, nameNginx); !math.IsNaN(r) {
		t.Errorf("ratio of a server that did not run = %v, want NaN", r)
	}
}

// TestWriteReport writes the report twice into a BENCHMARKS.md that holds
// another section: that section survives, the second write changes nothing,
// and a file with a broken marker is left untouched.
func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	md, svg := filepath.Join(dir, "BENCHMARKS.md"), filepath.Join(dir, "bench", "server.svg")
	if err := os.Mkdir(filepath.Dir(svg), 0o755); err != nil {
		t.Fatal(err)
	}
	lead := "# Benchmarks\n\n<!-- bench:build:begin -->\n## Build\nwarm rebuild 0.9 s\n<!-- bench:build:end -->\n"
	if err := os.WriteFile(md, []byte(lead), 0o644); err != nil {
		t.Fatal(err)
	}
	s := summarize(loadResults(t))
	if err := writeReport(s, md, svg); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(first, []byte(lead)) {
		t.Error("the other section did not survive")
	}
	if !bytes.Contains(first, []byte("![Throughput relative to nginx](bench/server.svg)")) {
		t.Error("the chart link is not relative to BENCHMARKS.md")
	}
	if _, err := os.Stat(svg); err != nil {
		t.Errorf("chart not written: %v", err)
	}
	if err := writeReport(s, md, svg); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(md); !bytes.Equal(first, second) {
		t.Error("rewriting the same results changed the file")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	broken := []byte("# Benchmarks\n" + beginMarker + "\nhand-edited, end marker lost\n")
	if err := os.WriteFile(md, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(s, md, svg); err == nil || !strings.Contains(err.Error(), "fix the file by hand") {
		t.Errorf("broken markers: error = %v, want one asking for a fix by hand", err)
	}
	if got, _ := os.ReadFile(md); !bytes.Equal(got, broken) {
		t.Error("a BENCHMARKS.md with broken markers was modified")
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtCount(0), "0"}, {fmtCount(999.6), "1,000"}, {fmtCount(52220.52), "52,221"}, {fmtCount(1234567), "1,234,567"},
		{fmtBytes(512), "512 B"}, {fmtBytes(1536), "1.5 KiB"}, {fmtBytes(100 << 10), "100 KiB"}, {fmtBytes(1.32 * (1 << 30)), "1.3 GiB"},
		{fmtDuration(0), "—"}, {fmtDuration(577 * time.Microsecond), "577 µs"}, {fmtDuration(3300 * time.Microsecond), "3.30 ms"},
		{fmtDuration(45 * time.Millisecond), "45.0 ms"}, {fmtDuration(341 * time.Millisecond), "341 ms"}, {fmtDuration(1500 * time.Millisecond), "1.50 s"},
		{fmtRatio(math.NaN()), "—"}, {fmtRatio(0.8049), "0.80x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]time.Duration{4, 1, 3, 2}); m != 2 {
		t.Errorf("median even = %v, want 2 (integer mean of 2 and 3)", m)
	}
	if m := median[int64](nil); m != 0 {
		t.Errorf("median empty = %v", m)
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its argument in place")
	}
	if got := rotate([]int{0, 1, 2, 3, 4}, 7); got[0] != 2 || len(got) != 5 {
		t.Errorf("rotate by 7 of 5 = %v, want to start at 2", got)
	}
}
