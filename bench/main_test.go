package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults", args: []string{"-gohttp-smol", "a", "-seed", "b"}},
		{name: "unpinned", args: []string{"-server-cpus", "", "-client-cpus", ""}},
		{name: "render only skips the load checks", args: []string{"-from-json", "x.json", "-rounds", "0"}},
		{name: "positional", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds must be at least 1"},
		{name: "no starts", args: []string{"-startup-runs", "0"}, wantErr: "-startup-runs must be at least 1"},
		{name: "sub-second", args: []string{"-duration", "500ms"}, wantErr: "at least 1s"},
		{name: "fewer connections than threads", args: []string{"-threads", "4", "-connections", "2"}, wantErr: "-connections at least -threads"},
		{name: "half pinned", args: []string{"-client-cpus", ""}, wantErr: "set together or not at all"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestRunRefuses checks the errors that stop a run before anything starts.
func TestRunRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"gohttp-smol binary missing", []string{"-seed", "x", "-servers", "gohttp-smol"}, "pass -gohttp-smol PATH (make bench builds it)"},
		{"unknown server", []string{"-servers", "apache"}, `unknown server "apache"`},
		{"bad CPU list", []string{"-seed", os.Args[0], "-servers", "seed", "-server-cpus", "4096", "-client-cpus", "4097", "-out", dir},
			`CPU list "4096" is not usable here`},
		{"results file missing", []string{"-from-json", filepath.Join(dir, "none.json")}, "read results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath("wrk"); err != nil && strings.Contains(tt.name, "CPU") {
				t.Skip("wrk is checked first and is not installed")
			}
			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRerender(t *testing.T) {
	dir := t.TempDir()
	md, svg := filepath.Join(dir, "BENCHMARKS.md"), filepath.Join(dir, "server.svg")
	var out strings.Builder
	err := run(context.Background(), []string{"-from-json", filepath.Join("testdata", "results.json"), "-markdown", md, "-svg", svg}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"report    " + md, "FAIL      1 KiB HTML req/s ≥ 0.8x nginx", "PASS      binary size ≤ 8 MiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(svg); err != nil {
		t.Error(err)
	}

	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte(`{"schema": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"-from-json", old, "-markdown", md, "-svg", svg}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "schema 0, this program reads 1; rerun the benchmark") {
		t.Errorf("old schema: error = %v", err)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"-gohttp-smol", "bench/results/bin/gohttp-smol", "-server-cpus", "", "-x", "it's"})
	want := `-gohttp-smol bench/results/bin/gohttp-smol -server-cpus '' -x 'it'\''s'`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
