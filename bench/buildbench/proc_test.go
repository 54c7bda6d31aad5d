package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunnerRun(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		wantLines []string
		wantErr   string
	}{
		{"stdout and stderr merged in order", "echo one; sleep 0.2; echo two >&2", []string{"one", "two"}, ""},
		{"failure shows the last lines", "echo boom >&2; exit 3", []string{"boom"}, "exit status 3:\n\tboom"},
		{"no output", "true", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			r := &runner{log: &log}
			wall, lines, err := r.run(context.Background(), job{argv: []string{"sh", "-c", tt.script}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				got = append(got, l.Text)
			}
			if strings.Join(got, "|") != strings.Join(tt.wantLines, "|") {
				t.Errorf("lines = %q, want %q", got, tt.wantLines)
			}
			if tt.name == "stdout and stderr merged in order" {
				if wall < 200*time.Millisecond || lines[1].At-lines[0].At < 150*time.Millisecond {
					t.Errorf("times not taken as lines arrive: wall %v, lines %+v", wall, lines)
				}
			}
			if !strings.Contains(log.String(), "$ sh -c ") {
				t.Errorf("command not logged:\n%s", log.String())
			}
		})
	}
}

func TestRunnerCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cleaned := false
	start := time.Now()
	_, _, err := (&runner{log: io.Discard}).run(ctx, job{argv: []string{"sleep", "30"}, cleanup: func() { cleaned = true }})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("cancelled job: err = %v after %v", err, time.Since(start))
	}
	if !cleaned {
		t.Error("cleanup did not run after the job was cancelled")
	}
}

func TestRemoveTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	// A module cache: read-only directories holding read-only files.
	ro := filepath.Join(dir, "mod", "example.com", "m@v1.0.0")
	if err := os.MkdirAll(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ro, "go.mod"), []byte("module example.com/m\n"), 0o444)
	os.Chmod(ro, 0o555)
	os.Chmod(filepath.Dir(ro), 0o555)
	if err := removeTree(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
	if err := removeTree(dir); err != nil {
		t.Errorf("removing what is gone: %v", err)
	}
}
