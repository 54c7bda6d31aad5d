package engine

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProcCancel runs a real process and cancels it once it has started:
// go build, interrupted alone, exits and leaves the compiles it started
// running, as this shell, interrupted alone, waits for its sleep; the
// interrupt must reach the whole group. Then the cleanup runs.
func TestProcCancel(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	out := &watchWriter{want: "started\n", seen: started}
	cleaned := false
	done := make(chan error, 1)
	go func() {
		done <- proc{
			argv:   []string{sh, "-c", "trap 'echo interrupted' INT; sh -c 'echo started; exec sleep 60'"},
			stdout: out, stderr: out, group: true, cleanup: func() { cleaned = true },
		}.run(ctx)
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not start")
	}
	cancel()
	start := time.Now()
	err = <-done
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run returned %v, want context.Canceled", err)
	}
	if !cleaned {
		t.Error("cleanup was not called")
	}
}

// watchWriter closes seen once what it was written contains want.
type watchWriter struct {
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}
