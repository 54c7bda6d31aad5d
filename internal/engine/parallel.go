package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// A multi-platform build is several go commands that differ only in
// GOOS/GOARCH (and the output directory). Each one is mostly serial at its
// end (the link) and a container start costs about as much as a warm
// compile, so smol runs them together: the native engine as parallel
// processes, the container engines in one container, where the embedded
// runner program (runner/main.go) starts them and keeps their output and
// exit status apart.
//
// Why a Go runner rather than sh -c "... & ... & wait": smol's own builder
// image has no shell, and a shell would not keep each command's output
// attributable or stop the others cleanly. Why the builder's toolchain builds
// it (go run) rather than smol shipping a binary: it is then built for the
// builder's platform whatever the host is (a Mac with podman machine, say),
// and the image needs nothing added.
//
// When it is built matters. Built before the first compile of a cold cache,
// it would put a compile of much of the standard library (runtime, os, ...)
// in front of every go command, serially. So while the cache holds no built
// runner, each step runs in a container of its own, concurrently (the
// container starts are a small part of a cold build), and after the first
// successful compile one more container builds the runner, which then costs
// about one link; the runner leaves its executable beside its source in the
// cache (runner-GOOS-GOARCH). Every later build runs all its steps in one
// container started with that executable: no go command start-up in front
// of the builds, and the runner is the container's first process, which the
// engine signals on Ctrl-C.
//
// One step alone runs exactly as Run runs it, without the runner.

//go:embed runner/main.go
var runnerSource []byte

// runnerGoMod makes the runner's directory a module of its own, so neither
// the module being built nor its go.mod's requirements take part in
// building it. Go 1.21 is the oldest toolchain line the runner's code needs.
const runnerGoMod = "module smol.runner\n\ngo 1.21\n"

// Line is one command an executor runs, with the comment --dry-run prints
// above it.
type Line struct {
	Comment string
	Argv    []string
}

// Result is how one step of RunAll ended.
type Result struct {
	Err    error  // nil on success
	Stderr string // what the step wrote to stderr, to explain a failure
}

// Jobs is how many steps RunAll runs at once: one per CPU. Each go build is
// itself parallel, but its link and its last packages are not, which is where
// running another platform beside it pays.
func Jobs(steps int) int {
	return max(1, min(steps, runtime.NumCPU()))
}

// prefixed reports whether RunAll labels each line of output with its step
// name: only when several steps share the streams.
func prefixed(steps []plan.Step) bool { return len(steps) > 1 }

// Commands implements Executor: one line per step, run at the same time.
func (n *Native) Commands(steps []plan.Step) []Line {
	var lines []Line
	for _, s := range steps {
		c := s.Name
		if len(steps) > 1 {
			c += " (in parallel with the others)"
		}
		lines = append(lines, Line{Comment: c, Argv: n.Command(s)})
	}
	return lines
}

// RunAll implements Executor: each step is a go command of its own, at
// most Jobs at a time, sharing the CPUs as the runner's jobs do
// (shareCPUs).
func (n *Native) RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []Result {
	return runEach(ctx, shareCPUs(steps, runtime.GOMAXPROCS(0)), stdout, stderr, n.Run)
}

// shareCPUs returns steps with, when more than one runs at a time, each
// step's part of procs CPUs as GOMAXPROCS (unless its env sets one): it
// bounds a go command's -p and its compiler's backend concurrency, which
// would otherwise each be sized to every CPU, so that k go commands at
// once oversubscribe the machine k times over and spend CPU, and so time,
// on it. What a go command builds does not depend on it. The runner does
// the same for the jobs of a container (runner/main.go, runAll).
func shareCPUs(steps []plan.Step, procs int) []plan.Step {
	at := Jobs(len(steps))
	if at < 2 {
		return steps
	}
	share := fmt.Sprintf("GOMAXPROCS=%d", max(1, procs/at))
	out := slices.Clone(steps)
	for i, s := range out {
		if !slices.ContainsFunc(s.Env, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }) {
			out[i].Env = append(slices.Clip(s.Env), share)
		}
	}
	return out
}

// runEach runs each step with run, at most Jobs at a time, labelling each
// line of output with its step when there are several.
func runEach(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer, run func(context.Context, plan.Step, io.Writer, io.Writer) error) []Result {
	res := make([]Result, len(steps))
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	slots := make(chan struct{}, Jobs(len(steps)))
	var wg sync.WaitGroup
	for i, s := range steps {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if ctx.Err() != nil {
				res[i] = Result{Err: ctx.Err()}
				return
			}
			var errBuf bytes.Buffer
			o, e := stdout, io.Writer(stderr)
			var ow, ew *lineWriter
			if prefixed(steps) {
				ow = &lineWriter{prefix: s.Name + ": ", w: stdout}
				ew = &lineWriter{prefix: s.Name + ": ", w: stderr}
				o, e = ow, ew
			}
			err := run(ctx, s, o, io.MultiWriter(e, &errBuf))
			if ow != nil {
				ow.flush()
				ew.flush()
			}
			res[i] = Result{Err: err, Stderr: errBuf.String()}
		}()
	}
	wg.Wait()
	return res
}

// runnerDir is the runner's module directory under the HOME of layout l,
// named by the runner's content so that smol versions never share one.
func runnerDir(l plan.Layout, join func(...string) string) string {
	sum := sha256.Sum256(append(append([]byte{}, runnerSource...), runnerGoMod...))
	return join(l.Home, ".smol-runner", hex.EncodeToString(sum[:8]))
}

// runnerBin is the name of the copy of itself the runner leaves in its
// directory (see runner/main.go) when it runs in a container of the host's
// architecture. An image of another architecture never matches it, and its
// runner goes on being started with go run.
func runnerBin() string { return "runner-linux-" + runtime.GOARCH }

func fileExists(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// group is the single container step that runs steps through the runner.
// Its environment is what every step shares, less the target platform and
// the code-generation knobs: those are set per job, so that the runner itself
// is built for the machine it runs on (GOARCH=arm64 or GOAMD64=v4 for the
// outputs must not give the container a runner it cannot execute).
func (c *Container) group(steps []plan.Step) plan.Step {
	in := plan.ContainerLayout
	common := slices.Clone(steps[0].Env)
	for _, s := range steps[1:] {
		common = slices.DeleteFunc(common, func(kv string) bool { return !slices.Contains(s.Env, kv) })
	}
	common = slices.DeleteFunc(common, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "GOOS" || k == "GOARCH" || slices.Contains(plan.Knobs, k)
	})
	args := []string{"go", "run", "-trimpath", "."}
	if bin := runnerBin(); fileExists(filepath.Join(runnerDir(c.Host, filepath.Join), bin)) {
		args = []string{path.Join(runnerDir(in, path.Join), bin)}
	}
	for _, s := range steps {
		job, _ := json.Marshal(struct {
			Name string   `json:"name"`
			Dir  string   `json:"dir"`
			Env  []string `json:"env"`
			Args []string `json:"args"`
		}{s.Name, s.Dir, slices.DeleteFunc(slices.Clone(s.Env), func(kv string) bool { return slices.Contains(common, kv) }), s.Args})
		args = append(args, string(job))
	}
	name, _, _ := strings.Cut(steps[0].Name, " ")
	return plan.Step{
		Name:    name,
		Network: steps[0].Network,
		Dir:     runnerDir(in, path.Join),
		Args:    args,
		Env:     common,
		OutDir:  steps[0].OutDir,
	}
}

// groupCommand is the docker run line of the group step: with -i, because
// the runner stops its jobs on a "stop" line on its standard input.
func (c *Container) groupCommand(steps []plan.Step) []string {
	argv := c.Command(c.group(steps))
	return slices.Insert(argv, 2, "--interactive")
}

// Commands implements Executor: one container for all the steps once the
// runner is built; before that, one container per step and, after compile
// steps, the container that builds the runner.
func (c *Container) Commands(steps []plan.Step) []Line {
	if c.warmUsable(steps) {
		return c.warmCommands(steps)
	}
	if len(steps) == 1 {
		return []Line{{Comment: steps[0].Name, Argv: c.Command(steps[0])}}
	}
	if !c.runnerBuilt() {
		var lines []Line
		for _, s := range steps {
			lines = append(lines, Line{Comment: s.Name + " (in parallel with the others, unless the host's go command builds smol's runner, which then runs them in one container)", Argv: c.Command(s)})
		}
		if steps[0].OutDir != "" {
			lines = append(lines, Line{
				Comment: "after they succeed: build smol's runner (internal/engine/runner/main.go, which smol writes to " + runnerDir(c.Host, filepath.Join) + "), so that later builds run every platform in one container",
				Argv:    c.Command(c.installStep(steps)),
			})
		}
		return lines
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return []Line{{
		Comment: strings.Join(names, ", ") + " (one container, smol's runner from " + runnerDir(c.Host, filepath.Join) + ")",
		Argv:    c.groupCommand(steps),
	}}
}

// runnerBuilt reports whether the runner has left its built copy for this
// host's architecture.
func (c *Container) runnerBuilt() bool {
	return fileExists(filepath.Join(runnerDir(c.Host, filepath.Join), runnerBin()))
}

// installStep builds the runner and has it keep its copy, running no jobs.
func (c *Container) installStep(steps []plan.Step) plan.Step {
	g := c.group(steps)
	g.Name, g.Network, g.OutDir = "runner", false, ""
	g.Args = []string{"go", "run", "-trimpath", ".", "-install"}
	return g
}

// RunAll implements Executor.
func (c *Container) RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []Result {
	c.findGOROOT(ctx)
	if c.warmSteps(steps) && steps[0].OutDir == "" && c.hostRunner(ctx) {
		// The std steps, which run beside the dependency steps: in the
		// warm container the compile will use, started now if need be,
		// rather than in a container of their own.
		c.warmUp(ctx)
	}
	if c.warmUsable(steps) {
		if res, ok := c.runWarm(ctx, steps, stdout, stderr); ok {
			return res
		}
	}
	res := make([]Result, len(steps))
	if len(steps) == 1 {
		var errBuf bytes.Buffer
		err := c.Run(ctx, steps[0], stdout, io.MultiWriter(stderr, &errBuf))
		res[0] = Result{Err: err, Stderr: errBuf.String()}
		return res
	}
	fail := func(err error) []Result {
		for i := range res {
			res[i] = Result{Err: err}
		}
		return res
	}
	if !c.hostRunner(ctx) {
		return c.runSeparately(ctx, steps, stdout, stderr)
	}
	c.startWarmEarly(ctx, steps)
	if err := c.checkMounts(); err != nil {
		return fail(err)
	}
	if err := writeRunner(runnerDir(c.Host, filepath.Join)); err != nil {
		return fail(err)
	}
	res, _ = c.runRunner(ctx, c.groupCommand(steps), c.ContainerName(c.group(steps)), nil, steps, stdout, stderr, false)
	return res
}

// runRunner runs argv, a command that starts the runner with steps as its
// jobs, and sorts out how each ended. name, when not "", is the container to
// remove should ctx be cancelled. input, when not nil, writes what the
// runner reads first on its standard input (see its -build). With hold,
// output that is not a step's is kept in the demux rather than shown (see
// demux.showHeld).
func (c *Container) runRunner(ctx context.Context, argv []string, name string, input func(io.Writer) error, steps []plan.Step, stdout, stderr io.Writer, hold bool) ([]Result, *demux) {
	res := make([]Result, len(steps))
	d := newDemux(steps, stdout, stderr)
	d.hold = hold
	// An *os.File pipe, not an io.Pipe: exec hands a file to the CLI as it
	// is, while a reader would need a copying goroutine that Wait waits for.
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		for i := range res {
			res[i] = Result{Err: fmt.Errorf("runner: %w", err)}
		}
		return res, d
	}
	defer stdin.Close()
	defer stdinW.Close()
	sent := make(chan error, 1)
	if input != nil {
		go func() { sent <- input(stdinW) }()
	} else {
		sent <- nil
	}
	// A stop line written while input is still writing breaks its stream,
	// which stops the runner before any job as surely.
	stop := func() { io.WriteString(stdinW, "stop\n") }
	var cleanup func()
	if name != "" {
		cleanup = func() { c.remove(name) }
	}
	err = proc{argv: argv, env: os.Environ(), stdin: stdin, stdout: d.stdout(), stderr: d.stderr(), stop: stop, cleanup: cleanup}.run(ctx)
	// Closing the reading end ends a write that nobody reads any more.
	stdin.Close()
	if serr := <-sent; serr != nil && err == nil && !errors.Is(serr, syscall.EPIPE) {
		err = serr
	}
	d.flush()
	for i := range steps {
		res[i] = Result{Stderr: d.errs[i].String()}
		switch r, ok := d.results[steps[i].Name]; {
		case ctx.Err() != nil:
			res[i].Err = ctx.Err()
		case ok && r == "ok":
		case ok:
			res[i].Err = errors.New(r)
		default:
			// The runner never reported this step: the container did not
			// start or the runner did not build.
			res[i].Stderr += d.other.String()
			if err == nil {
				err = errors.New("the runner did not report it")
			}
			if daemonErr := explainDaemon(c.Kind, d.other.String()); daemonErr != nil {
				err = daemonErr
			}
			res[i].Err = err
		}
	}
	return res, d
}

// runSeparately runs each step in a container of its own, at most Jobs at a
// time, and then, when they were compile steps (with outputs: not the
// dependency or std steps) and all succeeded, builds the runner for next
// time. Building the runner first would put a compile of
// much of the standard library in front of every cold build; after a
// compile, the build cache holds all of that and the runner costs about one
// link. A runner that fails to build costs nothing but the attempt: the next
// build runs the steps separately again.
func (c *Container) runSeparately(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []Result {
	res := runEach(ctx, steps, stdout, stderr, c.Run)
	if steps[0].OutDir == "" || ctx.Err() != nil {
		return res
	}
	for _, r := range res {
		if r.Err != nil {
			return res
		}
	}
	if writeRunner(runnerDir(c.Host, filepath.Join)) == nil {
		c.Run(ctx, c.installStep(steps), io.Discard, io.Discard)
	}
	return res
}

// checkMounts refuses host paths that -v cannot express.
func (c *Container) checkMounts() error {
	for _, p := range []string{c.Host.Src, c.Host.Out, c.Host.GoCache, c.Host.ModCache, c.Host.Home} {
		if strings.ContainsAny(p, ":,") {
			return fmt.Errorf("%q contains ':' or ',', which %s -v cannot mount: move it", p, c.Kind)
		}
	}
	return nil
}

// writeRunner puts the runner's module in dir unless it is there already.
// The directory is named by the content, so an existing file is the right
// one; it is written atomically so that a concurrent smol never reads half.
func writeRunner(dir string) error {
	if b, err := os.ReadFile(filepath.Join(dir, "main.go")); err == nil && bytes.Equal(b, runnerSource) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "go.mod"), []byte(runnerGoMod), 0o644); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "main.go"), runnerSource, 0o644); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	return nil
}

// demux sorts the runner's output by step: lines "NAME: ..." are the
// step's and pass through as they are; "smol-runner: NAME: RESULT" lines
// are results and are kept; anything else (the engine's or the go command's
// own complaints) passes through and is kept for explaining a failure.
type demux struct {
	// hold keeps lines that are not a step's out of err (in other),
	// for a run that may be retried elsewhere.
	hold bool
	// stale is the directory a "smol-runner: stale mount DIR" line named.
	stale string
	// outputs are the "smol-runner: output NAME MODE SHA256" lines, less
	// that prefix.
	outputs []string
	names   []string
	out     io.Writer
	err     io.Writer
	errs    []bytes.Buffer
	other   bytes.Buffer
	results map[string]string
	o, e    *lineWriter
}

func newDemux(steps []plan.Step, stdout, stderr io.Writer) *demux {
	d := &demux{out: stdout, err: stderr, errs: make([]bytes.Buffer, len(steps)), results: map[string]string{}}
	for _, s := range steps {
		d.names = append(d.names, s.Name)
	}
	d.o = &lineWriter{w: writerFunc(d.outLine)}
	d.e = &lineWriter{w: writerFunc(d.errLine)}
	return d
}

func (d *demux) stdout() io.Writer { return d.o }
func (d *demux) stderr() io.Writer { return d.e }
func (d *demux) flush()            { d.o.flush(); d.e.flush() }

func (d *demux) outLine(line []byte) (int, error) {
	if rest, ok := bytes.CutPrefix(line, []byte("smol-runner: ")); ok {
		if dir, ok := bytes.CutPrefix(rest, []byte("stale mount ")); ok {
			d.stale = strings.TrimSpace(string(dir))
			return len(line), nil
		}
		if o, ok := bytes.CutPrefix(rest, []byte("output ")); ok {
			d.outputs = append(d.outputs, strings.TrimSpace(string(o)))
			return len(line), nil
		}
		if i, r := d.cutStep(rest); i >= 0 {
			d.results[d.names[i]] = strings.TrimSpace(string(r))
			return len(line), nil
		}
	}
	if i, _ := d.cutStep(line); i < 0 && d.hold {
		// The engine's own complaint (docker exec writes some of its
		// errors to standard output).
		d.other.Write(line)
		return len(line), nil
	}
	return d.out.Write(line)
}

func (d *demux) errLine(line []byte) (int, error) {
	if i, r := d.cutStep(line); i >= 0 {
		d.errs[i].Write(r)
	} else {
		d.other.Write(line)
		if d.hold {
			return len(line), nil
		}
	}
	return d.err.Write(line)
}

// cutStep returns the index of the step whose "NAME: " b starts with, and
// what follows it; -1 when b is no step's.
func (d *demux) cutStep(b []byte) (int, []byte) {
	for i, n := range d.names {
		if r, ok := bytes.CutPrefix(b, []byte(n+": ")); ok {
			return i, r
		}
	}
	return -1, nil
}

// showHeld writes what hold kept back.
func (d *demux) showHeld() {
	if d.hold {
		d.err.Write(d.other.Bytes())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// lineWriter passes on whole lines, each with prefix; flush passes on a last
// line that has no newline.
type lineWriter struct {
	prefix string
	w      io.Writer
	buf    []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append([]byte(l.prefix), l.buf[:i+1]...)
		l.buf = l.buf[i+1:]
		if _, err := l.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.w.Write(append(append([]byte(l.prefix), l.buf...), '\n'))
		l.buf = nil
	}
}

// syncWriter serialises the writes of concurrent steps.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
