package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestSetToolchain(t *testing.T) {
	tests := []struct {
		name, in, want, note string
	}{
		{
			name: "absent: one line appended, the rest kept",
			in:   "module example.com/m\n\ngo 1.21\n\nrequire example.com/dep v1.0.0 // indirect\n",
			want: "module example.com/m\n\ngo 1.21\n\nrequire example.com/dep v1.0.0 // indirect\ntoolchain go1.26.8\n",
			note: "appended toolchain go1.26.8",
		},
		{
			name: "absent, no final newline",
			in:   "module example.com/m\ngo 1.19",
			want: "module example.com/m\ngo 1.19\ntoolchain go1.26.8\n",
			note: "appended",
		},
		{
			name: "another toolchain is replaced in place",
			in:   "module filippo.io/age\n\ngo 1.25.0\n\n// Release build version.\ntoolchain go1.27.0\n\nrequire (\n\tgolang.org/x/crypto v0.55.0\n)\n",
			want: "module filippo.io/age\n\ngo 1.25.0\n\n// Release build version.\ntoolchain go1.26.8\n\nrequire (\n\tgolang.org/x/crypto v0.55.0\n)\n",
			note: "replaced toolchain go1.27.0 with go1.26.8",
		},
		{
			name: "the same toolchain: untouched",
			in:   "module m\ngo 1.26\ntoolchain go1.26.8 // pinned\n",
			want: "module m\ngo 1.26\ntoolchain go1.26.8 // pinned\n",
			note: "already pins",
		},
		{
			name: "a module named toolchain inside a block is not the directive",
			in:   "module m\ngo 1.22\nrequire (\n\ttoolchain v1.0.0\n)\n",
			want: "module m\ngo 1.22\nrequire (\n\ttoolchain v1.0.0\n)\ntoolchain go1.26.8\n",
			note: "appended",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, note := SetToolchain([]byte(tt.in), "go1.26.8")
			if string(got) != tt.want {
				t.Errorf("go.mod:\n%s\nwant:\n%s", got, tt.want)
			}
			if !strings.Contains(note, tt.note) {
				t.Errorf("note %q does not say %q", note, tt.note)
			}
		})
	}
}

func TestIdentical(t *testing.T) {
	b := func(name, sum, skipped string) Build {
		return Build{Name: name, Sums: map[string]string{"x_linux_amd64": sum}, Skipped: skipped}
	}
	tests := []struct {
		name   string
		builds []Build
		want   bool
	}{
		{"all equal", []Build{b("cold", "aa", ""), b("warm", "aa", ""), b("uid", "aa", "")}, true},
		{"one differs", []Build{b("cold", "aa", ""), b("warm", "aa", ""), b("uid", "ab", "")}, false},
		{"one skipped is not a pass", []Build{b("cold", "aa", ""), b("uid", "aa", "not root")}, false},
		{"one missing the output", []Build{b("cold", "aa", ""), b("uid", "", "")}, false},
		{"no builds", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{Outputs: []string{"x_linux_amd64"}, Builds: tt.builds}
			if got := r.Identical("x_linux_amd64"); got != tt.want {
				t.Errorf("Identical = %v, want %v", got, tt.want)
			}
			if got := r.AllIdentical(); got != tt.want {
				t.Errorf("AllIdentical = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestExplain flips one byte inside a section of a real ELF file (this test
// binary) and expects Explain to name that section.
func TestExplain(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Skipf("test binary is not ELF on %s: %v", runtime.GOOS, err)
	}
	sec := f.Section(".rodata")
	if sec == nil {
		t.Fatal("no .rodata in the test binary")
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, data, 0o644)
	changed := slices.Clone(data)
	changed[sec.Offset+sec.Size/2] ^= 0xff
	os.WriteFile(b, changed, 0o644)

	got := Explain(a, b)
	if !strings.Contains(got, "sections that differ: .rodata (") || strings.Contains(got, ".text") {
		t.Errorf("Explain = %q, want only .rodata named", got)
	}
	if got := Explain(a, a); got != "identical" {
		t.Errorf("Explain(a, a) = %q", got)
	}

	x, y := filepath.Join(dir, "x"), filepath.Join(dir, "y")
	os.WriteFile(x, []byte("abcdef"), 0o644)
	os.WriteFile(y, []byte("abcXef!"), 0o644)
	if got, want := Explain(x, y), "6 vs 7 bytes, first difference at offset 0x3"; got != want {
		t.Errorf("Explain(non-ELF) = %q, want %q", got, want)
	}
}

func TestSmolEnv(t *testing.T) {
	caller := map[string]string{
		"PATH":              "/usr/local/go/bin:/usr/bin",
		"HOME":              "/root",
		"DOCKER_HOST":       "unix:///run/user/1000/docker.sock",
		"GOPROXY":           "https://proxy.example",
		"SOURCE_DATE_EPOCH": "1",
		"GOFLAGS":           "-tags=evil",
		"XDG_CACHE_HOME":    "/somewhere",
	}
	got := smolEnv(func(k string) string { return caller[k] }, "/scratch/home")
	want := []string{"PATH=/usr/local/go/bin:/usr/bin", "HOME=/scratch/home", "DOCKER_HOST=unix:///run/user/1000/docker.sock", "GOPROXY=https://proxy.example"}
	if !slices.Equal(got, want) {
		t.Errorf("smolEnv =\n%q\nwant\n%q", got, want)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown subject", []string{"-only", "gojq,nope"}, `unknown subject "nope"`},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"bad flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, io.Discard, &stderr)
			if !errors.Is(err, cli.ErrUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(stderr.String(), tt.msg) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.msg)
			}
		})
	}
}

func TestMarkdownGolden(t *testing.T) {
	const sum = "9e288fd7ef5fca81b25c91e5a1a23134c0c6e3f538ec1e494e1aa0602a6110e2"
	const other = "00000000ef5fca81b25c91e5a1a23134c0c6e3f538ec1e494e1aa0602a6110e2"
	build := func(name, how string, secs float64, s string) Build {
		return Build{Name: name, How: how, Seconds: secs, Sums: map[string]string{"x_linux_amd64": s}}
	}
	server := Result{
		Subject: subjects[0],
		Outputs: []string{"x_linux_amd64"},
		Builds: []Build{
			build(BuildCold, "path A, uid 0, empty cache, smol image", 80, sum),
			build(BuildWarm, "path A, uid 0, warm cache, smol image", 1.5, sum),
			build(BuildUID, "path B, uid 12345, empty cache, smol image", 75, sum),
			build(BuildContainer, "git archive at path C, uid 12345, empty caches, smol image", 70, sum),
			build(BuildNative, "git archive at path D, uid 0, empty caches, host go1.26.8", 60, sum),
		},
		VerifySeconds: 131,
		Smoke:         "x_linux_amd64 --version: x 1.0",
	}
	server.Checkout.Revision = "0123456789ab"
	third := server
	third.Subject = subjects[1]
	third.Checkout.Revision = "2b9c6fb0cafe"
	third.Checkout.Notes = []string{"go.mod: appended toolchain go1.26.8 (smol needs an exact pin)"}
	third.Builds = slices.Clone(server.Builds)
	third.Builds[2] = build(BuildUID, "path B, uid 12345, empty cache, smol image", 75, other)
	third.Diffs = []string{"x_linux_amd64 [uid]: 10 vs 10 bytes, first difference at offset 0x0"}
	rep := Report{Date: "2026-11-27", Revision: "0123456789ab", GoVersion: "go1.26.8", Platforms: "linux/amd64",
		Command: "make proof", CPUs: 2, Minutes: 12.5, Results: []Result{server, third}}
	got := rep.Markdown()
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if got != string(want) {
		t.Errorf("Markdown differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	if rep.AllIdentical() {
		t.Error("AllIdentical with a differing uid build")
	}
}

// TestProveGojq is the proof's CI slice: the same code as make proof, on
// one small third-party CLI and the host's platform only, so it fits the
// test budget (about four cold builds of gojq, two minutes here). make
// proof runs the full matrix: the server, gojq and age, two platforms.
func TestProveGojq(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with smol in containers")
	}
	ci := os.Getenv("CI") == "true"
	need := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if ci {
			t.Fatalf("CI=true and %s: %v", what, err)
		}
		t.Skipf("%s: %v", what, err)
	}
	need("no Docker daemon", exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run())
	_, err := exec.LookPath("git")
	need("no git", err)
	if os.Getuid() != 0 {
		need("not root", errors.New("the uid build needs a second user"))
	}

	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "smol-proof-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer tree.RemoveAll(base)
	os.Chmod(base, 0o755)
	var log bytes.Buffer
	e := Env{Base: base, Repo: repo, Platforms: "linux/" + runtime.GOARCH, Getenv: os.Getenv, Log: &log}
	ctx := context.Background()
	if e.Smol, err = installSmol(ctx, repo, "", base); err != nil {
		t.Fatal(err)
	}
	if e.Pin, err = repoPin(repo); err != nil {
		t.Fatal(err)
	}
	s := subjects[slices.IndexFunc(subjects, func(s Subject) bool { return s.Name == "gojq" })]
	res, err := Prove(ctx, e, s)
	if err != nil && strings.Contains(err.Error(), "go mod download "+s.Module) {
		need("module proxy unreachable", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("\n%s", log.String())
	if want := []string{"gojq_linux_" + runtime.GOARCH}; !slices.Equal(res.Outputs, want) {
		t.Errorf("outputs %v, want %v", res.Outputs, want)
	}
	if len(res.Builds) != len(buildOrder) {
		t.Errorf("%d builds, want %d", len(res.Builds), len(buildOrder))
	}
	for _, b := range res.Builds {
		if b.Skipped != "" {
			t.Errorf("build %s did not run: %s", b.Name, b.Skipped)
		}
	}
	if !res.AllIdentical() {
		t.Errorf("gojq is not reproducible across the builds:\n%s", strings.Join(res.Diffs, "\n"))
	}
	// The import is a fixed commit (fixed author, the version's date), so
	// the revision stamped into gojq is the same on every machine.
	if !strings.HasPrefix(res.Checkout.Revision, "2b9c6fb") {
		t.Errorf("imported gojq at commit %s, want 2b9c6fb...: the import is not repeatable", res.Checkout.Revision)
	}
	if !strings.Contains(res.Smoke, "gojq 0.12.17 (rev: 2b9c6fb/") {
		t.Errorf("the built gojq did not print its stamped version: %q", res.Smoke)
	}
}
