package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cgoModule is a module whose command uses a package of its own with C code
// and a pure-Go stub for builds without cgo: the shape of go-sqlite3.
func cgoModule(t *testing.T) string {
	return writeModule(t, map[string]string{
		"go.mod":           "module example.com/cgoapp\n\ngo 1.26\n\ntoolchain go1.26.8\n",
		"csum/csum.go":     "package csum\n\n// static int twice(int x) { return 2 * x; }\nimport \"C\"\n\nfunc Twice(x int) int { return int(C.twice(C.int(x))) }\n",
		"csum/stub.go":     "//go:build !cgo\n\npackage csum\n\nfunc Twice(x int) int { panic(\"csum needs cgo\") }\n",
		"cmd/app/main.go":  "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/cgoapp/csum\"\n)\n\nfunc main() { fmt.Println(csum.Twice(21)) }\n",
		"cmd/pure/main.go": "package main\n\nfunc main() {}\n",
	})
}

// TestCgoChoice: a build graph with C code and no choice fails before the
// compile, naming the package, its cgo files and both choices, and writes
// nothing; it fails the same way when the dependency step is skipped
// because its inputs are unchanged; --cgo=off builds and is recorded; a
// module without C code needs no choice.
func TestCgoChoice(t *testing.T) {
	needDocker(t)
	dir := cgoModule(t)
	for _, attempt := range []string{"first", "with the dependency step skipped"} {
		r := smol(t, dir, nil, "build", "--platform", "linux/amd64,linux/arm64", "./cmd/app")
		if r.code != 1 {
			t.Fatalf("%s build: exit %d, want 1\n%s", attempt, r.code, r.stderr)
		}
		for _, want := range []string{"example.com/cgoapp/csum: csum.go (linux/amd64, linux/arm64)", "--cgo to build with C", "--cgo=off"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s build: stderr lacks %q:\n%s", attempt, want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "smol: build linux/amd64") {
			t.Errorf("%s build: the compile ran:\n%s", attempt, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "dist", "manifest.json")); err == nil {
			t.Errorf("%s build: wrote a manifest", attempt)
		}
	}

	mustOK(t, smol(t, dir, nil, "build", "--cgo=off", "--platform", "linux/amd64", "./cmd/app"), "build --cgo=off")
	if m := readFile(t, filepath.Join(dir, "dist", "manifest.json")); !strings.Contains(m, `"cgo": "off"`) || !strings.Contains(m, `"CGO_ENABLED=0"`) {
		t.Errorf("manifest does not record --cgo=off:\n%s", m)
	}

	// The pure command's graph has no C code: no choice needed.
	mustOK(t, smol(t, dir, nil, "build", "--platform", "linux/amd64", "./cmd/pure"), "build of a command without C")
}

// TestCgoRefusedPlatform: --cgo for a platform with no C cross toolchain is
// refused before any container starts, naming the platforms that work.
func TestCgoRefusedPlatform(t *testing.T) {
	dir := cgoModule(t)
	r := smol(t, dir, []string{"SMOL_ENGINE=docker"}, "build", "--cgo", "--platform", "linux/amd64,windows/amd64", "./cmd/app")
	if r.code != 1 || !strings.Contains(r.stderr, "no C toolchain for windows/amd64") || !strings.Contains(r.stderr, "linux/amd64, linux/arm64") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "smol: image") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("not refused in one line before anything ran:\n%s", r.stderr)
	}
}
