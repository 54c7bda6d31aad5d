package engine

import (
	"slices"
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
