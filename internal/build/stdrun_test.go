package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// tracing runs steps as Native does, with -x added to every go build, and
// keeps what each step wrote to stderr: the compiles the go command ran.
type tracing struct {
	*engine.Native
	mu     sync.Mutex
	stderr map[string]string
}

func (x *tracing) RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []engine.Result {
	var traced []plan.Step
	for _, s := range steps {
		if s.Args[1] == "build" {
			s.Args = slices.Insert(slices.Clone(s.Args), 2, "-x")
		}
		traced = append(traced, s)
	}
	res := x.Native.RunAll(ctx, traced, stdout, stderr)
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, s := range steps {
		x.stderr[s.Name] = res[i].Stderr
	}
	return res
}

var compileRE = regexp.MustCompile(`/compile .*-p ([^ ]+) `)

// compiled lists the packages whose compile a go build -x output shows.
func compiled(goStderr string) []string {
	var pkgs []string
	for _, m := range compileRE.FindAllStringSubmatch(goStderr, -1) {
		pkgs = append(pkgs, m[1])
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// TestStdStepsCacheHits builds a module from a cold cache with the host's go
// (the native engine) and checks that the std steps ran beside the
// dependency steps and that the compile after them compiled none of the
// standard library itself: their flags and environment give the build's
// action IDs. Should a flag of the build step change without the std
// steps following, this test fails.
func TestStdStepsCacheHits(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles part of the standard library twice")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goCmd, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	goVersion := strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":              "module example.com/m\n\ngo 1.21\n\ntoolchain go" + goVersion + "\n",
		"cmd/app/main.go":     "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/m/internal/words\"\n)\n\nvar version string\n\nfunc main() { fmt.Println(words.Upper(\"hi\"), version) }\n",
		"internal/words/w.go": "package words\n\nimport \"strings\"\n\nfunc Upper(s string) string { return strings.ToUpper(s) }\n",
	})
	mod, err := gomod.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.New(mod, source.Info{Describe: "v1.0.0"}, plan.Options{
		Packages:  []string{"./cmd/app"},
		Platforms: "linux/arm64," + runtime.GOOS + "/" + runtime.GOARCH,
		Tags:      "netgo",
		Env:       []string{"GOARM64=v8.1"},
		CacheDir:  filepath.Join(t.TempDir(), "cache"),
		UID:       os.Getuid(),
		GID:       os.Getgid(),
	})
	if err != nil {
		t.Fatal(err)
	}
	host := p.HostLayout(filepath.Join(p.OutDir, ".smol-test"))
	x := &tracing{Native: &engine.Native{Go: goCmd, Host: host}, stderr: map[string]string{}}
	var log bytes.Buffer
	if _, err := Run(context.Background(), p, x, host, Record{ToolVersion: "test"}, &log, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, pl := range p.Platforms {
		std := x.stderr["std "+pl.String()]
		if !slices.Contains(compiled(std), "fmt") {
			t.Errorf("std %s compiled %q, want fmt among them", pl, compiled(std))
		}
		if !strings.Contains(log.String(), "smol: std "+pl.String()) {
			t.Errorf("no std line for %s in the log:\n%s", pl, log.String())
		}
		got := compiled(x.stderr["build "+pl.String()])
		want := []string{"example.com/m/internal/words", "main"}
		if !slices.Equal(got, want) {
			t.Errorf("build %s compiled %q, want only %q: the std steps do not build what the build step does", pl, got, want)
		}
	}
}

// failing is an executor whose RunAll fails every step with the output
// given.
type failing struct {
	*engine.Native
	stderr string
}

func (x failing) RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []engine.Result {
	res := make([]engine.Result, len(steps))
	for i := range res {
		res[i] = engine.Result{Err: errors.New("exit status 1"), Stderr: x.stderr}
	}
	return res
}

// TestStartStdFailure: a std step that fails is one line in the log, not
// an error, and a stopped one says nothing.
func TestStartStdFailure(t *testing.T) {
	p := plan.Plan{ModMode: "readonly", LDFlags: "-s -w", Platforms: []plan.Platform{{OS: "linux", Arch: "amd64"}}}
	steps := p.StdSteps(plan.ContainerLayout, map[plan.Platform][]string{{OS: "linux", Arch: "amd64"}: {"fmt"}})
	for _, tt := range []struct {
		name, stderr string
		stop         bool
		want         string
	}{
		{"go's message", "go: downloading nothing\npackage foo/bar is not in std\n", false, "failed, so the compile builds the standard library itself: package foo/bar is not in std\n"},
		{"no output", "", false, "failed, so the compile builds the standard library itself: exit status 1\n"},
		{"stopped", "anything", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			startStd(context.Background(), p, failing{stderr: tt.stderr}, steps, &log)(tt.stop)
			got := log.String()
			if tt.want == "" {
				if got != "" {
					t.Errorf("log %q, want nothing", got)
				}
				return
			}
			if !strings.HasPrefix(got, "smol: std linux/amd64 ") || !strings.HasSuffix(got, tt.want) || strings.Count(got, "\n") != 1 {
				t.Errorf("log %q, want one line for std linux/amd64 ending %q", got, tt.want)
			}
		})
	}
}
