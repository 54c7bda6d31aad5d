package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

// TestDryRun drives the CLI with buffers: --dry-run prints the exact
// commands and runs nothing, so it needs no daemon.
func TestDryRun(t *testing.T) {
	mod := writeModule(t, map[string]string{"go.mod": goMod, "cmd/app/main.go": "package main\nfunc main() {}\n"})
	cache := t.TempDir()
	for _, k := range []string{"GOPROXY", "GOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE"} {
		t.Setenv(k, "")
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"docker", []string{"--engine", "docker", "--platform", "linux/amd64,linux/arm64"}},
		{"docker-options", []string{"--engine", "docker", "--tags", "netgo", "--env", "GOAMD64=v3", "--ldflags=-X main.commit=abc", "--deps-network", "host"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"build", "--dry-run", "-C", mod, "--cache-dir", cache, "--set-version", "v1.0.0"}, tt.args...)
			if err := run(context.Background(), append(args, "./cmd/app"), &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			got := strings.NewReplacer(mod, "$MOD", cache, "$CACHE", "smol-"+strconv.Itoa(os.Getpid()), "smol-$PID",
				strconv.Itoa(os.Getuid())+":"+strconv.Itoa(os.Getgid()), "$UID:$GID").Replace(stdout.String())
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
