package engine

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// warmContainer is a Container whose host directories exist and whose runner
// counts as built, so that warm containers apply to it.
func warmContainer(t *testing.T) *Container {
	t.Helper()
	root := t.TempDir()
	host := plan.Layout{
		Src:      filepath.Join(root, "src"),
		Out:      filepath.Join(root, "src", "dist", ".smol-7"),
		GoCache:  filepath.Join(root, "cache", "go-build"),
		ModCache: filepath.Join(root, "cache", "mod"),
		Home:     filepath.Join(root, "cache", "home"),
	}
	for _, d := range []string{host.Src, host.Out, host.GoCache, host.ModCache, runnerDir(host, filepath.Join)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(runnerDir(host, filepath.Join), runnerBin()), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	return warmAt(host)
}

// warmAt is warmContainer's container for host: a new one each time, to
// change one field of.
func warmAt(host plan.Layout) *Container {
	return &Container{Kind: "docker", Bin: "docker", Image: "sha256:abc", Host: host, UID: 1000, GID: 1000, Prefix: "smol-7", Warm: true}
}

func TestWarmUsable(t *testing.T) {
	c := warmContainer(t)
	p := testPlan(t)
	build := p.BuildSteps(c.Layout())
	tests := []struct {
		name  string
		warm  bool
		steps []plan.Step
		want  bool
	}{
		{"compile steps", true, build, true},
		{"one compile step", true, build[:1], true},
		{"warm off", false, build, false},
		{"dependency steps have network", true, p.BuildDepsSteps(c.Layout()), false},
		{"no steps", true, nil, false},
		{"shell", true, []plan.Step{p.ShellStep(c.Layout(), "sh")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Warm = tt.warm
			if got := c.warmUsable(tt.steps); got != tt.want {
				t.Errorf("warmUsable = %v, want %v", got, tt.want)
			}
		})
	}
	c.Warm = true
	os.Remove(filepath.Join(runnerDir(c.Host, filepath.Join), runnerBin()))
	if c.warmUsable(build) {
		t.Error("warmUsable before the runner is built")
	}
}

// TestWarmName: the same setup finds the same container; any difference in
// what the container was started with finds another.
func TestWarmName(t *testing.T) {
	c := warmContainer(t)
	base := c.warmName()
	if !strings.HasPrefix(base, "smol-warm-") || len(base) != len("smol-warm-")+16 {
		t.Fatalf("warmName %q", base)
	}
	same := warmAt(c.Host)
	same.Host.Out = filepath.Join(filepath.Dir(c.Host.Out), ".smol-8") // another build's scratch directory
	same.Prefix = "smol-8"
	if same.warmName() != base {
		t.Error("another build of the same setup gets another warm container")
	}
	for name, change := range map[string]func(*Container){
		"image":     func(d *Container) { d.Image = "sha256:def" },
		"user":      func(d *Container) { d.UID = 0 },
		"source":    func(d *Container) { d.Host.Src += "2" },
		"output":    func(d *Container) { d.Host.Out = "/elsewhere/.smol-7" },
		"go cache":  func(d *Container) { d.Host.GoCache += "2" },
		"mod cache": func(d *Container) { d.Host.ModCache += "2" },
		"home":      func(d *Container) { d.Host.Home += "2" },
		"engine":    func(d *Container) { d.Kind, d.Bin = "podman", "podman" },
		"GOROOT":    func(d *Container) { d.GOROOTVolume = "smol-goroot-def" },
	} {
		d := warmAt(c.Host)
		change(d)
		if d.warmName() == base {
			t.Errorf("a different %s finds the same warm container", name)
		}
	}
}

// TestWarmCommands pins what matters in the start and exec lines: no
// network, the source read-only, the output's parent mounted, each -o moved
// under it, and a check for every mount.
func TestWarmCommands(t *testing.T) {
	c := warmContainer(t)
	steps := testPlan(t).BuildSteps(c.Layout())
	start := Quote(c.warmStartCommand())
	for _, want := range []string{
		"docker run --detach --rm --name " + c.warmName() + " --label smol.warm=1 --user 1000:1000 --pull=never --network=none ",
		"-v " + c.Host.Src + ":/src:ro ",
		"-v " + filepath.Dir(c.Host.Out) + ":/outs ",
		" sha256:abc /cache/home/.smol-runner/",
		" -idle 600",
	} {
		if !strings.Contains(start, want) {
			t.Errorf("start command lacks %q:\n%s", want, start)
		}
	}
	checks, err := c.warmChecks()
	if err != nil {
		t.Fatal(err)
	}
	argv := c.warmExecCommand(steps, checks)
	exe := Quote(argv)
	if !strings.HasPrefix(exe, "docker exec --interactive --user 1000:1000 -w /cache/home/.smol-runner/") {
		t.Errorf("exec command: %s", exe)
	}
	i := slices.Index(argv, c.warmName())
	if i < 0 || argv[i+2] != "-warm" {
		t.Fatalf("exec command does not run the runner with -warm in %s: %s", c.warmName(), exe)
	}
	for _, dir := range []string{"/src", "/outs", "/cache/go-build", "/cache/mod", "/cache/home"} {
		if !slices.ContainsFunc(argv, func(a string) bool { return strings.HasPrefix(a, dir+"=") }) {
			t.Errorf("exec command has no -check of %s: %s", dir, exe)
		}
	}
	if !strings.Contains(exe, `"-o","/outs/.smol-7/linux_amd64/"`) || strings.Contains(exe, `"/out/`) {
		t.Errorf("exec command does not write under /outs/.smol-7: %s", exe)
	}
}

func TestRelocateOut(t *testing.T) {
	c := &Container{Host: plan.Layout{Out: "/home/dev/app/dist/.smol-42"}}
	steps := []plan.Step{
		{Args: []string{"go", "build", "-o", "/out/linux_amd64/", "."}, OutDir: "/out/linux_amd64"},
		{Args: []string{"go", "build", "-ldflags=-X main.p=/out/x", "-o", "/out", "."}, OutDir: "/out"},
		{Args: []string{"go", "build", "-o", "/outside/x", "."}, OutDir: "/outside"},
	}
	got := c.relocateOut(steps)
	want := [][]string{
		{"go", "build", "-o", "/outs/.smol-42/linux_amd64/", "."},
		{"go", "build", "-ldflags=-X main.p=/out/x", "-o", "/outs/.smol-42", "."},
		{"go", "build", "-o", "/outside/x", "."},
	}
	for i := range want {
		if !slices.Equal(got[i].Args, want[i]) {
			t.Errorf("step %d: args %q, want %q", i, got[i].Args, want[i])
		}
	}
	if steps[0].Args[3] != "/out/linux_amd64/" {
		t.Error("relocateOut changed its argument's steps")
	}
	if got[0].OutDir != "/outs/.smol-42/linux_amd64" {
		t.Errorf("OutDir %q", got[0].OutDir)
	}
}

func TestWarmEnabled(t *testing.T) {
	for v, want := range map[string]bool{"": true, "1": true, "yes": true, "0": false, "false": false, "OFF": false, "no": false} {
		if got := WarmEnabled(func(string) string { return v }); got != want {
			t.Errorf("SMOL_WARM=%q: %v, want %v", v, got, want)
		}
	}
}

// TestHostRunnerEnv: the caller's environment is kept, but everything that
// would change what the host go command builds is set.
func TestHostRunnerEnv(t *testing.T) {
	env := hostRunnerEnv([]string{"HOME=/home/dev", "GOCACHE=/c", "GOOS=windows", "GOFLAGS=-race", "CGO_ENABLED=1", "GOWORK=/w/go.work", "GOTOOLCHAIN=auto"})
	want := map[string]string{"HOME": "/home/dev", "GOCACHE": "/c", "GOOS": "linux", "GOARCH": runtime.GOARCH, "GOFLAGS": "", "CGO_ENABLED": "0", "GOWORK": "off", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
}

// TestEngineSigns: the engine's words that make a warm container's exec
// fail over to another container, as the engines print them.
func TestEngineSigns(t *testing.T) {
	for _, tt := range []struct {
		msg                 string
		noWorkDir, notThere bool
	}{
		{`OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("/cache/home/.smol-runner/a5c7dd7269078709") set in config.json failed: no such file or directory: unknown`, true, false},
		{"Error response from daemon: No such container: smol-warm-0123456789abcdef", false, true},
		{"Error response from daemon: container 4f2a is not running", false, true},
		{"build linux/amd64: open /src/main.go: no such file or directory", false, false},
	} {
		if got := noWorkDir(tt.msg); got != tt.noWorkDir {
			t.Errorf("noWorkDir(%q) = %v", tt.msg, got)
		}
		if got := notRunning(tt.msg); got != tt.notThere {
			t.Errorf("notRunning(%q) = %v", tt.msg, got)
		}
	}
}

// TestDemuxHold: with hold, what the engine writes on either stream is kept
// back, while the steps' own lines pass.
func TestDemuxHold(t *testing.T) {
	steps := []plan.Step{{Name: "build linux/amd64"}}
	var out, errOut bytes.Buffer
	d := newDemux(steps, &out, &errOut)
	d.hold = true
	io.WriteString(d.stdout(), "OCI runtime exec failed: chdir to cwd failed\nbuild linux/amd64: compiled\nsmol-runner: build linux/amd64: ok\n")
	io.WriteString(d.stderr(), "Error response from daemon: No such container: x\nbuild linux/amd64: warning\n")
	d.flush()
	if want := "build linux/amd64: compiled\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := "build linux/amd64: warning\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	if got := d.other.String(); !strings.Contains(got, "OCI runtime") || !strings.Contains(got, "No such container") {
		t.Errorf("held %q, want both of the engine's lines", got)
	}
	if d.results["build linux/amd64"] != "ok" {
		t.Errorf("results %v", d.results)
	}
}
