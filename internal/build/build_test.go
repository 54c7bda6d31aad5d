package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// TestExecName asks the host's go command what it names each command, in
// real modules, and compares smol's name with that choice: a second copy of
// the rule in the test could share a mistake with the first.
func TestExecName(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	tests := []struct {
		mod  string
		pkgs []string // directories of main packages
		goos string
	}{
		{"example.com/tool/v12", []string{".", "cmd/srv", "cmd/tool/v3", "cmd/x/v1", "cmd/y/v0", "cmd/z/v10", "cmd/w/v02", "cmd/q/v1x"}, ""},
		{"example.com/tool/v2", []string{"."}, ""},
		{"example.com/tool/v19", []string{"."}, ""},
		{"example.com/tool/v1x", []string{"."}, ""},
		{"example.com/tool/v0", []string{"."}, ""},
		{"example.com/tool/v1", []string{"."}, ""},
		{"example.com/app", []string{".", "cmd/server"}, ""},
		{"app", []string{"."}, ""},
		{"v2", []string{"."}, ""},
		{"example.com/tool/v12", []string{".", "cmd/srv"}, "windows"},
	}
	for _, tt := range tests {
		t.Run(tt.mod+"/"+tt.goos, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("go.mod", "module "+tt.mod+"\n\ngo 1.22\n")
			for _, d := range tt.pkgs {
				write(filepath.Join(d, "main.go"), "package main\n\nfunc main() {}\n")
			}
			for i, d := range tt.pkgs {
				// One directory per package: two of them may get the
				// same name.
				out := filepath.Join(dir, "out", strconv.Itoa(i))
				cmd := exec.Command(gobin, "build", "-o", out+string(filepath.Separator), "./"+d)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0", "GOOS="+tt.goos)
				if tt.goos == "" {
					cmd.Env = append(cmd.Env, "GOOS="+runtime.GOOS)
				}
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go build ./%s: %v\n%s", d, err, b)
				}
				files, err := os.ReadDir(out)
				if err != nil || len(files) != 1 {
					t.Fatalf("go build ./%s wrote %d files to %s (%v), want 1", d, len(files), out, err)
				}
				goName := files[0].Name()
				exe := ""
				if tt.goos == "windows" {
					exe = ".exe"
				}
				if got := ExecName(tt.mod, "./"+d) + exe; got != goName {
					t.Errorf("package ./%s of %s: smol names it %q, the go command %q", d, tt.mod, got, goName)
				}
			}
		})
	}
}

func TestStepError(t *testing.T) {
	s := plan.Step{Name: "build linux/amd64", Args: []string{"go", "build", "-o", "/out/", "./cmd/x"}}
	exit := errors.New("exit status 1")
	tests := []struct{ stderr, want string }{
		{"go: no main packages to build", "no main package among ./cmd/x"},
		{"main.go:3:8: no required module provides package github.com/a/b; to add it:", "go.mod does not declare"},
		{"x.go:3:8: cannot find module providing package github.com/a/b: import lookup disabled by -mod=readonly", "go.mod does not declare"},
		{"go: updates to go.sum needed, disabled by -mod=readonly", "go.sum is incomplete"},
		{"go: go.mod requires go >= 1.27.0 (running go 1.26.8; GOTOOLCHAIN=local)", "raise the toolchain line"},
		{"./main.go:5:2: undefined: x", "build linux/amd64: go build failed: exit status 1"},
	}
	deps := plan.Step{Name: "deps linux/amd64", Network: true, Args: []string{"go", "list", "-deps", "./cmd/x"}}
	for _, stderr := range []string{
		`main.go:3:8: github.com/a/b@v1.0.0: Get "https://proxy.golang.org/github.com/a/b/@v/v1.0.0.zip": dial tcp: lookup proxy.golang.org: no such host`,
		`go: github.com/a/b@v1.0.0: Get "https://proxy.golang.org/...": dial tcp 142.250.1.1:443: i/o timeout`,
	} {
		err := stepError(context.Background(), deps, exit, stderr)
		if !strings.Contains(err.Error(), "cannot reach the module proxy") || !strings.Contains(err.Error(), "GOPROXY") || !strings.Contains(err.Error(), "go mod vendor") {
			t.Errorf("deps stderr %q: error %q, want the proxy hint", stderr, err)
		}
	}
	for _, tt := range tests {
		err := stepError(context.Background(), s, exit, tt.stderr)
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("stderr %q: error %q, want %q", tt.stderr, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := stepError(ctx, s, exit, ""); !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cancelled: %v", err)
	}
}

// TestStepErrors: each failed platform gets its own line, with its own hint;
// a successful one none.
func TestStepErrors(t *testing.T) {
	steps := []plan.Step{
		{Name: "build linux/amd64", Args: []string{"go", "build", "./cmd/x"}},
		{Name: "build linux/arm64", Args: []string{"go", "build", "./cmd/x"}},
		{Name: "build windows/amd64", Args: []string{"go", "build", "./cmd/x"}},
	}
	err := stepErrors(context.Background(), steps, []engine.Result{
		{Err: errors.New("exit status 1"), Stderr: "go: updates to go.sum needed"},
		{},
		{Err: errors.New("exit status 1"), Stderr: "x_windows.go:3: undefined: y"},
	})
	if err == nil {
		t.Fatal("no error for two failed steps")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "build linux/amd64: go build failed: exit status 1: go.sum is incomplete") ||
		lines[1] != "build windows/amd64: go build failed: exit status 1" {
		t.Errorf("error lines %q", lines)
	}
	if err := stepErrors(context.Background(), steps, make([]engine.Result, 3)); err != nil {
		t.Errorf("all succeeded: %v", err)
	}
}
