package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

var (
	warmCopyStarted = regexp.MustCompile(`smol: started warm copy-mode builder container (smol-warm-[0-9a-f]+) `)
	warmCopyUsed    = regexp.MustCompile(`smol: source in .*\(copy mode, warm container (smol-warm-[0-9a-f]+)\)`)
)

// inNamespace is set in the copy of the test binary that TestCopyMode
// starts in a private mount namespace.
const inNamespace = "SMOL_TEST_PRIVATE_MOUNTS"

// TestCopyMode makes "the daemon cannot see my files" real. Where the
// daemon already cannot see /tmp (a docker:dind service, whose job points
// TMPDIR at the builds volume it shares), the module goes in a directory
// under /tmp. Elsewhere the test binary runs again under unshare -m, where
// the module lives on a tmpfs that only that mount namespace has, so the
// Docker daemon (in the host's namespace) sees nothing at its path, as a
// remote daemon or docker:dind would. The checks (copyModeChecks) are the
// same either way.
func TestCopyMode(t *testing.T) {
	if os.Getenv(inNamespace) != "" {
		copyModeChecks(t, "")
		return
	}
	needDocker(t)
	if dir, ok := tmpUnseen(t); ok {
		copyModeChecks(t, dir)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root: a private mount namespace with a tmpfs (unshare -m)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux) for a private mount namespace")
	}
	if out, err := exec.Command(unshare, "-m", "--propagation", "private", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -m does not work here: %v: %s", err, out)
	}
	args := []string{"-m", "--propagation", "private", os.Args[0], "-test.run", "^TestCopyMode$", "-test.count", "1", "-test.v"}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), inNamespace+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a private mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("checks in a private mount namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestCopyMode") {
		t.Fatal("the checks in the private mount namespace did not report a pass")
	}
}

// tmpUnseen returns a new directory under /tmp and true when the daemon
// cannot see it, as transfer.Probe (the check smol's --transfer auto makes)
// finds; otherwise it removes the directory and returns false.
func tmpUnseen(t *testing.T) (string, bool) {
	t.Helper()
	// The probe creates a container of the builder image without pulling:
	// a build makes sure there is one.
	mustOK(t, smol(t, helloModule(t), nil, "build", "./cmd/hello"), "build that provides the builder image")
	dir, err := os.MkdirTemp("/tmp", "smol-copymode-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	probe := transfer.Dirs{Module: filepath.Join(dir, "probe"), Cache: filepath.Join(dir, "probe-cache")}
	os.MkdirAll(probe.Module, 0o755)
	if err := os.WriteFile(filepath.Join(probe.Module, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sees, err := transfer.Probe(ctx, "docker", imageFor(t, ""), "smol-test-probe-"+strconv.Itoa(os.Getpid()), probe)
	tree.RemoveAll(probe.Module)
	tree.RemoveAll(probe.Cache)
	if err != nil || sees {
		tree.RemoveAll(dir)
		if err != nil {
			t.Fatalf("does the daemon see /tmp? %v", err)
		}
		return "", false
	}
	t.Cleanup(func() { tree.RemoveAll(dir) })
	if tmp := filepath.Clean(os.TempDir()); tmp == "/tmp" || strings.HasPrefix(tmp, "/tmp/") {
		t.Fatalf("the daemon cannot see %s, nor then the test's temporary directories in %s: set TMPDIR to a directory it sees", dir, tmp)
	}
	t.Logf("the daemon cannot see %s: copy mode without a private mount namespace", dir)
	return dir, true
}

// copyModeChecks runs where hidden, or a tmpfs it mounts when hidden is ""
// (inside the private mount namespace), is a directory the daemon cannot
// see.
func copyModeChecks(t *testing.T, hidden string) {
	if hidden == "" {
		hidden = filepath.Join(t.TempDir(), "hidden")
		os.MkdirAll(hidden, 0o755)
		if err := syscall.Mount("tmpfs", hidden, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount a tmpfs: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(hidden, syscall.MNT_DETACH) })
	}

	// The same commit twice: once where the daemon sees it (the reference,
	// built in mount mode), once where it does not.
	seen := gitModule(t)
	mod := filepath.Join(hidden, "mod")
	if out, err := exec.Command("cp", "-a", seen, mod).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}

	t.Run("forced mount fails clearly", func(t *testing.T) {
		r := smol(t, mod, nil, "build", "--transfer", "mount", "./cmd/hello")
		if r.code != 1 || !strings.Contains(r.stderr, "daemon cannot see this machine's files") || !strings.Contains(r.stderr, "--transfer copy") {
			t.Errorf("exit %d, want 1 and an error that names the cause and --transfer copy; stderr:\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(mod, "dist", "SHA256SUMS")); err == nil {
			t.Error("a failed build wrote SHA256SUMS")
		}
	})

	t.Run("auto picks copy, same bytes as mount", func(t *testing.T) {
		ref := smol(t, seen, nil, "build", "--transfer", "mount", "./cmd/...")
		mustOK(t, ref, "reference build in mount mode")
		r := smol(t, mod, nil, "build", "./cmd/...")
		mustOK(t, r, "build where the daemon cannot see the module")
		if !strings.Contains(r.stderr, "transfer copy (the daemon cannot see "+mod+")") {
			t.Errorf("the step lines do not say copy mode was chosen and why:\n%s", r.stderr)
		}
		for _, l := range []string{"source in", "outputs back"} {
			if !strings.Contains(r.stderr, "smol: "+l) {
				t.Errorf("no %q step line with the bytes transferred:\n%s", l, r.stderr)
			}
		}
		// The std step reads the source from this run's volume too.
		if !strings.Contains(r.stderr, "smol: std linux/"+goarch()) || strings.Contains(r.stderr, "failed, so the compile builds") {
			t.Errorf("no std step, or a failed one, beside the dependency step in copy mode:\n%s", r.stderr)
		}
		for _, f := range []string{"SHA256SUMS", "manifest.json", "hello_linux_" + goarch(), "bye_linux_" + goarch()} {
			if a, b := readFile(t, filepath.Join(seen, "dist", f)), readFile(t, filepath.Join(mod, "dist", f)); a != b {
				t.Errorf("%s differs between mount mode and copy mode", f)
			}
		}
	})

	t.Run("warm rebuild reuses the volumes", func(t *testing.T) {
		before := cacheEntries(t, mod)
		if before == 0 {
			t.Fatal("the build cache volume is empty after a build")
		}
		r := smol(t, mod, nil, "build", "--force", "./cmd/...")
		mustOK(t, r, "second build")
		if strings.Contains(r.stderr, "smol: deps ") {
			t.Errorf("the dependency step ran again: the module cache volume was not reused:\n%s", r.stderr)
		}
		// Every compile and link was a hit in the build cache volume:
		// the go command added nothing to it.
		if after := cacheEntries(t, mod); after != before {
			t.Errorf("build cache volume went from %d to %d entries: the rebuild compiled again", before, after)
		}
	})

	t.Run("warm copy-mode container: same bytes, no compile", func(t *testing.T) {
		warm := []string{"SMOL_WARM=1"}
		r := smol(t, mod, warm, "build", "--force", "./cmd/...")
		mustOK(t, r, "first warm build")
		// It starts the warm container unless an earlier build with the
		// same image and cache volumes did.
		if m := warmCopyStarted.FindStringSubmatch(r.stderr); m != nil {
			t.Cleanup(func() { exec.Command("docker", "rm", "--force", "--volumes", m[1]).Run() })
		}
		m := warmCopyUsed.FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("the first warm build did not use a warm copy-mode container:\n%s", r.stderr)
		}
		name := m[1]
		before := cacheEntries(t, mod)
		r = smol(t, mod, warm, "build", "--force", "./cmd/...")
		mustOK(t, r, "second warm build")
		if warmCopyStarted.MatchString(r.stderr) || !strings.Contains(r.stderr, "(copy mode, warm container "+name+")") {
			t.Errorf("the second warm build did not use the running warm container:\n%s", r.stderr)
		}
		// The same bytes again: they come from the copies the first build
		// kept, checked against the runner's digests, not from a fetch.
		if !strings.Contains(r.stderr, "are the bytes of copies smol kept") {
			t.Errorf("the second warm build fetched outputs it had already:\n%s", r.stderr)
		}
		if after := cacheEntries(t, mod); after != before {
			t.Errorf("build cache volume went from %d to %d entries: the warm rebuild compiled again", before, after)
		}
		for _, f := range []string{"SHA256SUMS", "manifest.json", "hello_linux_" + goarch(), "bye_linux_" + goarch()} {
			if a, b := readFile(t, filepath.Join(seen, "dist", f)), readFile(t, filepath.Join(mod, "dist", f)); a != b {
				t.Errorf("%s differs between mount mode and the warm copy-mode container", f)
			}
		}
		// The builds' sources in the container are read-only.
		cp := exec.Command("docker", "cp", name+":/smol/builds", "-")
		stream, _ := cp.StdoutPipe()
		if err := cp.Start(); err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(stream)
		sources := 0
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if strings.Contains(h.Name, "/src/") && h.Typeflag != tar.TypeSymlink {
				sources++
				if h.Mode&0o222 != 0 {
					t.Errorf("%s in the warm container is writable (mode %o)", h.Name, h.Mode)
				}
			}
		}
		io.Copy(io.Discard, stream)
		if err := cp.Wait(); err != nil || sources == 0 {
			t.Errorf("docker cp of the builds' directories: %v, %d source entries", err, sources)
		}
	})

	t.Run("verify in copy mode, and against mount mode", func(t *testing.T) {
		r := smol(t, mod, nil, "verify", "--transfer", "copy", "--other-transfer")
		mustOK(t, r, "verify")
		for _, want := range []string{"PASS", "transfer:mount"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("verify log lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "FAIL") || strings.Contains(r.stderr, "SKIP transfer") {
			t.Errorf("verify log:\n%s", r.stderr)
		}
	})

	t.Run("test in copy mode sees untracked files", func(t *testing.T) {
		// Untracked and not ignored: part of the file set a build sees.
		os.WriteFile(filepath.Join(mod, "lib", "lib_test.go"), []byte("package lib\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {\n\tif X() != 1 {\n\t\tt.Fatal(X())\n\t}\n}\n"), 0o644)
		defer os.Remove(filepath.Join(mod, "lib", "lib_test.go"))
		r := smol(t, mod, nil, "test", "--", "./lib")
		mustOK(t, r, "smol test")
		if !strings.Contains(r.stdout, "ok  \texample.com/hello/lib") || !strings.Contains(r.stderr, "transfer copy") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	})

	t.Run("cancel leaves no container or volume", func(t *testing.T) {
		// A file the compiler needs some seconds for, with new content so
		// that no cache holds it.
		var b strings.Builder
		b.WriteString("package main\n\nvar table = []int{\n")
		for i := range 60000 {
			b.WriteString(strconv.Itoa(i*7+int(time.Now().UnixNano()%1000)) + ",\n")
		}
		b.WriteString("}\n")
		os.WriteFile(filepath.Join(mod, "cmd", "hello", "table.go"), []byte(b.String()), 0o644)
		cmd := exec.Command(smolBin, "build", "./cmd/hello")
		cmd.Dir = mod
		cmd.Env = smolEnv("SMOL_CACHE_DIR="+warmCache, "SMOL_WARM=0")
		errPipe, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "smol: source in") {
				break
			}
		}
		prefix := "smol-" + strconv.Itoa(cmd.Process.Pid)
		deadline := time.Now().Add(2 * time.Minute)
		for !containerRunning(prefix + "-1-build") {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no build container appeared\n%s", log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Signal(os.Interrupt)
		rest, _ := io.ReadAll(errPipe)
		log.Write(rest)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("exit %v, want 130 (interrupted)\n%s", err, log.String())
		}
		if containerExists(prefix) {
			t.Errorf("a container named %s-* is left after the interrupt", prefix)
		}
		out, _ := exec.Command("docker", "volume", "ls", "--filter", "name="+prefix+"-", "--format", "{{.Name}}").Output()
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("volumes left after the interrupt: %s", s)
		}
	})
}

func goarch() string {
	out, _ := exec.Command("go", "env", "GOARCH").Output()
	return strings.TrimSpace(string(out))
}

// cacheEntries counts the files in copy mode's build cache volume for this
// user, read through the daemon.
func cacheEntries(t *testing.T, dir string) int {
	t.Helper()
	vol := engine.CacheVolumes("1.26.8", os.Getuid())[0]
	name := "smol-test-cache-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("docker", "create", "--name", name, "-v", vol+":/c", imageFor(t, dir)).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	defer exec.Command("docker", "rm", "--force", name).Run()
	cmd := exec.Command("docker", "cp", name+":/c", "-")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag == tar.TypeReg {
			n++
		}
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker cp: %v", err)
	}
	return n
}
