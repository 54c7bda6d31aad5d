package transfer

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestDaemonInfo asks the real Docker daemon, in one call, what two
// separate info calls report: its ID, name and data root, and its storage
// driver.
func TestDaemonInfo(t *testing.T) {
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		t.Skipf("no Docker daemon: %v", err)
	}
	d, err := DaemonInfo(context.Background(), "docker", "docker")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ format, got string }{
		{"{{.ID}} {{.Name}} {{.DockerRootDir}}", d.ID},
		{"{{.Driver}}", d.Driver},
	} {
		out, err := exec.Command("docker", "info", "--format", q.format).Output()
		if want := strings.TrimSpace(string(out)); err != nil || q.got != want || want == "" {
			t.Errorf("DaemonInfo gave %q for %s, docker info %q (%v)", q.got, q.format, want, err)
		}
	}
}
