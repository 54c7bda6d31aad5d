//go:build unix

// Command runner runs several commands at once inside one builder container
// and keeps their output and exit status apart. smol embeds this file, writes
// it into its cache and has the builder's own toolchain build it with
// `go run . -install` (no shell needed in the image: smol's own smol/go
// image has none); the runner then keeps a copy of its executable in its
// working directory, named runner-GOOS-GOARCH, and smol starts that copy
// directly as the container's command from then on.
//
// Usage:
//
//	runner [-warm] [-check DIR=DEV:INO]... [-build DIR] JOB...
//	runner -install
//	runner -idle SECONDS
//
// Each JOB is one argument, a JSON object:
//
//	{"name": "build linux/amd64", "dir": "/src", "env": ["GOOS=linux", ...], "args": ["go", "build", ...]}
//
// env is laid over the runner's own environment (the container's), so a job
// states only what differs from it. At most one job per CPU runs at a time,
// in the order given, and jobs at once share the CPUs (GOMAXPROCS; see
// runAll). -install runs no job: it only keeps the copy (which a
// run with jobs also does, when started by go run).
//
// Every line a job writes goes to the runner's stdout or stderr, as the job
// wrote it, prefixed with "NAME: ". When a job ends the runner writes one line
// to stdout, "smol-runner: NAME: ok" or "smol-runner: NAME: " and the reason
// it failed, and the runner exits 0 only when every job succeeded.
//
// Warm containers: smol may keep one builder container running between
// builds and start the runner in it with docker exec instead of starting a
// container per build. The container's first process is then "runner -idle
// SECONDS", which does nothing but exit once no build has used the container
// for that long (it also exits on SIGINT or SIGTERM). A runner started with
// -warm marks the container as in use when it starts, every few seconds while
// it runs and when it ends; and, since the engine does not stop a docker exec
// process when its client goes away, it also stops its jobs at the end of its
// standard input. Each -check says that the directory DIR must be the host
// directory with that device and inode number: a warm container's mounts
// were made when it started, and a host directory removed and made again
// since then is another directory. When any check fails the runner runs no
// job, writes "smol-runner: stale mount DIR" to stdout and exits 3.
//
// Warm copy-mode containers: where the daemon cannot see the caller's files,
// each build has a directory of its own in the warm container, named
// UNIXTIME-ANYTHING (when smol sent the build), which -build names: the
// runner makes it and extracts into it the tar stream that smol writes first
// on the runner's standard input (the source, as src, and an empty out; see
// receive), and smol fetches the outputs from it after the runner ends. One
// exec carries the source in, where a docker cp before it would cost as
// much again as the exec. Before receiving, the runner removes the other
// directories beside it whose runner ended more than a minute ago (smol
// fetches the outputs straight after) or that were sent more than a day ago
// (a smol that died between sending and fetching). Then it waits until no
// other build of the container compiles, moves DIR/src to src beside DIR,
// where every build compiles (see claimSource), runs the jobs, lists the
// outputs with their digests when every job succeeded (see listOutputs),
// moves the source back, and marks its own directory as ended (a file
// .ended in it). The runner runs as the build's user, who owns those
// directories though their files are read-only, so it makes them writable
// before removing them.
//
// Stopping: on SIGINT or SIGTERM (the engine forwards Ctrl-C to the
// container's first process, which the runner is when started directly), and
// also when it reads a line "stop" on its standard input (the caller runs the
// container with -i and writes that line), since under go run the go
// command ignores SIGINT and does not pass it on. It interrupts every job and
// waits for them. End of input alone does not stop it, so the command runs
// unchanged with stdin closed or at a terminal.
//
// The file uses only the standard library and nothing newer than Go 1.21, so
// that it builds with any toolchain a module can pin. It avoids
// encoding/json, so that building it compiles as little as possible;
// archive/tar brings in fmt and reflect, which the build the runner is
// built after has nearly always compiled already.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// exitStale is the runner's exit status when a -check fails.
const exitStale = 3

// heartbeat is how often a -warm runner marks its container as in use.
const heartbeat = 5 * time.Second

// How long a -build directory stays beside a new one: after its runner
// ended (the outputs are fetched by then), or, when it never ended, after
// it was sent.
const (
	keepEnded = time.Minute
	keepSent  = 24 * time.Hour
)

// endedFile marks a -build directory whose runner has ended.
const endedFile = ".ended"

type job struct {
	Name string
	Dir  string
	Env  []string
	Args []string
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-install" {
		// Only keep a built copy (see install): smol asks for this once
		// a compile has filled the build cache, so building the runner
		// costs little more than its link.
		install()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) == 3 && os.Args[1] == "-idle" {
		secs, err := strconv.Atoi(os.Args[2])
		if err != nil || secs <= 0 {
			os.Stderr.WriteString("smol-runner: -idle wants a number of seconds, not " + strconv.Quote(os.Args[2]) + "\n")
			os.Exit(2)
		}
		idle(ctx, stampFile(), time.Duration(secs)*time.Second, time.Second)
		return
	}
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		os.Stderr.WriteString("smol-runner: " + err.Error() + "\n")
		os.Exit(2)
	}
	if dir := staleMount(o.checks); dir != "" {
		os.Stdout.WriteString("smol-runner: stale mount " + dir + "\n")
		os.Exit(exitStale)
	}
	in := bufio.NewReader(os.Stdin)
	if o.build != "" {
		pruneBuilds(o.build, time.Now())
		if err := receive(in, o.build); err != nil {
			os.Stderr.WriteString("smol-runner: receiving the source: " + err.Error() + "\n")
			os.Exit(2)
		}
	}
	if o.warm {
		stamp := stampFile()
		touch(stamp)
		defer touch(stamp)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(heartbeat):
					touch(stamp)
				}
			}
		}()
	}
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stop" {
				stop()
				return
			}
		}
		if o.warm {
			stop()
		}
	}()
	release := func() {}
	if o.build != "" {
		var err error
		if release, err = claimSource(ctx, o.build); err != nil {
			if ctx.Err() != nil {
				os.Exit(130)
			}
			os.Stderr.WriteString("smol-runner: " + err.Error() + "\n")
			os.Exit(2)
		}
	}
	ok := runAll(ctx, o.jobs, runtime.NumCPU(), &syncWriter{w: os.Stdout}, &syncWriter{w: os.Stderr})
	if o.build != "" {
		if ok {
			listOutputs(os.Stdout, filepath.Join(o.build, "out"))
		}
		release()
		touch(filepath.Join(o.build, endedFile))
	}
	if !o.warm {
		install()
	}
	if !ok {
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// options is what a run with jobs was asked to do.
type options struct {
	warm   bool
	checks []check
	build  string
	jobs   []job
}

// check is one -check: the directory and the host's device and inode of it.
type check struct {
	dir      string
	dev, ino uint64
}

// parseOptions reads -warm, -check and -build options, then the jobs.
func parseOptions(args []string) (options, error) {
	var o options
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-warm":
			o.warm = true
			args = args[1:]
		case "-check":
			if len(args) < 2 {
				return o, errors.New("-check wants DIR=DEV:INO")
			}
			c, err := parseCheck(args[1])
			if err != nil {
				return o, err
			}
			o.checks = append(o.checks, c)
			args = args[2:]
		case "-build":
			if len(args) < 2 || !filepath.IsAbs(args[1]) {
				return o, errors.New("-build wants an absolute directory")
			}
			o.build = filepath.Clean(args[1])
			args = args[2:]
		default:
			return o, errors.New("unknown option " + strconv.Quote(args[0]))
		}
	}
	jobs, err := parse(args)
	o.jobs = jobs
	return o, err
}

func parseCheck(s string) (check, error) {
	dir, id, ok1 := strings.Cut(s, "=")
	dev, ino, ok2 := strings.Cut(id, ":")
	c := check{dir: dir}
	var err1, err2 error
	c.dev, err1 = strconv.ParseUint(dev, 10, 64)
	c.ino, err2 = strconv.ParseUint(ino, 10, 64)
	if !ok1 || !ok2 || dir == "" || err1 != nil || err2 != nil {
		return c, errors.New("-check " + strconv.Quote(s) + ": want DIR=DEV:INO")
	}
	return c, nil
}

// staleMount returns the first checked directory that is not the host
// directory it should be, or "".
func staleMount(checks []check) string {
	for _, c := range checks {
		var st syscall.Stat_t
		if err := syscall.Stat(c.dir, &st); err != nil || uint64(st.Dev) != c.dev || uint64(st.Ino) != c.ino {
			return c.dir
		}
	}
	return ""
}

// pruneBuilds removes the build directories beside build that are done
// with (see keepEnded and keepSent) as of now. It is best effort: what it
// cannot remove now, a later build tries again.
func pruneBuilds(build string, now time.Time) {
	root := filepath.Dir(build)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if dir == build || !e.IsDir() {
			continue
		}
		sent, ok := sentAt(e.Name())
		if !ok {
			continue // not a build directory
		}
		fi, err := os.Stat(filepath.Join(dir, endedFile))
		if (err == nil && now.Sub(fi.ModTime()) > keepEnded) || now.Sub(sent) > keepSent {
			removeTree(dir)
		}
	}
}

// claimSource moves the source of build (build/src) to the one place every
// build of the container compiles in, sourceDir(build), once no other
// build holds it, and returns the function that moves it back and lets the
// next build have it. The place is fixed because the go command keys some
// of its build cache by the module's directory, -trimpath or not (the link
// of a command and the index of the module's packages): from a new
// directory every build would link again.
func claimSource(ctx context.Context, build string) (release func(), err error) {
	root := filepath.Dir(build)
	lock, err := os.OpenFile(filepath.Join(root, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			lock.Close()
			return nil, errors.New("lock " + lock.Name() + ": " + err.Error())
		}
		select {
		case <-ctx.Done():
			lock.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	src, own := sourceDir(build), filepath.Join(build, "src")
	removeTree(src) // left by a runner that died holding it
	if err := moveDir(own, src); err != nil {
		lock.Close() // and with it the lock
		return nil, err
	}
	return func() {
		moveDir(src, own)
		lock.Close()
	}, nil
}

// moveDir renames directory from to to, keeping its mode. Moving a directory
// to another parent rewrites its ".." entry, which needs write permission on
// the directory, and a build's source arrives read-only: it is made writable
// for the move and given its mode back after.
func moveDir(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	if err := os.Chmod(from, fi.Mode().Perm()|0o200); err != nil {
		return err
	}
	if err = os.Rename(from, to); err != nil {
		to = from
	}
	if cerr := os.Chmod(to, fi.Mode().Perm()); err == nil {
		err = cerr
	}
	return err
}

// sourceDir is where the builds beside build compile: src in their parent.
func sourceDir(build string) string { return filepath.Join(filepath.Dir(build), "src") }

// sentAt reads the time a build directory's name starts with.
func sentAt(name string) (time.Time, bool) {
	secs, _, ok := strings.Cut(name, "-")
	n, err := strconv.ParseInt(secs, 10, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// removeTree removes dir, first giving its owner write permission on every
// directory in it, which the read-only source lacks.
func removeTree(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// stampPrefix starts the names of the files whose modification times say
// when a build last used this container: one per user, since a user cannot
// set the time of another's file, and a warm copy-mode container's first
// process runs as root while its builds run as the caller. They are in the
// container's own file system, so the builds of every warm container keep
// separate times.
const stampPrefix = "smol-warm-used-"

// stampFile is this user's stamp file.
func stampFile() string {
	return filepath.Join(os.TempDir(), stampPrefix+strconv.Itoa(os.Getuid()))
}

func touch(name string) {
	now := time.Now()
	if os.Chtimes(name, now, now) != nil {
		if f, err := os.Create(name); err == nil {
			f.Close()
		}
	}
}

// idle waits until no stamp file beside stamp has been touched for d,
// checking every poll, or until ctx ends. It touches stamp first, so a
// container that no build ever uses still lives for d.
func idle(ctx context.Context, stamp string, d, poll time.Duration) {
	touch(stamp)
	pattern := filepath.Join(filepath.Dir(stamp), stampPrefix+"*")
	for {
		if time.Since(lastUse(pattern)) >= d {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
	}
}

// lastUse is the newest modification time of the files matching pattern.
func lastUse(pattern string) time.Time {
	var last time.Time
	names, _ := filepath.Glob(pattern)
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && fi.ModTime().After(last) {
			last = fi.ModTime()
		}
	}
	return last
}

func parse(args []string) ([]job, error) {
	if len(args) == 0 {
		return nil, errors.New("no jobs: usage: runner JOB... (each a JSON object with name, dir, env, args)")
	}
	var jobs []job
	for _, a := range args {
		j, err := parseJob(a)
		if err != nil {
			return nil, errors.New("job " + strconv.Quote(a) + ": " + err.Error())
		}
		if j.Name == "" || len(j.Args) == 0 {
			return nil, errors.New("job " + strconv.Quote(a) + ": needs a name and args")
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// parseJob reads one job: a JSON object whose values are strings or arrays
// of strings, as encoding/json writes it (no \/ escapes, no surrogate
// pairs), which is what smol passes.
func parseJob(s string) (job, error) {
	var j job
	p := &jsonScanner{s: s}
	if !p.eat('{') {
		return j, p.fail("want {")
	}
	for first := true; !p.eat('}'); first = false {
		if !first && !p.eat(',') {
			return j, p.fail("want , or }")
		}
		key, err := p.str()
		if err != nil {
			return j, err
		}
		if !p.eat(':') {
			return j, p.fail("want :")
		}
		switch key {
		case "name":
			j.Name, err = p.str()
		case "dir":
			j.Dir, err = p.str()
		case "env":
			j.Env, err = p.strs()
		case "args":
			j.Args, err = p.strs()
		default:
			return j, errors.New("unknown field " + strconv.Quote(key))
		}
		if err != nil {
			return j, err
		}
	}
	if p.skip(); p.i != len(p.s) {
		return j, p.fail("extra text")
	}
	return j, nil
}

type jsonScanner struct {
	s string
	i int
}

func (p *jsonScanner) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *jsonScanner) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonScanner) fail(what string) error {
	return errors.New(what + " at offset " + strconv.Itoa(p.i))
}

func (p *jsonScanner) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", p.fail("want a string")
	}
	for k := p.i + 1; k < len(p.s); k++ {
		switch p.s[k] {
		case '\\':
			k++
		case '"':
			v, err := strconv.Unquote(p.s[p.i : k+1])
			if err != nil {
				return "", p.fail("bad string")
			}
			p.i = k + 1
			return v, nil
		}
	}
	return "", p.fail("unterminated string")
}

func (p *jsonScanner) strs() ([]string, error) {
	if p.skip(); strings.HasPrefix(p.s[p.i:], "null") {
		p.i += len("null")
		return nil, nil
	}
	if !p.eat('[') {
		return nil, p.fail("want [")
	}
	var v []string
	for first := true; !p.eat(']'); first = false {
		if !first && !p.eat(',') {
			return nil, p.fail("want , or ]")
		}
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		v = append(v, s)
	}
	return v, nil
}

// runAll runs the jobs, at most n at a time, and reports whether all
// succeeded. Jobs that run at once share the CPUs: each gets its part as
// GOMAXPROCS (unless its env sets one), which bounds a go command's -p and
// its compiler's backend concurrency. Left alone, each go command would
// size its parallelism to every CPU, and k of them would oversubscribe the
// machine k times over, which costs CPU (each compile's own parallel
// backend and garbage collector, the switching) and so time. What a go
// command builds does not depend on it.
func runAll(ctx context.Context, jobs []job, n int, stdout, stderr io.Writer) bool {
	if n < 1 {
		n = 1
	}
	if at := min(n, len(jobs)); at > 1 {
		share := "GOMAXPROCS=" + strconv.Itoa(max(1, runtime.GOMAXPROCS(0)/at))
		for i := range jobs {
			jobs[i].Env = overlay([]string{share}, jobs[i].Env)
		}
	}
	slots := make(chan struct{}, n)
	ok := make([]bool, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			// Cancelled while waiting for a slot: the job is reported
			// as never started, and it holds no slot to give back.
			ok[i] = runJob(ctx, jobs[i], stdout, stderr)
			continue
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
	io.WriteString(stdout, "smol-runner: "+j.Name+": "+result+"\n")
	return result == "ok"
}

func run(ctx context.Context, j job, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, j.Args[0], j.Args[1:]...)
	cmd.Dir = j.Dir
	cmd.Env = overlay(os.Environ(), j.Env)
	// Interrupt the job's process group, as Ctrl-C in a terminal does,
	// rather than the go command alone: go build and go list exit at once
	// on an interrupt and leave the compiles and links they started
	// running, which in a warm container outlive the build and slow the
	// next one. A go command that handles the interrupt (go test, go run)
	// stops its children itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	out := &prefixWriter{w: stdout, prefix: j.Name + ": "}
	errOut := &prefixWriter{w: stderr, prefix: j.Name + ": "}
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	out.flush()
	errOut.flush()
	return err
}

// install copies this program into the working directory as
// runner-GOOS-GOARCH unless a copy is there already. It is best effort: a
// runner that cannot keep a copy is started with go run again next time.
func install() {
	name := "runner-" + runtime.GOOS + "-" + runtime.GOARCH
	if _, err := os.Stat(name); err == nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	in, err := os.Open(exe)
	if err != nil {
		return
	}
	defer in.Close()
	tmp, err := os.CreateTemp(".", name+".tmp-")
	if err != nil {
		return
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
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

// receive makes the build directory dir and extracts into it the tar stream
// that starts r, up to the stream's end-of-archive marker, so that what
// follows on r (a "stop" line) is left for the caller. Entries are made as
// the runner's user, with the stream's modes: a directory's only once
// everything in it is written, since the source arrives read-only. An entry
// may only be made in a directory the stream made, so nothing is written
// through a symbolic link or outside dir.
func receive(r io.Reader, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	type dirMode struct {
		path string
		mode os.FileMode
	}
	var modes []dirMode
	made := map[string]bool{".": true}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimSuffix(h.Name, "/"))
		if !made[path.Dir(name)] || made[name] || name == ".." || strings.HasPrefix(name, "../") {
			return errors.New("entry " + strconv.Quote(h.Name) + " is not a new name in a directory of the stream")
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		mode := os.FileMode(h.Mode) & os.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			made[name] = true
			modes = append(modes, dirMode{p, mode})
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		default:
			return errors.New("entry " + strconv.Quote(h.Name) + " is neither a file, a directory nor a symbolic link")
		}
	}
	for i := len(modes) - 1; i >= 0; i-- {
		if err := os.Chmod(modes[i].path, modes[i].mode); err != nil {
			return err
		}
	}
	return nil
}

// listOutputs writes a line "smol-runner: output NAME MODE SHA256" for each
// file under dir, NAME relative to it and MODE in octal, so that smol need
// not fetch an output whose bytes it has already. It writes all the lines or
// none: when it cannot read one file, smol fetches the outputs.
func listOutputs(w io.Writer, dir string) {
	var lines bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return errors.New(p + " is not a regular file")
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		lines.WriteString("smol-runner: output " + filepath.ToSlash(rel) + " " + strconv.FormatUint(uint64(fi.Mode().Perm()), 8) + " " + hex.EncodeToString(h.Sum(nil)) + "\n")
		return nil
	})
	if err == nil {
		w.Write(lines.Bytes())
	}
}
