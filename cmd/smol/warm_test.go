package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

var warmStarted = regexp.MustCompile(`smol: started warm builder container (smol-warm-[0-9a-f]+) `)

// TestWarmContainer builds the same module in fresh containers and then in
// a warm one, and checks that the warm container is started once, reused,
// replaced when a directory it mounted is made again, and that every build
// gives the bytes of the fresh containers'. It also checks smol clean.
func TestWarmContainer(t *testing.T) {
	needDocker(t)
	dir := helloModule(t)
	cache := t.TempDir()
	host := runtime.GOOS + "/" + runtime.GOARCH
	other := "linux/arm64"
	if host == other {
		other = "linux/amd64"
	}
	var started []string
	t.Cleanup(func() {
		for _, name := range started {
			exec.Command("docker", "rm", "--force", name).Run()
		}
	})
	build := func(what string, warm bool) (sums, stderr string) {
		t.Helper()
		env := []string{"SMOL_CACHE_DIR=" + cache, "SMOL_WARM=0"}
		if warm {
			env[1] = "SMOL_WARM=1"
		}
		r := smol(t, dir, env, "build", "--force", "--set-version", "v1", "--platform", host+","+other, "./cmd/hello", "./cmd/bye")
		mustOK(t, r, what)
		if m := warmStarted.FindStringSubmatch(r.stderr); m != nil {
			started = append(started, m[1])
		}
		return readFile(t, filepath.Join(dir, "dist", manifest.SumsFile)), r.stderr
	}
	// running returns the ID of the container name when it runs, else "".
	running := func(name string) string {
		out, err := exec.Command("docker", "container", "inspect", "--format", "{{.State.Running}} {{.Id}}", name).Output()
		id, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "true ")
		if err != nil || !ok {
			return ""
		}
		return id
	}

	// The cold build leaves the runner built; the second fresh build is the
	// reference.
	build("cold, fresh container", false)
	want, stderr := build("fresh container", false)
	if strings.Contains(stderr, "warm builder container") {
		t.Fatalf("SMOL_WARM=0 build used a warm container:\n%s", stderr)
	}

	got, stderr := build("first warm build", true)
	if len(started) != 1 {
		t.Fatalf("first warm build started %d warm containers, want 1:\n%s", len(started), stderr)
	}
	if got != want {
		t.Errorf("warm container's SHA256SUMS differ from a fresh container's:\nwarm:\n%sfresh:\n%s", got, want)
	}
	firstID := running(started[0])
	if firstID == "" {
		t.Fatalf("warm container %s is not running after the build", started[0])
	}

	got, stderr = build("second warm build", true)
	if len(started) != 1 {
		t.Errorf("second warm build started another container instead of reusing %s:\n%s", started[0], stderr)
	}
	if got != want {
		t.Errorf("reused warm container's SHA256SUMS differ:\n%s", got)
	}

	// A new output directory at the same path is not the one the warm
	// container mounted: the build must notice, replace the container and
	// put the outputs in the new directory.
	dist := filepath.Join(dir, "dist")
	if err := os.Rename(dist, dist+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	got, stderr = build("warm build after dist/ was made again", true)
	if !strings.Contains(stderr, "smol: removed warm builder container "+started[0]+": its /outs is no longer the host directory it mounted") {
		t.Errorf("stale warm container not reported as removed:\n%s", stderr)
	}
	// The same setup gives the same name; the container is a new one.
	if id := running(started[0]); len(started) != 2 || started[1] != started[0] || id == "" || id == firstID {
		t.Errorf("after stale mounts: started %v, running as %q, want %s started again as a new container (not %s)", started, id, started[0], firstID)
	}
	if got != want {
		t.Errorf("SHA256SUMS after the stale container was replaced differ:\n%s", got)
	}

	// The cache directory's home removed and made again (as by rm -rf of
	// the cache): the runner's directory is no longer inside what the
	// container mounted, so the engine cannot even start the runner
	// there. The build must say so in its own words, not the engine's,
	// and replace the container.
	if err := os.RemoveAll(filepath.Join(cache, "go1.26.8", "home")); err != nil {
		t.Fatal(err)
	}
	// The first build after it makes the runner again, in a fresh
	// container; the next would run it in the warm one.
	got, stderr = build("warm build after the cache's home was made again", true)
	if got != want {
		t.Errorf("SHA256SUMS after the cache's home was made again differ:\n%s", got)
	}
	got, more := build("second warm build after the cache's home was made again", true)
	stderr += more
	if !strings.Contains(stderr, "smol: removed warm builder container "+started[0]+": its cache directory is no longer the host directory it mounted") {
		t.Errorf("warm container without its cache directory not reported as removed:\n%s", stderr)
	}
	if strings.Contains(stderr, "OCI runtime") || strings.Contains(stderr, "chdir") {
		t.Errorf("the engine's error reached the user:\n%s", stderr)
	}
	if len(started) != 3 || running(started[0]) == "" {
		t.Errorf("after the cache's home was made again: started %v, want the warm container started again", started)
	}
	if got != want {
		t.Errorf("SHA256SUMS of the second build after the cache's home was made again differ:\n%s", got)
	}

	// One platform alone goes through the warm container too, its lines
	// without the step's name, and gives the same bytes.
	r := smol(t, dir, []string{"SMOL_CACHE_DIR=" + cache, "SMOL_WARM=1"}, "build", "--force", "--set-version", "v1", "--platform", host, "--out", "dist-one", "./cmd/hello", "./cmd/bye")
	mustOK(t, r, "warm build of one platform")
	plat := strings.ReplaceAll(host, "/", "_")
	for _, name := range []string{"hello_" + plat, "bye_" + plat} {
		if readFile(t, filepath.Join(dir, "dist-one", name)) != readFile(t, filepath.Join(dir, "dist", name)) {
			t.Errorf("%s from the one-platform warm build differs from the two-platform build's", name)
		}
	}

	r = smol(t, dir, nil, "clean", "--keep-caches")
	mustOK(t, r, "smol clean")
	if !strings.Contains(r.stderr, "smol: removed container "+started[1]+" (warm builder container") || running(started[1]) != "" {
		t.Errorf("smol clean said %q, and %s is still running", r.stderr, started[1])
	}
}
