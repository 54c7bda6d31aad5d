package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/setup"
	"github.com/gohttp-smol/gohttp-smol/internal/verify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// clearSmolEnv unsets every SMOL_* variable for the test: flag defaults
// come from them, and CI sets some (SMOL_CACHE_DIR in .gitlab-ci.yml) that
// would show up in help text and plans.
func clearSmolEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SMOL_") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
}

// TestDryRun drives the CLI with buffers: --dry-run prints the exact
// commands and runs nothing, so it needs no daemon.
func TestDryRun(t *testing.T) {
	mod := writeModule(t, map[string]string{"go.mod": goMod, "cmd/app/main.go": "package main\nfunc main() {}\n"})
	cache := t.TempDir()
	clearSmolEnv(t)
	for _, k := range []string{"GOPROXY", "GOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE"} {
		t.Setenv(k, "")
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"docker", []string{"--engine", "docker", "--platform", "linux/amd64,linux/arm64"}},
		{"docker-options", []string{"--engine", "docker", "--tags", "netgo", "--env", "GOAMD64=v3", "--ldflags=-X main.commit=abc", "--deps-network", "host"}},
		{"docker-copy", []string{"--engine", "docker", "--transfer", "copy", "--platform", "linux/amd64,linux/arm64"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"build", "--dry-run", "-C", mod, "--cache-dir", cache, "--set-version", "v1.0.0"}, tt.args...)
			if err := run(context.Background(), append(args, "./cmd/app"), &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			got := strings.NewReplacer(mod, "$MOD", cache, "$CACHE", "smol-"+strconv.Itoa(os.Getpid()), "smol-$PID",
				strconv.Itoa(os.Getuid())+":"+strconv.Itoa(os.Getgid()), "$UID:$GID", "-uid"+strconv.Itoa(os.Getuid())+"-", "-uid$UID-").Replace(stdout.String())
			// Copy mode numbers its runs within the process.
			got = regexp.MustCompile(`smol-\$PID-[0-9]+-`).ReplaceAllString(got, "smol-$$PID-N-")
			// The runner's directory is named by its source's digest, which
			// any edit of the runner changes; the golden is about the plan.
			got = regexp.MustCompile(`\.smol-runner/[0-9a-f]{16}`).ReplaceAllString(got, ".smol-runner/$$RUNNER")
			golden(t, "dry-run/"+tt.name+".golden", got)
		})
	}
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		err  error
	}{
		{"none", nil, errUsage},
		{"unknown", []string{"bulid"}, errUsage},
		{"build-help", []string{"build", "-h"}, flag.ErrHelp},
		{"verify-extra-args", []string{"verify", "./cmd/x"}, errUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearSmolEnv(t)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			golden(t, "usage/"+tt.name+".golden", stdout.String()+stderr.String())
		})
	}
}

// TestGoPinRefused: a vague --go, or one older than the module's go line,
// is refused with both numbers before any engine is asked; so is a vague go
// line without --go, with a hint at --go.
func TestGoPinRefused(t *testing.T) {
	for _, tt := range []struct {
		name, gomod string
		args        []string
		env         string // SMOL_GO
		want        string
	}{
		{"language version", "module x\ngo 1.21\n", []string{"--go", "1.26"}, "", `--go "1.26": want an exact Go release such as 1.26.8`},
		{"older than go.mod", "module x\ngo 1.27\n", []string{"--go", "1.26.8"}, "", "go.mod says go 1.27 but --go pins 1.26.8"},
		{"older than go.mod, from SMOL_GO", "module x\ngo 1.27\n", nil, "1.26.8", "go.mod says go 1.27 but --go pins 1.26.8"},
		{"vague go line", "module x\ngo 1.21\n", nil, "", `add a line "toolchain go1.21.N" naming the release to build with (e.g. toolchain go1.26.8), or pin one without editing go.mod: --go 1.21.N`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SMOL_GO", tt.env)
			mod := writeModule(t, map[string]string{"go.mod": tt.gomod, "main.go": "package main\nfunc main() {}\n"})
			for _, cmd := range []string{"build", "test", "image"} {
				var stdout, stderr bytes.Buffer
				args := append([]string{cmd, "-C", mod, "--engine", "docker"}, tt.args...)
				if cmd != "image" {
					args = append(args, "--dry-run", "--cache-dir", t.TempDir())
				}
				err := run(context.Background(), args, &stdout, &stderr)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("smol %s: error %v, want %q", cmd, err, tt.want)
				}
			}
		})
	}
}

// TestVerifyVariants: the recorded way of building comes first, in the
// recorded image; extras follow and may be skipped.
func TestVerifyVariants(t *testing.T) {
	base := setup.Choice{DepsNetwork: "host", ToolVersion: "v1"}
	for _, tt := range []struct {
		name     string
		eng      string
		native   bool
		images   []string
		imageRef string
		want     []verify.Variant
	}{
		{"recorded image", "", false, nil, "smol/go:1.26.8", []verify.Variant{
			{Name: "container", Choice: setup.Choice{Image: "smol/go:1.26.8", DepsNetwork: "host", ToolVersion: "v1"}},
		}},
		{"extras", "podman", true, []string{"team/go:1"}, "golang:1.26.8", []verify.Variant{
			{Name: "container", Choice: setup.Choice{Engine: "podman", Image: "golang:1.26.8", DepsNetwork: "host", ToolVersion: "v1"}},
			{Name: "native", Choice: setup.Choice{Engine: "native", DepsNetwork: "host", ToolVersion: "v1"}, Extra: true},
			{Name: "image:team/go:1", Choice: setup.Choice{Engine: "podman", Image: "team/go:1", Explicit: true, DepsNetwork: "host", ToolVersion: "v1"}, Extra: true},
		}},
		{"native job", "native", true, []string{"team/go:1"}, "", []verify.Variant{
			{Name: "native", Choice: setup.Choice{Engine: "native", DepsNetwork: "host", ToolVersion: "v1"}},
			{Name: "image:team/go:1", Choice: setup.Choice{Image: "team/go:1", Explicit: true, DepsNetwork: "host", ToolVersion: "v1"}, Extra: true},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := verifyVariants(tt.eng, tt.native, tt.images, tt.imageRef, base)
			if !slices.Equal(got, tt.want) {
				t.Errorf("verifyVariants:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestWithOtherTransfer: the other mode rebuilds like the recorded way, as
// an extra; a native rebuild has no transfer to vary.
func TestWithOtherTransfer(t *testing.T) {
	rec := setup.Choice{Engine: "docker", Image: "smol/go:1.26.8", ToolVersion: "v1"}
	copied := rec
	copied.Transfer = "copy"
	mounted := rec
	mounted.Transfer = "mount"
	for _, tt := range []struct {
		name string
		in   setup.Choice
		want []verify.Variant
	}{
		{"auto rebuild, copy added", rec, []verify.Variant{{Name: "container", Choice: rec}, {Name: "transfer:copy", Choice: copied, Extra: true}}},
		{"mount rebuild, copy added", mounted, []verify.Variant{{Name: "container", Choice: mounted}, {Name: "transfer:copy", Choice: copied, Extra: true}}},
		{"copy rebuild, mount added", copied, []verify.Variant{{Name: "container", Choice: copied}, {Name: "transfer:mount", Choice: mounted, Extra: true}}},
		{"native", setup.Choice{Engine: "native"}, []verify.Variant{{Name: "container", Choice: setup.Choice{Engine: "native"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := withOtherTransfer([]verify.Variant{{Name: "container", Choice: tt.in}})
			if !slices.Equal(got, tt.want) {
				t.Errorf("withOtherTransfer:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
