package main

// Integration tests: they run the real smol binary, which runs real
// containers. Without a Docker daemon they skip, except under CI=true, where
// a missing daemon is a failure.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

var (
	smolBin  string // the smol binary under test
	repoRoot string // this repository
	// warmCache is shared by tests that do not care about cache state, so
	// the standard library is compiled once per test run.
	warmCache string
)

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "smol-test-")
		if err != nil {
			panic(err)
		}
		defer tree.RemoveAll(tmp)
		os.Chmod(tmp, 0o755)
		smolBin = filepath.Join(tmp, "smol")
		out, err := exec.Command("go", "build", "-o", smolBin, ".").CombinedOutput()
		if err != nil {
			os.Stderr.Write(out)
			return 1
		}
		wd, _ := os.Getwd()
		repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
		warmCache = filepath.Join(tmp, "warm-cache")
		return m.Run()
	}()
	os.Exit(code)
}

// needDocker skips the test when no Docker daemon answers, or fails it under CI.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs containers")
	}
	err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and no Docker daemon: %v", err)
	}
	t.Skipf("no Docker daemon: %v", err)
}

type result struct {
	stdout, stderr string
	code           int
}

// smolEnv is the environment the tests give smol: PATH, HOME and what
// says where the Docker daemon is and how to reach it (DOCKER_HOST and its
// TLS settings, as a job with a docker:dind service has them), TMPDIR (CI
// points it at a directory that daemon can see, and smol verify makes its
// scratch copy there), then extra.
func smolEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DOCKER_") || k == "TMPDIR" {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// smol runs the smol binary in dir with env added to smolEnv.
func smol(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return smolAs(t, dir, nil, env, args...)
}

func smolAs(t *testing.T, dir string, cred *syscall.Credential, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, smolBin, args...)
	cmd.Dir = dir
	// Fresh containers unless a test asks for warm ones (SMOL_WARM=1 in env):
	// warm ones outlive the test, and reproducibility is shown by fresh ones.
	cmd.Env = append(smolEnv("SMOL_CACHE_DIR="+warmCache, "SMOL_WARM=0"), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout.String(), stderr.String(), 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("smol %v: %v", args, err)
	}
	return r
}

func mustOK(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstderr:\n%s", what, r.code, r.stderr)
	}
}

// writeModule writes files (path → content) under a new directory.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goMod = "module example.com/hello\n\ngo 1.26\n\ntoolchain go1.26.8\n"

func helloModule(t *testing.T) string {
	return writeModule(t, map[string]string{
		"go.mod":            goMod,
		"cmd/hello/main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(\"hello\", version) }\n",
		"cmd/bye/main.go":   "package main\n\nfunc main() { println(\"bye\") }\n",
		"lib/lib.go":        "package lib\n\nfunc X() int { return 1 }\n",
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBuildPlatforms builds two commands for four platforms and checks names,
// checksums, the manifest, the version stamp and the static check.
func TestBuildPlatforms(t *testing.T) {
	needDocker(t)
	dir := helloModule(t)
	r := smol(t, dir, []string{"SOURCE_DATE_EPOCH=1700000000"}, "build", "--platform", "linux/amd64,linux/arm64,darwin/arm64,windows/amd64", "--set-version", "v9.9.9", "./cmd/...")
	mustOK(t, r, "build")
	for _, name := range []string{"hello_linux_amd64", "hello_linux_arm64", "hello_darwin_arm64", "hello_windows_amd64.exe",
		"bye_linux_amd64", "bye_linux_arm64", "bye_darwin_arm64", "bye_windows_amd64.exe"} {
		fi, err := os.Stat(filepath.Join(dir, "dist", name))
		if err != nil {
			t.Errorf("missing output: %v", err)
			continue
		}
		if fi.ModTime().Unix() != 1700000000 {
			t.Errorf("%s: mtime %v, want SOURCE_DATE_EPOCH", name, fi.ModTime())
		}
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
		cmd.Dir = filepath.Join(dir, "dist")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		out, err := exec.Command(filepath.Join(dir, "dist", "hello_linux_amd64")).Output()
		if err != nil || string(out) != "hello v9.9.9\n" {
			t.Errorf("built binary says %q (%v), want the stamped version", out, err)
		}
	}
	m := readFile(t, filepath.Join(dir, "dist", "manifest.json"))
	for _, want := range []string{`"schema": "smol.manifest/v1"`, `"engine": "docker"`, `"go_version": "1.26.8"`, `"id": "sha256:`, `"version": "v9.9.9"`, `"source_date_epoch": 1700000000`} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %s:\n%s", want, m)
		}
	}
	if !strings.Contains(r.stderr, "smol: build linux/arm64") {
		t.Errorf("no progress line per platform:\n%s", r.stderr)
	}

	// The same build again writes the same manifest, byte for byte.
	before := m
	// --force: the same inputs would otherwise be found up to date.
	mustOK(t, smol(t, dir, []string{"SOURCE_DATE_EPOCH=1700000000"}, "build", "--force", "--platform", "windows/amd64,linux/amd64,darwin/arm64,linux/arm64", "--set-version", "v9.9.9", "./cmd/..."), "rebuild")
	if after := readFile(t, filepath.Join(dir, "dist", "manifest.json")); after != before {
		t.Errorf("manifest changed between identical builds:\n%s\n---\n%s", before, after)
	}
}

// TestBadInput checks that each kind of bad input gets one clear message, a
// non-zero exit, and leaves an earlier good output alone.
func TestBadInput(t *testing.T) {
	needDocker(t)
	good := helloModule(t)
	mustOK(t, smol(t, good, nil, "build", "./cmd/hello"), "good build")
	goodOut := filepath.Join(good, "dist", "hello_"+runtime.GOOS+"_"+runtime.GOARCH)
	goodBytes := readFile(t, goodOut)
	goodSums := readFile(t, filepath.Join(good, "dist", "SHA256SUMS"))

	noDocker := t.TempDir()
	tests := []struct {
		name  string
		dir   func(t *testing.T) string
		env   []string
		args  []string
		want  string
		keeps bool // the good module's earlier outputs must be unchanged
	}{
		{"no go.mod", func(t *testing.T) string { return t.TempDir() }, nil, []string{"build"}, "go mod init", false},
		{"vague go line", func(t *testing.T) string {
			return writeModule(t, map[string]string{"go.mod": "module x\ngo 1.26\n", "main.go": "package main\nfunc main(){}\n"})
		}, nil, []string{"build"}, `add a line "toolchain go1.26.N"`, false},
		{"not a main package", func(*testing.T) string { return good }, nil, []string{"build", "./lib"}, "no main package", true},
		{"compile error", func(*testing.T) string {
			os.WriteFile(filepath.Join(good, "cmd", "hello", "broken.go"), []byte("package main\n\nfunc broken() { undefinedThing() }\n"), 0o644)
			return good
		}, nil, []string{"build", "./cmd/hello"}, "undefined: undefinedThing", true},
		{"undeclared module", func(*testing.T) string {
			os.Remove(filepath.Join(good, "cmd", "hello", "broken.go"))
			os.WriteFile(filepath.Join(good, "cmd", "hello", "dep.go"), []byte("package main\n\nimport _ \"github.com/google/uuid\"\n"), 0o644)
			return good
		}, nil, []string{"build", "./cmd/hello"}, "go.mod does not declare", true},
		{"unknown platform", func(*testing.T) string {
			os.Remove(filepath.Join(good, "cmd", "hello", "dep.go"))
			return good
		}, nil, []string{"build", "--platform", "linux/amd65", "./cmd/hello"}, `unknown platform "linux/amd65"`, true},
		{"engine missing", func(*testing.T) string { return good }, []string{"PATH=" + noDocker}, []string{"build", "./cmd/hello"}, "install Docker or Podman", true},
		{"daemon down", func(*testing.T) string { return good }, []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, []string{"build", "./cmd/hello"}, "start it", true},
		{"image missing", func(*testing.T) string { return good }, nil, []string{"build", "--image", "smol-test/absent:1", "./cmd/hello"}, "cannot be pulled", true},
		{"dynamic binary", func(*testing.T) string { return good }, nil, []string{"build", "--ldflags=-buildmode=pie", "./cmd/hello"}, "not statically linked", true},
		{"dist not writable", func(t *testing.T) string {
			d := helloModule(t)
			os.WriteFile(filepath.Join(d, "dist"), []byte("a file"), 0o644)
			return d
		}, nil, []string{"build", "./cmd/hello"}, "choose another with --out", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			r := smol(t, dir, tt.env, tt.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure\nstderr:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, r.stderr)
			}
			if tt.keeps {
				if readFile(t, goodOut) != goodBytes || readFile(t, filepath.Join(good, "dist", "SHA256SUMS")) != goodSums {
					t.Error("a failed build changed the earlier good outputs")
				}
				entries, _ := os.ReadDir(filepath.Join(good, "dist"))
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), ".") {
						t.Errorf("left behind in dist: %s", e.Name())
					}
				}
			}
		})
	}
}

// TestCompileHasNoNetwork runs a probe in exactly the container a build step
// gets and in the one the dependency step gets: only the latter may reach
// the module proxy.
func TestCompileHasNoNetwork(t *testing.T) {
	needDocker(t)
	probe := "package main\n\nimport (\n\t\"fmt\"\n\t\"net\"\n\t\"time\"\n)\n\nfunc main() {\n" +
		"\tc, err := net.DialTimeout(\"tcp\", \"proxy.golang.org:443\", 5*time.Second)\n" +
		"\tif err != nil {\n\t\tfmt.Println(\"NO-NETWORK\", err)\n\t\treturn\n\t}\n\tc.Close()\n\tfmt.Println(\"NETWORK\")\n}\n"
	dir := writeModule(t, map[string]string{"go.mod": goMod, "probe/main.go": probe})
	// smol test runs "go test" in the build step's container (network
	// none); go run of the probe would be rejected by -mod flags, so run it
	// as a test that prints.
	os.WriteFile(filepath.Join(dir, "probe", "probe_test.go"), []byte("package main\n\nimport \"testing\"\n\nfunc TestProbe(t *testing.T) { main() }\n"), 0o644)
	r := smol(t, dir, nil, "test", "--", "-v", "-count=1", "./probe")
	mustOK(t, r, "smol test")
	if !strings.Contains(r.stdout, "NO-NETWORK") {
		t.Errorf("probe in the build environment reached the network:\n%s", r.stdout)
	}
	// The same probe in a networked container proves it can succeed.
	// It reuses the build cache smol test just filled, so it compiles nothing.
	out, err := exec.Command("docker", "run", "--rm", "--user", strconv.Itoa(os.Getuid())+":"+strconv.Itoa(os.Getgid()),
		"-v", dir+":/src:ro", "-v", filepath.Join(warmCache, "go1.26.8", "go-build")+":/c", "-v", engine.HostCABundle+":"+engine.HostCABundle+":ro",
		"-w", "/src", "-e", "HOME=/tmp", "-e", "GOCACHE=/c", "-e", "GOFLAGS=-mod=mod", imageFor(t, dir), "go", "run", "./probe").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NETWORK") || strings.Contains(string(out), "NO-NETWORK") {
		t.Skipf("the default bridge network cannot reach the proxy here either (%v): %s", err, out)
	}
}

// imageFor returns the builder image the last build in dir used.
func imageFor(t *testing.T, dir string) string {
	t.Helper()
	for _, ref := range []string{"golang:1.26.8", "smol/go:1.26.8"} {
		if exec.Command("docker", "image", "inspect", ref).Run() == nil {
			return ref
		}
	}
	t.Fatal("no builder image present")
	return ""
}

// TestInterrupt sends SIGINT to a cold build: smol exits non-zero, no
// container is left, no partial or scratch file appears, and the earlier
// output is untouched.
// TestInterrupt: Ctrl-C stops the build, its container and, with several
// platforms, every compile in the one container, promptly (the runner stops
// on its stdin, not on the engine's 10-second fallback), and leaves dist as
// it was.
func TestInterrupt(t *testing.T) {
	needDocker(t)
	other := "linux/arm64"
	if runtime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	for _, tt := range []struct{ name, platforms string }{
		{"one platform", ""},
		{"two platforms", runtime.GOOS + "/" + runtime.GOARCH + "," + other},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := helloModule(t)
			os.MkdirAll(filepath.Join(dir, "dist"), 0o755)
			out := filepath.Join(dir, "dist", "hello_"+runtime.GOOS+"_"+runtime.GOARCH)
			os.WriteFile(out, []byte("earlier good build"), 0o755)

			cold := t.TempDir()
			args := []string{"build", "--cache-dir", cold}
			if tt.platforms != "" {
				args = append(args, "--platform", tt.platforms)
			}
			cmd := exec.Command(smolBin, append(args, "./cmd/hello")...)
			cmd.Dir = dir
			// A fresh container, which the test finds by its name.
			cmd.Env = smolEnv("SMOL_WARM=0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The std step's container: a cold build compiles the standard
			// library there, for long enough to interrupt it in the middle.
			prefix := "smol-" + strconv.Itoa(cmd.Process.Pid) + "-std"
			deadline := time.Now().Add(3 * time.Minute)
			for !containerRunning(prefix) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no std container appeared\n%s", stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // let the compiler get going
			cmd.Process.Signal(os.Interrupt)
			start := time.Now()
			err := cmd.Wait()
			took := time.Since(start)
			t.Logf("stopped %v after the interrupt", took)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("exit %v, want 130\n%s", err, stderr.String())
			}
			if tt.platforms != "" && took > 9*time.Second {
				t.Errorf("stopping took %v: the runner did not stop its compiles itself", took)
			}
			if containerExists("smol-" + strconv.Itoa(cmd.Process.Pid)) {
				t.Error("a container is left after the interrupt")
			}
			if got := readFile(t, out); got != "earlier good build" {
				t.Errorf("earlier output replaced by %d bytes", len(got))
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "dist"))
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("dist holds %v, want only the earlier output", names)
			}
			tree.RemoveAll(cold)
		})
	}
}

func containerRunning(prefix string) bool {
	out, _ := exec.Command("docker", "ps", "--filter", "name="+prefix, "--format", "{{.Names}}").Output()
	return len(bytes.TrimSpace(out)) > 0
}

func containerExists(prefix string) bool {
	out, _ := exec.Command("docker", "ps", "-a", "--filter", "name="+prefix, "--format", "{{.Names}}").Output()
	return len(bytes.TrimSpace(out)) > 0
}

// TestShellWithoutShell: smol's own image holds only the toolchain, so smol
// shell must say so and name a way out rather than fail obscurely.
func TestShellWithoutShell(t *testing.T) {
	needDocker(t)
	dir := helloModule(t)
	mustOK(t, smol(t, dir, nil, "build", "./cmd/hello"), "build") // makes sure a builder image exists
	if exec.Command("docker", "image", "inspect", "golang:1.26.8").Run() == nil {
		t.Skip("the official image is present: it has a shell")
	}
	r := smol(t, dir, nil, "shell")
	if r.code == 0 || !strings.Contains(r.stderr, "has no bash") || !strings.Contains(r.stderr, "--image golang:1.26.8") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
