package main

import (
	"bytes"
	"flag"
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
		Command:  "go run ./bench/buildbench",
		Date:     time.Date(2026, 11, 27, 1, 2, 0, 0, time.UTC),
		Machine:  machine{NProc: 2, CPU: "AMD EPYC", Kernel: "6.1.0", LoadStart: "4.21 4.73 4.67", LoadEnd: "5.91 5.54 5.00"},
		Versions: versions{Go: "go version go1.26.8 linux/amd64", Docker: "client 28.2.2, server 20.10.24", Smol: "smol devel at 7db70fabcfc7"},
		Scratch:  "/tmp/buildbench-1",
		Src:      "/tmp/buildbench-1/src",
		Revision: "7db70fabcfc7aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		Describe: "7db70fa",
		Package:  "./cmd/gohttp-smol",
		Platform: "linux/amd64",
		Image:    "smol/go:1.26.8", ImageID: "431cccece24e",
		EditFile:    "internal/server/server.go",
		EditLine:    `var _ = "buildbench edit N"`,
		SmolCommand: "/tmp/buildbench-1/smol build --cache-dir /tmp/buildbench-1/warm ./cmd/gohttp-smol",
		SeedCommand: "docker run --rm --name NAME -v /tmp/buildbench-1/src:/source -w /source smol/go:1.26.8 go build -a -o bin/server ./cmd/gohttp-smol",
		ColdNative:  []string{"GOFLAGS=-mod=readonly go mod download", "GOFLAGS= go build -o /tmp/buildbench-1/cold-native-1/out/ ./cmd/gohttp-smol"},
		NoChange:    sec(1.2, 1.0, 1.4, 1.1, 1.3),
		Phases: []phases{
			{Ready: 40 * time.Millisecond, Step: 1100 * time.Millisecond, Publish: 10 * time.Millisecond, Exit: 5 * time.Millisecond, Said: 1100 * time.Millisecond},
		},
		Edit:      sec(1.5, 2.5, 1.6, 1.7, 1.8),
		Seed:      sec(30, 25, 40),
		RoundLoad: []string{"4.10", "5.20", "3.90", "4.00", "4.50"},
		Cold: []coldRound{
			{NativeFirst: true, Native: 40 * time.Second, NativeDeps: 4 * time.Second, Smol: 48 * time.Second, SmolDeps: 7 * time.Second, SmolBuild: 40 * time.Second},
			{Native: 50 * time.Second, NativeDeps: 5 * time.Second, Smol: 55 * time.Second, SmolDeps: 6 * time.Second, SmolBuild: 48 * time.Second},
		},
		SameBytes: true,
		Probes: probes{
			Inspect: sec(0.02), Start: sec(0.4), Container: sec(1.2), GoBuild: sec(0.8), Load: sec(0.2), Link: sec(0.35),
			NativeBuild: sec(0.6), NativeLoad: sec(0.1), NativeLink: sec(0.3), CheckHash: sec(0.005), OutputSize: 7 << 20,
		},
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
			r.Cold, r.ColdNative, r.Seed = nil, nil, nil
			return r
		}},
		{"slow and different bytes", func() *results {
			r := fixture()
			r.NoChange, r.Edit, r.SameBytes = sec(1.6, 1.7, 1.8), sec(2.1), false
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
			if !bytes.HasPrefix(got, []byte(beginMarker+"\n")) || !bytes.HasSuffix(got, []byte(endMarker+"\n")) {
				t.Errorf("section is not wrapped in its markers")
			}
			if bytes.Contains(got, []byte("/tmp/buildbench-1")) {
				t.Errorf("scratch paths leaked into the report:\n%s", got)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*results)
		want []string // "pass", "FAIL" or "n/a" per target, in order
	}{
		{"all met", func(*results) {}, []string{"pass", "pass", "pass", "pass"}},
		{"exactly at the limits", func(r *results) {
			r.NoChange = sec(1.5)
			r.Seed = sec(15)
			r.Edit = sec(2)
			r.Cold = []coldRound{{Native: 10 * time.Second, Smol: 13 * time.Second}}
		}, []string{"pass", "pass", "pass", "pass"}},
		{"just over", func(r *results) {
			r.NoChange = sec(1.51)
			r.Seed = sec(15)
			r.Edit = sec(2.01)
			r.Cold = []coldRound{{Native: 10 * time.Second, Smol: 13.1e9}}
		}, []string{"FAIL", "FAIL", "FAIL", "FAIL"}},
		{"not measured", func(r *results) { r.Seed, r.Cold = nil, nil }, []string{"pass", "n/a", "pass", "n/a"}},
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
