package main

// Child processes: each is timed from start to exit, its output is kept as
// lines stamped with their arrival time (smol's progress lines are the
// breakdown of a build), and everything goes to the run's log.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
)

// job is one command to run.
type job struct {
	dir  string
	env  []string // nil: the benchmark's own environment
	argv []string
	// cleanup, when set, runs after a cancelled job: the docker CLI can be
	// stopped while its container goes on, so jobs that start a named
	// container remove it here.
	cleanup func()
}

// runner runs jobs and logs their output.
type runner struct {
	mu  sync.Mutex
	log io.Writer
}

// run starts j and waits for it. It returns the wall time from start to
// exit and the lines the process wrote to stdout and stderr (merged, in the
// order they arrived). A failed command's error ends with its last lines of
// output.
func (r *runner) run(ctx context.Context, j job) (time.Duration, []line, error) {
	cmd := exec.CommandContext(ctx, j.argv[0], j.argv[1:]...)
	cmd.Dir, cmd.Env = j.dir, j.env
	// Ask politely first: smol and the docker CLI both stop their
	// containers on SIGINT.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, nil, fmt.Errorf("run %s: %w", j.argv[0], err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	r.logf("$ %s\n", shellLine(j.argv))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, nil, fmt.Errorf("run %s: %w", j.argv[0], err)
	}
	pw.Close() // the child holds its own copy; EOF comes when it exits
	var lines []line
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, line{At: time.Since(start), Text: sc.Text()})
			r.logf("  %7.3fs | %s\n", time.Since(start).Seconds(), sc.Text())
		}
	}()
	err = cmd.Wait()
	wall := time.Since(start)
	<-done
	pr.Close()
	r.logf("  %7.3fs exit: %v\n", wall.Seconds(), err)
	if ctx.Err() != nil {
		if j.cleanup != nil {
			j.cleanup()
		}
		return 0, nil, ctx.Err()
	}
	if err != nil {
		return 0, lines, fmt.Errorf("%s: %w%s", shellLine(j.argv[:min(len(j.argv), 3)]), err, tail(lines, 8))
	}
	return wall, lines, nil
}

// output runs a short command and returns its trimmed output.
func (r *runner) output(ctx context.Context, dir string, argv ...string) (string, error) {
	_, lines, err := r.run(ctx, job{dir: dir, argv: argv})
	if err != nil {
		return "", err
	}
	var s []string
	for _, l := range lines {
		s = append(s, l.Text)
	}
	return strings.TrimSpace(strings.Join(s, "\n")), nil
}

func (r *runner) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.log, format, args...)
}

func tail(lines []line, n int) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(":")
	for _, l := range lines[max(0, len(lines)-n):] {
		b.WriteString("\n\t" + l.Text)
	}
	return b.String()
}

// shellLine is argv as one line for logs and the report, quoted as smol's
// --dry-run quotes.
func shellLine(argv []string) string { return engine.Quote(argv) }

// removeTree removes dir and everything in it. The go command makes the
// module cache read-only, which stops a caller that is not root: on failure
// every directory is made writable and the removal tried again.
func removeTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
