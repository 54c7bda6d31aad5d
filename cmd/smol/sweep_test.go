package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/owner"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// TestKilledBuildIsSwept kills smol with SIGKILL in the middle of a cold
// compile: its container keeps running and its scratch directory stays. The
// next smol removes both and names them, and leaves alone the scratch
// directories and containers of a smol that still runs and of one on another
// host.
func TestKilledBuildIsSwept(t *testing.T) {
	needDocker(t)
	if runtime.GOOS != "linux" {
		t.Skip("owners are named through /proc")
	}
	dir := helloModule(t)
	image := imageFor(t, dir)
	dist := filepath.Join(dir, "dist")

	// Work that must survive: marked with this test's own process (which
	// runs), and with a process of another host.
	self, err := owner.Self()
	if err != nil {
		t.Fatal(err)
	}
	foreign := owner.ID{Host: "another-boot-id:4026531836", PID: 1, Start: 1}
	keep := map[string]owner.ID{".smol-live": self, ".smol-foreign": foreign}
	for name, id := range keep {
		os.MkdirAll(filepath.Join(dist, name), 0o755)
		os.WriteFile(filepath.Join(dist, name, ".owner"), []byte(id.String()+"\n"), 0o644)
	}
	suffix := strconv.Itoa(os.Getpid())
	keepContainers := map[string]owner.ID{"smol-test-live-" + suffix: self, "smol-test-foreign-" + suffix: foreign}
	for name, id := range keepContainers {
		// Created, never started: docker ps --all lists it all the same.
		if out, err := exec.Command("docker", "create", "--name", name, "--label", "smol.owner="+id.String(), image, "go", "version").CombinedOutput(); err != nil {
			t.Fatalf("docker create: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("docker", "rm", "--force", name).Run() })
	}

	cold := t.TempDir()
	defer tree.RemoveAll(cold)
	cmd := exec.Command(smolBin, "build", "--cache-dir", cold, "./cmd/hello")
	cmd.Dir = dir
	// Fresh containers, which the test finds by their names.
	cmd.Env = smolEnv("SMOL_WARM=0")
	// A file, not a pipe: the orphaned docker CLI keeps its copy of
	// smol's stderr open, and Wait would wait for it to close.
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	// The std step's container: a cold build compiles the standard library
	// there, beside the dependency step, which takes long enough to kill
	// smol in the middle of it; the compile after it is short.
	container := "smol-" + pid + "-std-" + runtime.GOOS + "-" + runtime.GOARCH
	t.Cleanup(func() { exec.Command("docker", "rm", "--force", container).Run() })
	deadline := time.Now().Add(3 * time.Minute)
	for !containerRunning(container) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no build container appeared\n%s", readFile(t, stderr.Name()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // well into compiling the standard library
	cmd.Process.Kill()
	cmd.Wait()
	scratch := filepath.Join(dist, ".smol-"+pid)
	if !containerRunning(container) {
		t.Fatalf("container %s stopped with smol: nothing to sweep", container)
	}
	if _, err := os.Stat(scratch); err != nil {
		t.Fatalf("no scratch directory after SIGKILL: %v", err)
	}

	r := smol(t, dir, nil, "build", "./cmd/bye")
	mustOK(t, r, "build after the kill")
	for _, want := range []string{
		"smol: removed container " + container + ", left by smol process " + pid + ", which has gone\n",
		"smol: removed dist/.smol-" + pid + ", the scratch directory of smol process " + pid + ", which has gone\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if containerExists(container) {
		t.Errorf("container %s is still there", container)
	}
	if _, err := os.Stat(scratch); err == nil {
		t.Errorf("%s is still there", scratch)
	}
	for name := range keep {
		if _, err := os.Stat(filepath.Join(dist, name, ".owner")); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	for name := range keepContainers {
		if !containerExists(name) {
			t.Errorf("container %s was removed", name)
		}
	}
}
