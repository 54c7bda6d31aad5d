package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

// TestUpToDate builds a git module again and again, changing one input at a
// time, and checks which builds compile and which find dist/ up to date:
// only file contents, the plan and the outputs count, never a file's time
// or an ignored file. It also checks that a build with fewer platforms
// removes the outputs the previous one wrote, and nothing else.
func TestUpToDate(t *testing.T) {
	needDocker(t)
	dir := helloModule(t)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\n/dist/\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	other := "linux/arm64"
	if host == other {
		other = "linux/amd64"
	}
	dist := filepath.Join(dir, "dist")
	hostOut := "hello_" + strings.ReplaceAll(host, "/", "_")
	otherOut := "hello_" + strings.ReplaceAll(other, "/", "_")
	os.MkdirAll(dist, 0o755)
	os.WriteFile(filepath.Join(dist, "README.txt"), []byte("not smol's"), 0o644)

	build := func(what string, wantCompile bool, args ...string) result {
		t.Helper()
		r := smol(t, dir, nil, append([]string{"build"}, args...)...)
		mustOK(t, r, what)
		compiled := strings.Contains(r.stderr, "smol: build ")
		upToDate := strings.Contains(r.stderr, "smol: up to date: dist matches its sources and SHA256SUMS")
		if compiled != wantCompile || upToDate == wantCompile {
			t.Fatalf("%s: compiled %v, up to date %v; want compiled %v\n%s", what, compiled, upToDate, wantCompile, r.stderr)
		}
		return r
	}

	build("two platforms", true, "--platform", host+","+other, "./cmd/hello")
	r := build("one platform", true, "--platform", host, "./cmd/hello")
	if want := "smol: removed dist/" + otherOut + ": the previous build wrote it and this one did not\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	entries, _ := os.ReadDir(dist)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"README.txt", manifest.SumsFile, hostOut, manifest.ManifestFile}; !slices.Equal(names, want) {
		t.Errorf("dist holds %v, want %v", names, want)
	}
	sums := readFile(t, filepath.Join(dist, manifest.SumsFile))
	if strings.Count(sums, "\n") != 1 || !strings.HasSuffix(sums, "  "+hostOut+"\n") {
		t.Errorf("SHA256SUMS after the one-platform build:\n%s", sums)
	}

	build("same inputs", false, "--platform", host, "./cmd/hello")
	main := filepath.Join(dir, "cmd", "hello", "main.go")
	later := time.Now().Add(time.Hour)
	os.Chtimes(main, later, later)
	build("a source file touched", false, "--platform", host, "./cmd/hello")
	os.WriteFile(filepath.Join(dir, "cmd", "hello", "trace.log"), []byte("ignored"), 0o644)
	build("an ignored file written", false, "--platform", host, "./cmd/hello")

	// The first edit makes the tree dirty, which changes the version stamp;
	// the second changes only the content of a file already dirty.
	os.WriteFile(main, []byte(strings.Replace(readFile(t, main), `"hello"`, `"hello,"`, 1)), 0o644)
	build("a source file edited", true, "--platform", host, "./cmd/hello")
	os.WriteFile(main, []byte(strings.Replace(readFile(t, main), `"hello,"`, `"hello!"`, 1)), 0o644)
	build("a dirty file edited again", true, "--platform", host, "./cmd/hello")
	build("--force", true, "--force", "--platform", host, "./cmd/hello")
	// A new tag changes git describe, so the version stamped, and no file.
	if out, err := exec.Command("git", "-C", dir, "tag", "v1.2.3").CombinedOutput(); err != nil {
		t.Fatalf("git tag: %v\n%s", err, out)
	}
	build("a new tag", true, "--platform", host, "./cmd/hello")
	good := readFile(t, filepath.Join(dist, hostOut))
	os.WriteFile(filepath.Join(dist, hostOut), []byte("damaged"), 0o755)
	build("an output damaged", true, "--platform", host, "./cmd/hello")
	if readFile(t, filepath.Join(dist, hostOut)) != good {
		t.Error("the damaged output was not rebuilt")
	}
	build("all repaired", false, "--platform", host, "./cmd/hello")
	if readFile(t, filepath.Join(dist, "README.txt")) != "not smol's" {
		t.Error("a file smol did not write was changed")
	}
}
