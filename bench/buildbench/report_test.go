package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sec(f ...float64) []time.Duration {
	var ds []time.Duration
	for _, x := range f {
		ds = append(ds, time.Duration(x*float64(time.Second)))
	}
	return ds
}

// fixture is a run's results with round numbers, for the golden report.
func fixture() *results {
	return &results{
		Command:   "go run ./bench/buildbench",
		Date:      time.Date(2026, 11, 27, 1, 2, 0, 0, time.UTC),
		Machine:   machine{NProc: 2, CPU: "AMD EPYC", Kernel: "6.1.0", LoadStart: "4.21 4.73 4.67", LoadEnd: "5.91 5.54 5.00"},
		Versions:  versions{Go: "go version go1.26.8 linux/amd64", Docker: "client 28.2.2, server 20.10.24", Smol: "smol devel at 7db70fabcfc7", GoReleaser: "GoReleaser v2.15.1"},
		Repo:      "/home/dev/gohttp-smol",
		Scratch:   "/tmp/buildbench-1",
		Src:       "/tmp/buildbench-1/src",
		Revision:  "7db70fabcfc7aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Version:   "7db70fa",
		Package:   "./cmd/gohttp-smol",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		Host:      "linux/amd64",
		Image:     "smol/go:1.26.8", ImageID: "431cccece24e",
		EditFile:         "internal/server/server.go",
		EditLine:         `var buildbenchEditN = "N"`,
		GoReleaserConfig: goreleaserConfig("./cmd/gohttp-smol", "gohttp-smol", []string{"linux/amd64", "linux/arm64"}, "7db70fa"),
		Cases: []*measured{
			{Key: caseCold, Name: "cold, linux/amd64 + linux/arm64", Smol: sec(30, 34), GoReleaser: sec(31, 33),
				SmolCmd: "/tmp/buildbench-1/smol build --cache-dir /tmp/buildbench-1/cold-smol-2 ./cmd/gohttp-smol", PeerCmd: "/home/dev/gohttp-smol/bench/results/bin/goreleaser build --snapshot --clean"},
			{Key: caseEdit, Name: "warm, one-line change, linux/amd64 + linux/arm64", Smol: sec(2.0, 2.2, 1.9), GoReleaser: sec(1.5, 1.6, 1.4)},
			{Key: caseNoChange, Name: "warm, no change, linux/amd64 + linux/arm64", Smol: sec(0.25, 0.3, 0.2), GoReleaser: sec(0.5, 0.45, 0.4)},
			{Key: caseNoChangeHost, Name: "warm, no change, host platform (linux/amd64)", Smol: sec(0.2, 0.2, 0.2), GoReleaser: sec(0.35, 0.4, 0.3)},
		},
		ColdSmolDeps:       sec(5, 6),
		ColdSmolStd:        sec(9, 10),
		ColdSmolBuild:      sec(24, 27),
		SmolModCache:       8 << 20,
		GoReleaserModCache: 198 << 20,
		SameBytes:          true,
	}
}

func TestMarkdownGolden(t *testing.T) {
	tests := []struct {
		name string
		res  func() *results
	}{
		{"full", fixture},
		{"warm only", func() *results {
			r := fixture()
			r.Cases = r.Cases[1:]
			r.ColdSmolDeps, r.ColdSmolStd, r.ColdSmolBuild, r.SmolModCache, r.GoReleaserModCache = nil, nil, nil, 0, 0
			return r
		}},
		{"slow and different bytes", func() *results {
			r := fixture()
			r.Cases[0].Smol = sec(40, 41)
			r.Cases[2].Smol = sec(1.6, 1.7, 1.8)
			r.SameBytes = false
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := markdown(tt.res())
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".golden.md")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("markdown differs from %s (go test -update rewrites it); got:\n%s", golden, got)
			}
			if !bytes.HasPrefix(got, []byte(section.Begin()+"\n")) || !bytes.HasSuffix(got, []byte(section.End()+"\n")) {
				t.Errorf("section is not wrapped in its markers")
			}
			if bytes.Contains(got, []byte("/tmp/buildbench-1")) || bytes.Contains(got, []byte("/home/dev/gohttp-smol")) {
				t.Errorf("scratch paths leaked into the report:\n%s", got)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	set := func(r *results, key string, smol, peer []time.Duration) {
		c := r.get(key)
		c.Smol, c.GoReleaser = smol, peer
	}
	tests := []struct {
		name string
		edit func(*results)
		want []string // "pass", "FAIL" or "n/a" per target, in order
	}{
		{"as measured", func(*results) {}, []string{"pass", "pass", "pass"}},
		{"exactly at the limits", func(r *results) {
			set(r, caseEdit, sec(3), sec(2))
			set(r, caseCold, sec(20), sec(20))
			set(r, caseNoChange, sec(0.3), sec(1))
		}, []string{"pass", "pass", "pass"}},
		{"just over", func(r *results) {
			set(r, caseEdit, sec(3.01), sec(2))
			set(r, caseCold, sec(20.1), sec(20))
			set(r, caseNoChange, sec(0.31), sec(1))
		}, []string{"FAIL", "FAIL", "FAIL"}},
		{"ratio of each round, not of medians", func(r *results) {
			// The medians (2 s each) would pass; the rounds' ratios
			// (0.33, 2, 1.6) do not.
			set(r, caseEdit, sec(1, 2, 3.2), sec(3, 1, 2))
		}, []string{"FAIL", "pass", "pass"}},
		{"not measured", func(r *results) { r.Cases = nil }, []string{"n/a", "n/a", "n/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixture()
			tt.edit(r)
			vs := verdicts(r)
			if len(vs) != len(tt.want) {
				t.Fatalf("%d verdicts, want %d", len(vs), len(tt.want))
			}
			for i, v := range vs {
				got := "n/a"
				if v.Known {
					got = map[bool]string{true: "pass", false: "FAIL"}[v.Pass]
				}
				if got != tt.want[i] {
					t.Errorf("%s: %s (%s), want %s", v.Name, got, v.Got, tt.want[i])
				}
			}
		})
	}
}

func TestGoReleaserConfig(t *testing.T) {
	got := goreleaserConfig("./cmd/x", "x", []string{"linux/amd64", "linux/arm64", "darwin/arm64"}, "v1.2.3")
	for _, want := range []string{
		"main: ./cmd/x\n", "binary: x\n", "- CGO_ENABLED=0\n", "goos: [linux, darwin]\n", "goarch: [amd64, arm64]\n",
		// darwin/amd64 is in the cross product but was not asked for.
		"ignore:\n      - goos: darwin\n        goarch: amd64\n",
		"- -trimpath\n", "- -buildvcs=false\n", "- -s -w -buildid= -X main.version=v1.2.3\n", `mod_timestamp: "{{ .CommitTimestamp }}"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(goreleaserConfig("./cmd/x", "x", []string{"linux/amd64", "linux/arm64"}, "v1"), "ignore:") {
		t.Error("a full cross product needs no ignore list")
	}
}

func TestGoReleaserOutput(t *testing.T) {
	dist := t.TempDir()
	for _, d := range []string{"bench_linux_amd64_v1", "bench_linux_arm64_v8.0", "bench_linux_arm_7"} {
		os.MkdirAll(filepath.Join(dist, d), 0o755)
	}
	for _, tt := range []struct{ goos, goarch, want string }{
		{"linux", "amd64", "bench_linux_amd64_v1/x"},
		{"linux", "arm64", "bench_linux_arm64_v8.0/x"},
		{"linux", "arm", "bench_linux_arm_7/x"},
	} {
		got, err := goreleaserOutput(dist, "x", tt.goos, tt.goarch)
		if err != nil || got != filepath.Join(dist, tt.want) {
			t.Errorf("%s/%s: %q %v, want %s", tt.goos, tt.goarch, got, err, tt.want)
		}
	}
	if _, err := goreleaserOutput(dist, "x", "windows", "amd64"); err == nil || !strings.Contains(err.Error(), "no bench_windows_amd64* directory") {
		t.Errorf("missing platform: %v", err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.json")
	if err := saveJSON(path, fixture()); err != nil {
		t.Fatal(err)
	}
	got, err := loadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(markdown(got), markdown(fixture())) {
		t.Error("the report from saved results differs from the report of the results")
	}
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := loadJSON(path); err == nil || !strings.Contains(err.Error(), "load results") {
		t.Errorf("truncated JSON: err = %v", err)
	}
}

// TestResultsAdd: a case added early keeps the times recorded through its
// pointer after later cases are added.
func TestResultsAdd(t *testing.T) {
	var r results
	first := r.add(caseEdit, "first", "", "")
	for i := range 10 {
		r.add(fmt.Sprint("later", i), "later", "", "")
	}
	first.Smol = append(first.Smol, time.Second)
	if got := r.get(caseEdit).Smol; len(got) != 1 {
		t.Errorf("times recorded through the first case's pointer were lost: %v", got)
	}
}
