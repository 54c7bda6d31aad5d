package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

var testMod = gomod.Module{Dir: "/work/m", Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}

func TestNew(t *testing.T) {
	src := source.Info{Describe: "v1.0.0-3-gabc", Revision: strings.Repeat("a", 40)}
	tests := []struct {
		name    string
		mod     gomod.Module
		opts    Options
		check   func(t *testing.T, p Plan)
		wantErr string
	}{
		{name: "defaults", mod: testMod, opts: Options{CacheDir: "/c"}, check: func(t *testing.T, p Plan) {
			if p.Image != "golang:1.26.8" || p.GoVersion != "1.26.8" || p.ModMode != "readonly" {
				t.Errorf("image %q go %q mod %q", p.Image, p.GoVersion, p.ModMode)
			}
			if !slices.Equal(p.Packages, []string{"."}) || len(p.Platforms) != 1 || p.Platforms[0] != HostPlatform() {
				t.Errorf("packages %v platforms %v", p.Packages, p.Platforms)
			}
			if p.LDFlags != "-s -w -buildid= -X main.version=v1.0.0-3-gabc" {
				t.Errorf("ldflags %q", p.LDFlags)
			}
			if p.OutDir != "/work/m/dist" {
				t.Errorf("out %q", p.OutDir)
			}
		}},
		{name: "vendored", mod: gomod.Module{Dir: "/m", Path: "m", Go: "1.26.8", Vendored: true}, opts: Options{CacheDir: "/c"}, check: func(t *testing.T, p Plan) {
			if p.ModMode != "vendor" {
				t.Errorf("mod mode %q", p.ModMode)
			}
			if _, ok := p.DepsStep(ContainerLayout); ok {
				t.Error("vendored module has a deps step")
			}
		}},
		{name: "user choices", mod: testMod, opts: Options{CacheDir: "/c", VersionVar: "example.com/m/internal/v.Version", Version: "1.2.3",
			Tags: "netgo,osusergo", LDFlags: "-X main.x=y", Env: []string{"GOAMD64=v3"}, Image: "smol/go:1.26.8",
			Platforms: "linux/arm64,linux/amd64,linux/arm64"}, check: func(t *testing.T, p Plan) {
			if p.LDFlags != "-s -w -buildid= -X example.com/m/internal/v.Version=1.2.3 -X main.x=y" {
				t.Errorf("ldflags %q", p.LDFlags)
			}
			if got := p.Flags(); !slices.Contains(got, "-tags=netgo,osusergo") {
				t.Errorf("flags %v", got)
			}
			if !slices.Contains(p.Env(), "GOAMD64=v3") || !slices.Contains(p.Env(), "GOARM64=") {
				t.Errorf("env %v", p.Env())
			}
			if len(p.Platforms) != 2 || p.Platforms[0].String() != "linux/amd64" {
				t.Errorf("platforms not sorted and deduplicated: %v", p.Platforms)
			}
		}},
		{name: "vague go line", mod: gomod.Module{Dir: "/m", Path: "m", Go: "1.26"}, opts: Options{CacheDir: "/c"}, wantErr: "toolchain go1.26.N"},
		{name: "unknown platform", mod: testMod, opts: Options{CacheDir: "/c", Platforms: "linux/amd65"}, wantErr: `unknown platform "linux/amd65"`},
		{name: "bad version var", mod: testMod, opts: Options{CacheDir: "/c", VersionVar: "version"}, wantErr: "package-qualified"},
		{name: "version with space", mod: testMod, opts: Options{CacheDir: "/c", Version: "1 2"}, wantErr: "unquoted"},
		{name: "env outside knobs", mod: testMod, opts: Options{CacheDir: "/c", Env: []string{"CGO_ENABLED=1"}}, wantErr: "code-generation knobs"},
		{name: "flag as package", mod: testMod, opts: Options{CacheDir: "/c", Packages: []string{"-race"}}, wantErr: "bad package pattern"},
		{name: "absolute package", mod: testMod, opts: Options{CacheDir: "/c", Packages: []string{"/work/m/cmd/x"}}, wantErr: "absolute path"},
		{name: "bad tag", mod: testMod, opts: Options{CacheDir: "/c", Tags: "a b"}, wantErr: "bad build tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.mod, src, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

// TestEnvIgnoresCaller checks that the planned environment is complete and
// the same whatever the caller's shell exports.
func TestEnvIgnoresCaller(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOAMD64", "v4")
	t.Setenv("CGO_ENABLED", "1")
	p, err := New(testMod, source.Info{}, Options{CacheDir: "/c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.BuildSteps(ContainerLayout) {
		want := []string{"CGO_ENABLED=0", "GOAMD64=", "GOFLAGS=", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "GOENV=off",
			"GOCACHE=/cache/go-build", "GOMODCACHE=/cache/mod", "HOME=/cache/home"}
		for _, w := range want {
			if !slices.Contains(s.Env, w) {
				t.Errorf("%s: env lacks %s: %v", s.Name, w, s.Env)
			}
		}
		if !slices.IsSorted(s.Env) {
			t.Errorf("%s: env not sorted", s.Name)
		}
		if s.Network {
			t.Errorf("%s: build step has network", s.Name)
		}
		for _, k := range Knobs {
			n := 0
			for _, kv := range s.Env {
				if strings.HasPrefix(kv, k+"=") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %s stated %d times", s.Name, k, n)
			}
		}
	}
}

func TestDepsStepProxy(t *testing.T) {
	p, err := New(testMod, source.Info{}, Options{CacheDir: "/c", Proxy: map[string]string{"GOPROXY": "http://proxy.internal", "GOPRIVATE": "corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.DepsStep(ContainerLayout)
	if !ok || !s.Network {
		t.Fatalf("deps step %+v ok %v", s, ok)
	}
	for _, w := range []string{"GOPROXY=http://proxy.internal", "GOPRIVATE=corp.example", "GOSUMDB=sum.golang.org", "GOFLAGS=-mod=readonly"} {
		if !slices.Contains(s.Env, w) {
			t.Errorf("deps env lacks %s: %v", w, s.Env)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"linux/amd64", "linux/amd64", ""},
		{" windows/amd64 , darwin/arm64,", "darwin/arm64 windows/amd64", ""},
		{"linux", "", "unknown platform"},
		{"ios/arm64", "", "unknown platform"},
		{",", "", "empty platform list"},
	}
	for _, tt := range tests {
		got, err := ParsePlatforms(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePlatforms(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != tt.want || err != nil {
			t.Errorf("ParsePlatforms(%q) = %v, %v; want %s", tt.in, s, err, tt.want)
		}
	}
	if p := (Platform{"windows", "amd64"}); p.Exe() != ".exe" {
		t.Error("windows has no .exe")
	}
}

// TestBuildDepsSteps: with the cgo choice made, one network step per
// platform, loading exactly the build's packages with its tags and that
// platform's GOOS/GOARCH; none for a vendored module. (TestCgoScanSteps
// covers the steps added when no choice is made.)
func TestBuildDepsSteps(t *testing.T) {
	p, err := New(testMod, source.Info{}, Options{CacheDir: "/c", Packages: []string{"./cmd/a", "./cmd/b"}, Tags: "netgo",
		Cgo: CgoOff, Platforms: "linux/amd64,windows/arm64", Proxy: map[string]string{"GOPROXY": "http://proxy.internal"}})
	if err != nil {
		t.Fatal(err)
	}
	steps := p.BuildDepsSteps(ContainerLayout)
	if len(steps) != 2 {
		t.Fatalf("%d steps, want one per platform", len(steps))
	}
	for i, want := range []struct{ name, goos, goarch string }{{"deps linux/amd64", "linux", "amd64"}, {"deps windows/arm64", "windows", "arm64"}} {
		s := steps[i]
		if s.Name != want.name || !s.Network || s.Dir != "/src" {
			t.Errorf("step %d: name %q network %v dir %q", i, s.Name, s.Network, s.Dir)
		}
		if got := strings.Join(s.Args, " "); got != "go list -deps -tags=netgo ./cmd/a ./cmd/b" {
			t.Errorf("step %d: args %q", i, got)
		}
		for _, kv := range []string{"GOOS=" + want.goos, "GOARCH=" + want.goarch, "GOPROXY=http://proxy.internal", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0", "GOMODCACHE=/cache/mod"} {
			if !slices.Contains(s.Env, kv) {
				t.Errorf("step %d: env lacks %s: %v", i, kv, s.Env)
			}
		}
	}
	vendored := testMod
	vendored.Vendored = true
	if p, err = New(vendored, source.Info{}, Options{CacheDir: "/c", Cgo: CgoOff}); err != nil {
		t.Fatal(err)
	}
	if steps := p.BuildDepsSteps(ContainerLayout); steps != nil {
		t.Errorf("vendored module has dependency steps: %+v", steps)
	}
}

// TestStdSteps: a std step is the build step of its platform less -o and
// the packages, so that what it compiles has the build's action IDs.
func TestStdSteps(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		pkgs map[Platform][]string
		want []string // names of the steps
	}{
		{"two platforms", Options{Platforms: "linux/amd64,linux/arm64"},
			map[Platform][]string{{"linux", "amd64"}: {"fmt", "os"}, {"linux", "arm64"}: {"fmt"}},
			[]string{"std linux/amd64", "std linux/arm64"}},
		{"no packages for one", Options{Platforms: "linux/amd64,linux/arm64"},
			map[Platform][]string{{"linux", "arm64"}: {"fmt"}},
			[]string{"std linux/arm64"}},
		{"knobs, tags and cgo", Options{Platforms: "linux/amd64,linux/arm64", Tags: "netgo", Env: []string{"GOAMD64=v3", "GOEXPERIMENT=jsonv2"}, Cgo: CgoOn},
			map[Platform][]string{{"linux", "amd64"}: {"net"}, {"linux", "arm64"}: {"net"}},
			[]string{"std linux/amd64", "std linux/arm64"}},
		{"none", Options{Platforms: "linux/amd64"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = "/c"
			tt.opts.Packages = []string{"./cmd/a", "./cmd/b"}
			p, err := New(testMod, source.Info{Describe: "v1"}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []Layout{ContainerLayout, p.HostLayout("/out")} {
				steps := p.StdSteps(l, tt.pkgs)
				builds := map[Platform]Step{}
				for _, b := range p.BuildSteps(l) {
					builds[b.Platform] = b
				}
				var names []string
				for _, s := range steps {
					names = append(names, s.Name)
					b := builds[s.Platform]
					if s.Network || s.OutDir != "" || s.Interactive {
						t.Errorf("%s: network %v, out %q, interactive %v: want none", s.Name, s.Network, s.OutDir, s.Interactive)
					}
					if !slices.Equal(s.Env, b.Env) || s.Dir != b.Dir {
						t.Errorf("%s: env %q dir %q\nbuild's env %q dir %q", s.Name, s.Env, s.Dir, b.Env, b.Dir)
					}
					// The build's arguments less -o DIR and its packages.
					i := slices.Index(b.Args, "-o")
					want := append(slices.Clone(b.Args[:i]), tt.pkgs[s.Platform]...)
					if !slices.Equal(s.Args, want) {
						t.Errorf("%s: args %q, want %q", s.Name, s.Args, want)
					}
					if !slices.Equal(b.Args[i+2:], p.Packages) {
						t.Errorf("build step args %q: -o is no longer just before the packages; fix this test", b.Args)
					}
				}
				if !slices.Equal(names, tt.want) {
					t.Errorf("steps %q, want %q", names, tt.want)
				}
			}
		})
	}
}
