package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

func TestExecName(t *testing.T) {
	tests := []struct{ mod, pkg, want string }{
		{"example.com/app", ".", "app"},
		{"example.com/app", "./cmd/server", "server"},
		{"example.com/app", "cmd/server/", "server"},
		{"example.com/app/v2", ".", "app"},
		{"example.com/app", "./cmd/tool/v3", "tool"},
		{"app", ".", "app"},
	}
	for _, tt := range tests {
		if got := ExecName(tt.mod, tt.pkg); got != tt.want {
			t.Errorf("ExecName(%q, %q) = %q, want %q", tt.mod, tt.pkg, got, tt.want)
		}
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
