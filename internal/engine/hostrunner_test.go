package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestHostRunnerOnce: steps that ask for the runner at the same time share
// one host build, and WaitRunner neither blocks before a build nor keeps
// one from starting after it.
func TestHostRunnerOnce(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	// A go that records each call and writes the file named by its last
	// argument, where go run -exec cp has cp write the runner.
	fake := "#!/bin/sh\necho \"$@\" >> " + calls + "\nfor last; do :; done\nsleep 0.2\necho runner > \"$last\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cp, err := exec.LookPath("cp")
	if err != nil {
		t.Skip("no cp")
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+filepath.Dir(cp))
	c := warmContainer(t)
	os.Remove(filepath.Join(runnerDir(c.Host, filepath.Join), runnerBin()))

	c.WaitRunner() // nothing started: returns at once
	var wg sync.WaitGroup
	got := make([]bool, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = c.hostRunner(context.Background())
		}()
	}
	wg.Wait()
	c.WaitRunner()
	for i, ok := range got {
		if !ok {
			t.Errorf("caller %d: runner not built", i)
		}
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("go ran %d times, want once:\n%s", n, b)
	}
	if !c.runnerBuilt() {
		t.Error("no runner in its directory")
	}
}
