package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

// TestGOROOTVolume: where Docker reads image files through fuse-overlayfs,
// a build's containers read GOROOT from smol's volume copy of the image's,
// and smol verify, whose rebuild reads the image's own GOROOT, gets the
// same bytes.
func TestGOROOTVolume(t *testing.T) {
	needDocker(t)
	out, err := exec.Command("docker", "info", "--format", "{{.Driver}}").Output()
	if driver := strings.TrimSpace(string(out)); err != nil || !engine.SlowImageFS(driver) {
		t.Skipf("storage driver %q (%v): builds read GOROOT from the image", driver, err)
	}
	dir := gitModule(t)
	r := smol(t, dir, []string{"SMOL_WARM=1"}, "build", "--cache-dir", t.TempDir(), "./cmd/hello")
	mustOK(t, r, "cold build")
	m, err := manifest.Read(filepath.Join(dir, "dist", manifest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	vol := engine.GOROOTVolumeName(m.Image.ID)
	for _, v := range []string{vol, engine.GOROOTDone(vol)} {
		out, err := exec.Command("docker", "volume", "inspect", "--format", `{{index .Labels "`+engine.LabelGOROOT+`"}}`, v).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != m.Image.ID {
			t.Fatalf("volume %s after the build: label %q (%v), want %s\n%s", v, got, err, m.Image.ID, r.stderr)
		}
	}
	// The warm container the build started for the next ones has it over
	// GOROOT, as every container of the build had.
	warm := warmStarted.FindStringSubmatch(r.stderr)
	if warm == nil {
		t.Fatalf("the build started no warm container:\n%s", r.stderr)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "--force", warm[1]).Run() })
	out, err = exec.Command("docker", "inspect", "--format", `{{range .Mounts}}{{.Name}} {{.Destination}} {{.RW}};{{end}}`, warm[1]).Output()
	if err != nil || !strings.Contains(string(out), vol+" "+engine.GOROOTDir+" false;") {
		t.Errorf("warm container %s mounts %q (%v), want %s read-only at %s", warm[1], out, err, vol, engine.GOROOTDir)
	}
	r = smol(t, dir, nil, "verify")
	mustOK(t, r, "verify")
	if !strings.Contains(r.stderr, "PASS hello_linux_") {
		t.Errorf("no PASS line in verify's log:\n%s", r.stderr)
	}
}
