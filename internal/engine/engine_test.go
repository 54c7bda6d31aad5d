package engine

import (
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

func testPlan(t *testing.T) plan.Plan {
	mod := gomod.Module{Dir: "/home/dev/src/app", Path: "example.com/app", Go: "1.26", Toolchain: "1.26.8"}
	p, err := plan.New(mod, source.Info{Describe: "v1.2.0"}, plan.Options{
		Packages: []string{"./cmd/app"}, Platforms: "linux/amd64,windows/arm64",
		CacheDir: "/home/dev/.cache/smol/go1.26.8", UID: 1000, GID: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCommands pins the exact engine command lines: they are what --dry-run
// prints for users to paste into CI, so any change must be deliberate.
func TestCommands(t *testing.T) {
	p := testPlan(t)
	host := p.HostLayout("/home/dev/src/app/dist/.smol-1")
	for _, x := range []Executor{
		&Container{Kind: "docker", Bin: "docker", Image: "golang:1.26.8", Host: host, UID: 1000, GID: 1000, Prefix: "smol-1"},
		&Container{Kind: "docker", Bin: "docker", Image: "golang:1.26.8", Host: host, UID: 1000, GID: 1000, Prefix: "smol-1", DepsNetwork: "host", CABundle: HostCABundle},
		&Container{Kind: "podman", Bin: "podman", Image: "smol/go:1.26.8", Host: host, UID: 1000, GID: 1000, Prefix: "smol-1", NoFile: "1024:4096"},
		&Container{Kind: "docker", Bin: "docker", Image: "sha256:431cccece24ee708ae6c6c321010ce860d2b595cb58976e7a7b8df914df5cfc4", Host: host, UID: 1000, GID: 1000, Prefix: "smol-1",
			GOROOTVolume: "smol-goroot-431cccece24e"},
		&Native{Go: "/usr/local/go/bin/go", Host: host},
	} {
		var b strings.Builder
		std := map[plan.Platform][]string{}
		for _, pl := range p.Platforms {
			std[pl] = []string{"fmt", "os"}
		}
		for _, steps := range [][]plan.Step{p.BuildDepsSteps(x.Layout()), p.StdSteps(x.Layout(), std), p.BuildSteps(x.Layout())} {
			for _, l := range x.Commands(steps) {
				b.WriteString("# " + l.Comment + "\n" + Quote(l.Argv) + "\n")
			}
		}
		name := x.Name()
		if c, ok := x.(*Container); ok && c.DepsNetwork != "" {
			name += "-hostnet"
		}
		if c, ok := x.(*Container); ok && c.GOROOTVolume != "" {
			name += "-goroot"
		}
		golden(t, name+".golden", b.String())
	}
}

// TestQuoteRoundTrip feeds quoted words back through a real shell.
func TestQuoteRoundTrip(t *testing.T) {
	words := []string{"plain", "", "two words", "it's", `back\slash`, "$HOME", "-ldflags=-s -w -X main.v=1", "a\"b", "*", "new\nline", "ünï"}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, "-c", `for w in `+Quote(words)+`; do printf '%s\0' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("got %d words %q, want %d", len(got), got, len(words))
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: got %q want %q", i, got[i], words[i])
		}
	}
}

func TestExplainDaemon(t *testing.T) {
	tests := []struct{ kind, stderr, want string }{
		{"docker", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "systemctl start docker"},
		{"podman", "Cannot connect to Podman. Please verify your connection", "podman machine start"},
		{"docker", "go: build failed", ""},
	}
	for _, tt := range tests {
		err := explainDaemon(tt.kind, tt.stderr)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", tt.stderr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.stderr, err, tt.want)
		}
	}
}

func TestFind(t *testing.T) {
	if _, _, err := Find("rkt"); err == nil || !strings.Contains(err.Error(), "docker, podman or native") {
		t.Errorf("unknown engine: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, _, err := Find(""); err == nil || !strings.Contains(err.Error(), "install Docker or Podman") {
		t.Errorf("no engine on PATH: %v", err)
	}
	if k, _, err := Find("native"); k != "native" || err != nil {
		t.Errorf("native: %q %v", k, err)
	}
}

// TestRunRefusesUnmountable: a host directory that -v cannot express fails
// the step by name before any engine command runs (the engine's binary here
// does not exist).
func TestRunRefusesUnmountable(t *testing.T) {
	host := plan.Layout{Src: "/home/dev/a:b", Out: "/o", GoCache: "/c", ModCache: "/m", Home: "/h"}
	c := &Container{Kind: "docker", Bin: filepath.Join(t.TempDir(), "no-docker"), Image: "golang:1.26.8", Host: host, Prefix: "smol-1"}
	err := c.Run(context.Background(), plan.Step{Name: "build linux/amd64", Args: []string{"go", "version"}}, io.Discard, io.Discard)
	want := `build linux/amd64: "/home/dev/a:b" contains ':' or ',', which docker -v cannot mount: move it`
	if err == nil || err.Error() != want {
		t.Errorf("Run error = %v, want %q", err, want)
	}
}
