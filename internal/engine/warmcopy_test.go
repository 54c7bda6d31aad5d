package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWarmCopyCommands pins what matters in the warm copy-mode container's
// lines: no network, the cache volumes and a volume of its own, no --user
// on the container (see warmCopyStart), and builds run as the caller in
// their own directory, every path moved under it.
func TestWarmCopyCommands(t *testing.T) {
	c := &Copy{C: warmContainer(t), GoVersion: "1.26.8"}
	steps := testPlan(t).BuildSteps(c.Layout())
	create := Quote(c.warmCopyCreateCommand())
	for _, want := range []string{
		"docker create --rm --name " + c.warmCopyName() + " --label smol.warm=1 --pull=never --network=none ",
		"-v smol-go1.26.8-uid1000-build:/cache/go-build -v smol-go1.26.8-uid1000-mod:/cache/mod -v smol-go1.26.8-uid1000-home:/cache/home -v /smol ",
		" sha256:abc /smol/runner -idle 600",
	} {
		if !strings.Contains(create, want) {
			t.Errorf("create command lacks %q:\n%s", want, create)
		}
	}
	for _, bad := range []string{"--user", c.C.Host.Src, c.C.Host.GoCache} {
		if strings.Contains(create, bad) {
			t.Errorf("create command has %q: %s", bad, create)
		}
	}

	dir := c.buildDir(time.Unix(1700000000, 0))
	if want := "/smol/builds/1700000000-smol-7-1"; dir != want {
		t.Errorf("buildDir = %q, want %q", dir, want)
	}
	argv := c.warmCopyExecCommand(steps, dir)
	exe := Quote(argv)
	if !strings.HasPrefix(exe, "docker exec --interactive --user 1000:1000 -w /smol ") {
		t.Errorf("exec command: %s", exe)
	}
	i := slices.Index(argv, c.warmCopyName())
	if i < 0 || !slices.Equal(argv[i+1:i+5], []string{"/smol/runner", "-warm", "-build", dir}) {
		t.Fatalf("exec command does not run the runner with -warm -build %s in %s: %s", dir, c.warmCopyName(), exe)
	}
	for _, want := range []string{`"dir":"/smol/builds/src"`, `"-o","` + dir + `/out/linux_amd64/"`} {
		if !strings.Contains(exe, want) {
			t.Errorf("exec command lacks %s: %s", want, exe)
		}
	}
	if strings.Contains(exe, `"/src"`) || strings.Contains(exe, `"/out/`) {
		t.Errorf("exec command still names /src or /out: %s", exe)
	}

	// Another setup is another container.
	other := &Copy{C: warmContainer(t), GoVersion: "1.26.7"}
	if other.warmCopyName() == c.warmCopyName() {
		t.Error("warm copy-mode containers of two Go versions share a name")
	}
}

// TestReuseOutputs: outputs fetched once are kept by digest, and a build
// that makes the same bytes gets them from there; a kept copy that is not
// the listed bytes, or a listing that is not the runner's, means a fetch.
func TestReuseOutputs(t *testing.T) {
	bin := []byte("\x7fELF not really")
	sum := sha256.Sum256(bin)
	line := "linux_amd64/app 755 " + hex.EncodeToString(sum[:])
	c := &Copy{C: &Container{}}
	c.C.Host.Home = t.TempDir()
	c.C.Host.Out = t.TempDir()
	if err := os.MkdirAll(filepath.Join(c.C.Host.Out, "linux_amd64"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(c.C.Host.Out, "linux_amd64", "app"), bin, 0o755)
	if c.reuseOutputs([]string{line}) {
		t.Fatal("reused an output that was never kept")
	}
	c.keepOutputs([]string{line})

	c.C.Host.Out = t.TempDir()
	if !c.reuseOutputs([]string{line}) {
		t.Fatal("did not reuse the kept output")
	}
	got := filepath.Join(c.C.Host.Out, "linux_amd64", "app")
	if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, bin) {
		t.Errorf("reused output: %q, %v", b, err)
	}
	if fi, err := os.Stat(got); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("reused output's mode: %v, %v", fi.Mode(), err)
	}

	for _, tt := range []struct {
		name  string
		lines []string
	}{
		{"none", nil},
		{"outside", []string{"../app 755 " + hex.EncodeToString(sum[:])}},
		{"short digest", []string{"linux_amd64/app 755 abcd"}},
		{"not octal", []string{"linux_amd64/app rwx " + hex.EncodeToString(sum[:])}},
		{"one not kept", []string{line, "linux_arm64/app 755 " + strings.Repeat("0", 64)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.C.Host.Out = t.TempDir()
			if c.reuseOutputs(tt.lines) {
				t.Fatal("reused")
			}
			if left, _ := os.ReadDir(filepath.Join(c.C.Host.Out, "linux_amd64")); len(left) > 0 {
				t.Errorf("left %v behind", left)
			}
		})
	}

	kept := filepath.Join(c.keptDir(), hex.EncodeToString(sum[:]))
	os.WriteFile(kept, []byte("tampered"), 0o644)
	c.C.Host.Out = t.TempDir()
	if c.reuseOutputs([]string{line}) {
		t.Error("reused a kept copy that is not the listed bytes")
	}
	if _, err := os.Stat(filepath.Join(c.C.Host.Out, "linux_amd64", "app")); err == nil {
		t.Error("left the tampered copy in the output directory")
	}

	c.TempCaches = true
	os.WriteFile(kept, bin, 0o644)
	if c.reuseOutputs([]string{line}) {
		t.Error("reused outputs in a run with TempCaches (verify)")
	}
}

// TestKeptOutputsEviction: the copies beyond keptOutputs that go are those
// least recently fetched or used, so an output that every unchanged build
// reuses stays however long ago it was fetched.
func TestKeptOutputsEviction(t *testing.T) {
	c := &Copy{C: &Container{}}
	c.C.Host.Home = t.TempDir()
	keep := func(name string, bin []byte, age time.Duration) string {
		t.Helper()
		sum := sha256.Sum256(bin)
		line := "linux_amd64/" + name + " 755 " + hex.EncodeToString(sum[:])
		c.C.Host.Out = t.TempDir()
		os.MkdirAll(filepath.Join(c.C.Host.Out, "linux_amd64"), 0o755)
		os.WriteFile(filepath.Join(c.C.Host.Out, "linux_amd64", name), bin, 0o755)
		c.keepOutputs([]string{line})
		then := time.Now().Add(-age)
		os.Chtimes(filepath.Join(c.keptDir(), hex.EncodeToString(sum[:])), then, then)
		return line
	}
	used := keep("app", []byte("fetched first"), 2*time.Hour)
	for i := range keptOutputs - 1 {
		keep("app", []byte("fetched later "+strconv.Itoa(i)), time.Hour)
	}
	c.C.Host.Out = t.TempDir()
	if !c.reuseOutputs([]string{used}) {
		t.Fatal("did not reuse the kept output")
	}
	keep("app", []byte("fetched last"), 0)
	entries, _ := os.ReadDir(c.keptDir())
	if len(entries) != keptOutputs {
		t.Errorf("%d copies kept, want %d", len(entries), keptOutputs)
	}
	c.C.Host.Out = t.TempDir()
	if !c.reuseOutputs([]string{used}) {
		t.Error("evicted the copy used last, which was fetched first")
	}
}
