package engine

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// TestNativeRunAll builds a real module for two platforms at once with the
// host's go command: one platform compiles, the other has a compile error
// that must be reported against it alone, with its output labelled.
func TestNativeRunAll(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                    "module example.com/two\n\ngo 1.21\n",
		"cmd/two/main.go":           "package main\n\nfunc main() {}\n",
		"cmd/two/broken_windows.go": "package main\n\nvar broken int = \"not an int\"\n",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := plan.New(gomod.Module{Dir: dir, Path: "example.com/two", Go: "1.21", Toolchain: "1.26.8"}, source.Info{Describe: "v1"},
		plan.Options{Packages: []string{"./cmd/two"}, Platforms: "linux/amd64,windows/amd64", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	host := p.HostLayout(t.TempDir())
	// The host's build cache: the standard library is then compiled once
	// across test runs, not once per run.
	if out, err := exec.Command(gobin, "env", "GOCACHE").Output(); err == nil {
		host.GoCache = strings.TrimSpace(string(out))
	}
	n := &Native{Go: gobin, Host: host}
	var stdout, stderr bytes.Buffer
	res := n.RunAll(context.Background(), p.BuildSteps(n.Layout()), &stdout, &stderr)
	if len(res) != 2 {
		t.Fatalf("%d results for 2 steps", len(res))
	}
	if res[0].Err != nil {
		t.Errorf("linux/amd64: %v\n%s", res[0].Err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(host.Out, "linux_amd64", "two")); err != nil {
		t.Errorf("linux/amd64 output: %v", err)
	}
	if res[1].Err == nil || !strings.Contains(res[1].Stderr, "broken_windows.go") {
		t.Errorf("windows/amd64: error %v, stderr %q; want the compile error", res[1].Err, res[1].Stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "build windows/amd64: ") {
			t.Errorf("stderr line %q is not labelled with the platform that wrote it", line)
		}
	}
}

// TestDemux feeds the runner's output protocol through the container
// side's demultiplexer.
func TestDemux(t *testing.T) {
	steps := []plan.Step{{Name: "build linux/amd64"}, {Name: "build linux/arm64"}}
	var out, errOut bytes.Buffer
	d := newDemux(steps, &out, &errOut)
	d.stdout().Write([]byte("smol-runner: build linux/amd64: ok\nbuild linux/arm64: hello\nsmol-runner: build linux/arm64: exit sta"))
	d.stdout().Write([]byte("tus 1\n"))
	d.stderr().Write([]byte("build linux/arm64: x.go:1: bad\ndocker: something else\nbuild linux/amd64: no newline"))
	d.flush()
	if got, want := d.results, map[string]string{"build linux/amd64": "ok", "build linux/arm64": "exit status 1"}; len(got) != 2 || got["build linux/amd64"] != want["build linux/amd64"] || got["build linux/arm64"] != want["build linux/arm64"] {
		t.Errorf("results %q, want %q", got, want)
	}
	if got, want := out.String(), "build linux/arm64: hello\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := errOut.String(), "build linux/arm64: x.go:1: bad\ndocker: something else\nbuild linux/amd64: no newline\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got := d.errs[1].String(); got != "x.go:1: bad\n" {
		t.Errorf("arm64's stderr %q", got)
	}
	if got := d.errs[0].String(); got != "no newline\n" {
		t.Errorf("amd64's stderr %q", got)
	}
	if got := d.other.String(); got != "docker: something else\n" {
		t.Errorf("unattributed %q", got)
	}
}

// TestGroupEnv: the container's environment leaves the target platform and
// the code-generation knobs to each job, so the runner is built for the
// machine it runs on.
func TestGroupEnv(t *testing.T) {
	mod := gomod.Module{Dir: "/m", Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}
	p, err := plan.New(mod, source.Info{Describe: "v1"}, plan.Options{Platforms: "linux/arm64,darwin/arm64", Env: []string{"GOARM64=v8.2"}, CacheDir: "/c"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Kind: "docker", Bin: "docker", Image: "img", Host: p.HostLayout("/m/dist/.s"), Prefix: "smol-1"}
	g := c.group(p.BuildSteps(c.Layout()))
	for _, kv := range g.Env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GOOS" || k == "GOARCH" || k == "GOARM64" {
			t.Errorf("container environment sets %s", kv)
		}
	}
	if !strings.Contains(strings.Join(g.Args, " "), `"GOARCH=arm64"`) || !strings.Contains(strings.Join(g.Args, " "), `"GOARM64=v8.2"`) {
		t.Errorf("jobs do not carry their platform and knobs: %q", g.Args)
	}
}

// TestCommandsRunnerBuilt: once the runner has left its executable in the
// cache, several steps are one container that starts it directly, with -i
// for the stop line, and each step is one job; before that, one container
// per step and the runner's build after the compile steps.
func TestCommandsRunnerBuilt(t *testing.T) {
	mod := gomod.Module{Dir: "/m", Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}
	p, err := plan.New(mod, source.Info{Describe: "v1"}, plan.Options{Platforms: "linux/amd64,linux/arm64", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Kind: "docker", Bin: "docker", Image: "img", Host: p.HostLayout("/m/dist/.s"), Prefix: "smol-1"}
	steps := p.BuildSteps(c.Layout())
	before := c.Commands(steps)
	if len(before) != 3 || before[0].Argv[len(before[0].Argv)-1] != "." || !strings.Contains(strings.Join(before[2].Argv, " "), "go run -trimpath . -install") {
		t.Fatalf("before the runner is built: %q", before)
	}
	dir := runnerDir(c.Host, filepath.Join)
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, runnerBin()), []byte("built"), 0o755); err != nil {
		t.Fatal(err)
	}
	after := c.Commands(steps)
	if len(after) != 1 {
		t.Fatalf("after the runner is built: %d commands, want 1", len(after))
	}
	argv := after[0].Argv
	i := slices.Index(argv, "img")
	if i < 0 || argv[2] != "--interactive" || argv[i+1] != path.Join(runnerDir(plan.ContainerLayout, path.Join), runnerBin()) || len(argv) != i+4 {
		t.Errorf("one container running the runner with two jobs: %q", argv)
	}
	if !strings.Contains(argv[i+3], `"name":"build linux/arm64"`) {
		t.Errorf("second job: %s", argv[i+3])
	}
}

// TestShareCPUs: steps that run at once each get their part of the CPUs as
// GOMAXPROCS, a step's own setting wins, and one step alone is left as it
// is; the caller's steps are not changed.
func TestShareCPUs(t *testing.T) {
	step := func(env ...string) plan.Step { return plan.Step{Name: "s", Env: env} }
	procs := func(steps []plan.Step) []string {
		var got []string
		for _, s := range steps {
			v := "-"
			for _, kv := range s.Env {
				if p, ok := strings.CutPrefix(kv, "GOMAXPROCS="); ok {
					v = p
				}
			}
			got = append(got, v)
		}
		return got
	}
	two := Jobs(2) == 2 // one CPU runs one step at a time
	for _, tt := range []struct {
		name  string
		steps []plan.Step
		procs int
		want  []string
	}{
		{"alone", []plan.Step{step("GOOS=linux")}, 8, []string{"-"}},
		{"two of eight", []plan.Step{step("GOOS=linux"), step("GOOS=darwin")}, 8, []string{"4", "4"}},
		{"two of three", []plan.Step{step(), step()}, 3, []string{"1", "1"}},
		{"own setting", []plan.Step{step("GOMAXPROCS=6"), step()}, 8, []string{"6", "4"}},
	} {
		before := procs(tt.steps)
		got := procs(shareCPUs(tt.steps, tt.procs))
		if !two && len(tt.steps) > 1 {
			tt.want = procs(tt.steps)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: GOMAXPROCS %q, want %q", tt.name, got, tt.want)
		}
		if !slices.Equal(before, procs(tt.steps)) {
			t.Errorf("%s: the caller's steps changed", tt.name)
		}
	}
	// An env with room to spare is not shared with the result.
	env := make([]string, 1, 4)
	env[0] = "GOOS=linux"
	shared := shareCPUs([]plan.Step{{Env: env}, {Env: env}}, 8)
	if more := append(env, "GOARCH=arm64"); len(more) != 2 {
		t.Fatal(more)
	}
	for _, s := range shared {
		if slices.Contains(s.Env, "GOARCH=arm64") {
			t.Errorf("result shares its env with the caller's: %q", s.Env)
		}
	}
}
