// Command runner runs several commands at once inside one builder container
// and keeps their output and exit status apart. smol embeds this file and
// starts it with `go run` of the builder's own toolchain, which needs no
// shell in the image (smol's own smol/go image has none) and, since Go 1.24,
// caches the linked runner in GOCACHE, so a warm start costs a cache lookup.
//
// Usage:
//
//	runner JOB...
//
// Each JOB is one argument, a JSON object:
//
//	{"name": "build linux/amd64", "dir": "/src", "env": ["GOOS=linux", ...], "args": ["go", "build", ...]}
//
// env is laid over the runner's own environment (the container's), so a job
// states only what differs from it. At most one job per CPU runs at a time,
// in the order given.
//
// Every line a job writes goes to the runner's stdout or stderr, as the job
// wrote it, prefixed with "NAME: ". When a job ends the runner writes one line
// to stdout, "smol-runner: NAME: ok" or "smol-runner: NAME: " and the reason
// it failed, and the runner exits 0 only when every job succeeded.
//
// Stopping: the go command that runs this program ignores SIGINT and does not
// pass it on, and inside a container it is the only process the engine
// signals. So the runner also stops, interrupting every job and waiting for
// them, when it reads a line "stop" on its standard input (the caller runs the
// container with -i and writes that line) as well as on SIGINT or SIGTERM.
// End of input alone does not stop it, so the command runs unchanged with
// stdin closed or at a terminal.
//
// The file uses only the standard library and nothing newer than Go 1.21, so
// that it builds with any toolchain a module can pin.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

type job struct {
	Name string   `json:"name"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
	Args []string `json:"args"`
}

func main() {
	jobs, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "smol-runner:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stop" {
				stop()
				return
			}
		}
	}()
	if !runAll(ctx, jobs, runtime.NumCPU(), &syncWriter{w: os.Stdout}, &syncWriter{w: os.Stderr}) {
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func parse(args []string) ([]job, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no jobs: usage: runner JOB... (each a JSON object with name, dir, env, args)")
	}
	var jobs []job
	for _, a := range args {
		var j job
		dec := json.NewDecoder(strings.NewReader(a))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			return nil, fmt.Errorf("job %q: %v", a, err)
		}
		if j.Name == "" || len(j.Args) == 0 {
			return nil, fmt.Errorf("job %q: needs a name and args", a)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// runAll runs the jobs, at most n at a time, and reports whether all
// succeeded.
func runAll(ctx context.Context, jobs []job, n int, stdout, stderr io.Writer) bool {
	if n < 1 {
		n = 1
	}
	slots := make(chan struct{}, n)
	ok := make([]bool, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			ok[i] = runJob(ctx, jobs[i], stdout, stderr)
		}(i)
	}
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

func runJob(ctx context.Context, j job, stdout, stderr io.Writer) bool {
	result := "ok"
	if ctx.Err() != nil {
		result = "interrupted before it started"
	} else if err := run(ctx, j, stdout, stderr); ctx.Err() != nil {
		result = "interrupted"
	} else if err != nil {
		result = err.Error()
	}
	fmt.Fprintf(stdout, "smol-runner: %s: %s\n", j.Name, result)
	return result == "ok"
}

func run(ctx context.Context, j job, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, j.Args[0], j.Args[1:]...)
	cmd.Dir = j.Dir
	cmd.Env = overlay(os.Environ(), j.Env)
	// Interrupt rather than kill: the go command then removes its
	// temporary files before it exits.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out := &prefixWriter{w: stdout, prefix: j.Name + ": "}
	errOut := &prefixWriter{w: stderr, prefix: j.Name + ": "}
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	out.flush()
	errOut.flush()
	return err
}

// overlay returns base with every KEY=VALUE of over replacing base's
// setting of KEY.
func overlay(base, over []string) []string {
	set := map[string]bool{}
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var env []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			env = append(env, kv)
		}
	}
	return append(env, over...)
}

// syncWriter serialises writes from several jobs, so lines never interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// prefixWriter writes whole lines, each with prefix; a last line without a
// newline is written by flush.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append([]byte(p.prefix), p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.w.Write(append(append([]byte(p.prefix), p.buf...), '\n'))
		p.buf = nil
	}
}
