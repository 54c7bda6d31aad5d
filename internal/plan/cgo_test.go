package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// TestCgoScanSteps: without a cgo choice, each platform gets a scan step
// that lists the graph as CGO_ENABLED=1 builds it; with a choice, none; a
// vendored module scans without the network.
func TestCgoScanSteps(t *testing.T) {
	tests := []struct {
		name     string
		vendored bool
		cgo      string
		steps    int
		network  bool
		modFlag  string
	}{
		{"no choice", false, "", 2, true, "-mod=readonly"},
		{"no choice, vendored", true, "", 2, false, "-mod=vendor"},
		{"cgo off", false, CgoOff, 0, false, ""},
		{"cgo on", false, CgoOn, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := testMod
			mod.Vendored = tt.vendored
			p, err := New(mod, source.Info{}, Options{CacheDir: "/c", Cgo: tt.cgo, Tags: "foo", Platforms: "linux/amd64,linux/arm64"})
			if err != nil {
				t.Fatal(err)
			}
			scan := p.CgoScanSteps(ContainerLayout)
			if len(scan) != tt.steps {
				t.Fatalf("%d scan steps, want %d", len(scan), tt.steps)
			}
			deps := p.BuildDepsSteps(ContainerLayout)
			for _, s := range scan {
				if !slices.ContainsFunc(deps, func(d Step) bool { return d.Name == s.Name }) {
					t.Errorf("%s is not among the dependency steps, so it would not run", s.Name)
				}
			}
			for i, s := range scan {
				pl := p.Platforms[i]
				if s.Network != tt.network || !strings.HasSuffix(s.Name, "cgo-scan") {
					t.Errorf("step %q network %v, want %v", s.Name, s.Network, tt.network)
				}
				args := strings.Join(s.Args, " ")
				if !strings.HasPrefix(args, "go list "+tt.modFlag+" -deps -f ") || !strings.HasSuffix(args, " -tags=foo .") || !strings.Contains(args, "(not .Standard)") {
					t.Errorf("args %q", args)
				}
				for _, kv := range []string{"CGO_ENABLED=1", "GOOS=" + pl.OS, "GOARCH=" + pl.Arch} {
					if !slices.Contains(s.Env, kv) {
						t.Errorf("env lacks %s: %v", kv, s.Env)
					}
				}
				if slices.Contains(s.Env, "CGO_ENABLED=0") {
					t.Errorf("env sets CGO_ENABLED twice: %v", s.Env)
				}
			}
		})
	}
}

func TestParseCgoScanAndVerdict(t *testing.T) {
	out := strings.Join([]string{
		"",
		"deps linux/arm64 cgo-scan: smol-cgo linux/arm64 github.com/mattn/go-sqlite3 backup.go,sqlite3.go",
		"smol-cgo linux/amd64 github.com/mattn/go-sqlite3 backup.go,sqlite3.go",
		"smol-cgo linux/amd64 example.com/a/c c.go",
		"deps linux/amd64: example.com/a",
		"smol-cgo truncated",
	}, "\n")
	got := ParseCgoScan(out)
	want := []CgoPackage{
		{ImportPath: "example.com/a/c", Files: []string{"c.go"}, Platforms: []string{"linux/amd64"}},
		{ImportPath: "github.com/mattn/go-sqlite3", Files: []string{"backup.go", "sqlite3.go"}, Platforms: []string{"linux/amd64", "linux/arm64"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].ImportPath != want[i].ImportPath || !slices.Equal(got[i].Files, want[i].Files) || !slices.Equal(got[i].Platforms, want[i].Platforms) {
			t.Errorf("package %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	p, err := New(testMod, source.Info{}, Options{CacheDir: "/c"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.CgoVerdict(got)
	if err == nil {
		t.Fatal("no error for cgo packages without a choice")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 || lines[1] != "  example.com/a/c: c.go (linux/amd64)" ||
		lines[2] != "  github.com/mattn/go-sqlite3: backup.go sqlite3.go (linux/amd64, linux/arm64)" ||
		!strings.Contains(lines[3], "--cgo ") || !strings.Contains(lines[3], "--cgo=off") {
		t.Errorf("verdict:\n%v", err)
	}
	if err := p.CgoVerdict(nil); err != nil {
		t.Errorf("verdict with no cgo packages: %v", err)
	}
	for _, mode := range []string{CgoOn, CgoOff} {
		p.Cgo = mode
		if err := p.CgoVerdict(got); err != nil {
			t.Errorf("verdict with --cgo=%s: %v", mode, err)
		}
	}
}

// TestCgoPlan: --cgo is refused for a platform without a C toolchain before
// anything runs, and sets the C environment per platform.
func TestCgoPlan(t *testing.T) {
	for _, pls := range []string{"windows/amd64", "linux/amd64,darwin/arm64"} {
		_, err := New(testMod, source.Info{}, Options{CacheDir: "/c", Cgo: CgoOn, Platforms: pls})
		if err == nil || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
			t.Errorf("--cgo for %s: error %v, want the platforms that work named", pls, err)
		}
	}
	if _, err := New(testMod, source.Info{}, Options{CacheDir: "/c", Cgo: "maybe"}); err == nil {
		t.Error("--cgo=maybe accepted")
	}
	p, err := New(testMod, source.Info{}, Options{CacheDir: "/c", Cgo: CgoOn, Tags: "foo", Platforms: "linux/arm64,linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.LDFlags, "-linkmode=external -extldflags=-static") {
		t.Errorf("ldflags %q", p.LDFlags)
	}
	if !slices.Contains(p.Flags(), "-tags=foo,netgo,osusergo") {
		t.Errorf("flags %q lack the pure-Go resolver tags", p.Flags())
	}
	for _, s := range p.BuildSteps(ContainerLayout) {
		triple := map[string]string{"amd64": "x86_64-linux-gnu-gcc-12 ", "arm64": "aarch64-linux-gnu-gcc-12 "}[s.Platform.Arch]
		var cc, cflags string
		for _, kv := range s.Env {
			if v, ok := strings.CutPrefix(kv, "CC="); ok {
				cc = v
			}
			if v, ok := strings.CutPrefix(kv, "CGO_CFLAGS="); ok {
				cflags = v
			}
		}
		if !strings.HasPrefix(cc, triple) || !strings.Contains(cc, "musl-gcc.specs") {
			t.Errorf("%s: CC=%q", s.Name, cc)
		}
		if !strings.Contains(cflags, "-ffile-prefix-map=/src=.") || !strings.Contains(cflags, "-ffile-prefix-map=/cache/mod=") {
			t.Errorf("%s: CGO_CFLAGS=%q", s.Name, cflags)
		}
		if !slices.Contains(s.Env, "CGO_ENABLED=1") {
			t.Errorf("%s: cgo not enabled: %v", s.Name, s.Env)
		}
	}
}
