//go:build unix

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// jobArg encodes j as smol does.
func jobArg(t *testing.T, j job) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Name string   `json:"name"`
		Dir  string   `json:"dir"`
		Env  []string `json:"env"`
		Args []string `json:"args"`
	}{j.Name, j.Dir, j.Env, j.Args})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func needSh(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	return sh
}

// TestRunAll runs real processes: each line is labelled with its job, each
// job ends with its own result line, and one failure fails the run.
func TestRunAll(t *testing.T) {
	sh := needSh(t)
	jobs := []job{
		{Name: "build a/b", Args: []string{sh, "-c", "echo out-a; echo err-a >&2; printf tail-a"}},
		{Name: "build c/d", Env: []string{"SMOL_X=from-job"}, Args: []string{sh, "-c", "echo \"$SMOL_X\" >&2; exit 3"}},
	}
	var out, errOut bytes.Buffer
	ok := runAll(context.Background(), jobs, 2, &syncWriter{w: &out}, &syncWriter{w: &errOut})
	if ok {
		t.Error("runAll reported success with a job that exits 3")
	}
	outLines := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(outLines)
	wantOut := []string{"build a/b: out-a", "build a/b: tail-a", "smol-runner: build a/b: ok", "smol-runner: build c/d: exit status 3"}
	if !slices.Equal(outLines, wantOut) {
		t.Errorf("stdout lines %q, want %q", outLines, wantOut)
	}
	errLines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	slices.Sort(errLines)
	wantErr := []string{"build a/b: err-a", "build c/d: from-job"}
	if !slices.Equal(errLines, wantErr) {
		t.Errorf("stderr lines %q, want %q", errLines, wantErr)
	}
}

// TestRunAllSharesCPUs: jobs at once each get their part of the CPUs as
// GOMAXPROCS, a job's own setting wins, and a job alone keeps the
// container's.
func TestRunAllSharesCPUs(t *testing.T) {
	sh := needSh(t)
	procs := runtime.GOMAXPROCS(0)
	show := []string{sh, "-c", "echo \"procs=$GOMAXPROCS\""}
	for _, tt := range []struct {
		name  string
		jobs  []job
		slots int
		want  []string
	}{
		{"two at once", []job{{Name: "a", Args: show}, {Name: "b", Args: show}}, 2,
			[]string{"a: procs=" + strconv.Itoa(max(1, procs/2)), "b: procs=" + strconv.Itoa(max(1, procs/2))}},
		{"own setting", []job{{Name: "a", Args: show, Env: []string{"GOMAXPROCS=7"}}, {Name: "b", Args: show}}, 2,
			[]string{"a: procs=7", "b: procs=" + strconv.Itoa(max(1, procs/2))}},
		{"one at a time", []job{{Name: "a", Args: show}, {Name: "b", Args: show}}, 1,
			[]string{"a: procs=" + os.Getenv("GOMAXPROCS"), "b: procs=" + os.Getenv("GOMAXPROCS")}},
		{"alone", []job{{Name: "a", Args: show}}, 4, []string{"a: procs=" + os.Getenv("GOMAXPROCS")}},
	} {
		var out bytes.Buffer
		if !runAll(context.Background(), tt.jobs, tt.slots, &syncWriter{w: &out}, &syncWriter{w: io.Discard}) {
			t.Fatalf("%s: a job failed", tt.name)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.HasPrefix(l, "smol-runner: ") {
				got = append(got, l)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestRunAllCancel cancels a run that has more jobs than slots: the running
// one is interrupted, the waiting ones are reported as never started, and
// runAll returns.
func TestRunAllCancel(t *testing.T) {
	sh := needSh(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := []job{
		{Name: "first", Args: []string{sh, "-c", "exec sleep 60"}},
		{Name: "second", Args: []string{sh, "-c", "exec sleep 60"}},
		{Name: "third", Args: []string{sh, "-c", "exec sleep 60"}},
	}
	var out bytes.Buffer
	done := make(chan bool, 1)
	go func() { done <- runAll(ctx, jobs, 1, &syncWriter{w: &out}, &syncWriter{w: io.Discard}) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case ok := <-done:
		if ok {
			t.Error("runAll reported success for a cancelled run")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("runAll did not return after the cancel")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(lines)
	want := []string{
		"smol-runner: first: interrupted",
		"smol-runner: second: interrupted before it started",
		"smol-runner: third: interrupted before it started",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("results %q, want %q", lines, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args []string
		want string // error text, "" for success
	}{
		{nil, "no jobs"},
		{[]string{`{"name":"x","args":["go","build"]}`}, ""},
		{[]string{`{"name":"x"}`}, "needs a name and args"},
		{[]string{`{"name":"x","args":["go"],"extra":1}`}, "unknown field"},
		{[]string{`go build`}, "want {"},
		{[]string{`{"name":"x","args":["go"]} tail`}, "extra text"},
		{[]string{`{"name":"x","args":["go"`}, "want , or ]"},
		{[]string{`{"name":"x,"args":["go"]}`}, "want , or }"},
		{[]string{`{"name" "x","args":["go"]}`}, "want :"},
		{[]string{`{"name":"x","env":null,"args":["go"]}`}, ""},
	}
	for _, tt := range tests {
		_, err := parse(tt.args)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

// TestParseRoundTrip: what encoding/json writes, the runner reads back.
func TestParseRoundTrip(t *testing.T) {
	want := job{
		Name: "build linux/amd64",
		Dir:  "/src",
		Env:  []string{"GOOS=linux", "EMPTY=", `Q="quoted"`},
		Args: []string{"go", "build", "-ldflags=-s -w -X main.v=a'b\\c", "<&>", "ünï \u2028", "tab\tnew\nline", "\x01"},
	}
	got, err := parse([]string{jobArg(t, want)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != want.Name || got[0].Dir != want.Dir || !slices.Equal(got[0].Env, want.Env) || !slices.Equal(got[0].Args, want.Args) {
		t.Errorf("parse(%s) = %+v, want %+v", jobArg(t, want), got, want)
	}
}

func TestOverlay(t *testing.T) {
	got := overlay([]string{"A=1", "B=2", "C=3"}, []string{"B=", "D=4"})
	want := []string{"A=1", "C=3", "B=", "D=4"}
	if !slices.Equal(got, want) {
		t.Errorf("overlay = %q, want %q", got, want)
	}
}

// buildRunner compiles this program, as smol's go run does in the builder.
func buildRunner(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "runner")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestStopLine: a "stop" line on stdin interrupts the running jobs at once;
// the end of stdin alone does not.
func TestStopLine(t *testing.T) {
	sh := needSh(t)
	bin := buildRunner(t)

	for _, tt := range []struct{ name, script string }{
		{"stop", "echo started; exec sleep 60"},
		// The go command, interrupted, waits for the compiles it
		// started; so does this shell for its sleep, unless the
		// interrupt reaches the sleep too.
		{"stop reaches what the job started", "trap 'echo interrupted' INT; sh -c 'echo started; exec sleep 60'"},
	} {
		t.Run(tt.name, func(t *testing.T) { stopLine(t, bin, sh, tt.script) })
	}

	t.Run("end of input", func(t *testing.T) {
		cmd := exec.Command(bin, jobArg(t, job{Name: "short", Args: []string{sh, "-c", "sleep 0.3; echo done"}}))
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("runner with closed stdin: %v\n%s", err, out)
		}
		if want := "short: done\nsmol-runner: short: ok\n"; string(out) != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})
}

// stopLine runs script as the runner's one job, writes "stop" once the job
// has printed "started", and checks that the runner stops at once.
func stopLine(t *testing.T, bin, sh, script string) {
	cmd := exec.Command(bin, jobArg(t, job{Name: "slow", Args: []string{sh, "-c", script}}))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); line != "slow: started\n" {
		t.Fatalf("first line %q (%v), want the job's", line, err)
	}
	start := time.Now()
	stdin.Write([]byte("stop\n"))
	rest, _ := io.ReadAll(r)
	err = cmd.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %v", took)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130", err)
	}
	if !strings.HasSuffix(string(rest), "smol-runner: slow: interrupted\n") {
		t.Errorf("after stop: %q, want the interrupted result", rest)
	}
}

func TestParseOptions(t *testing.T) {
	job := `{"name":"x","args":["go","build"]}`
	tests := []struct {
		args   []string
		warm   bool
		checks []check
		build  string
		err    string
	}{
		{args: []string{job}},
		{args: []string{"-warm", job}, warm: true},
		{args: []string{"-check", "/src=12:345", "-warm", job}, warm: true, checks: []check{{"/src", 12, 345}}},
		{args: []string{"-check", "/src=12", job}, err: "want DIR=DEV:INO"},
		{args: []string{"-check", "=1:2", job}, err: "want DIR=DEV:INO"},
		{args: []string{"-check"}, err: "-check wants"},
		{args: []string{"-warm", "-build", "/smol/builds/17-x/", job}, warm: true, build: "/smol/builds/17-x"},
		{args: []string{"-build", "builds/17-x", job}, err: "-build wants an absolute"},
		{args: []string{"-build"}, err: "-build wants"},
		{args: []string{"-fast", job}, err: "unknown option"},
		{args: []string{"-warm"}, err: "no jobs"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseOptions(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.warm != tt.warm || !slices.Equal(o.checks, tt.checks) || o.build != tt.build || len(o.jobs) != 1 {
				t.Errorf("got warm %v checks %v build %q jobs %d, want %v %v %q 1", o.warm, o.checks, o.build, len(o.jobs), tt.warm, tt.checks, tt.build)
			}
		})
	}
}

// TestPruneBuilds lays out the build directories of a warm copy-mode
// container and checks which ones a new build removes: only those whose
// outputs were surely fetched, or whose smol surely died.
func TestPruneBuilds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	root := t.TempDir()
	dir := func(sent time.Time, rest string, ended time.Duration) string {
		d := filepath.Join(root, strconv.FormatInt(sent.Unix(), 10)+"-"+rest)
		src := filepath.Join(d, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, "go.mod"), []byte("module x\n"), 0o444)
		os.Chmod(src, 0o555) // as the source arrives: read-only
		if ended >= 0 {
			e := filepath.Join(d, endedFile)
			os.WriteFile(e, nil, 0o644)
			os.Chtimes(e, now.Add(-ended), now.Add(-ended))
		}
		return d
	}
	const never = -1
	this := dir(now, "smol-1-1", never)
	tests := []struct {
		name string
		dir  string
		kept bool
	}{
		{"this build", this, true},
		{"ended two minutes ago", dir(now.Add(-3*time.Minute), "smol-2-1", 2*time.Minute), false},
		{"ended ten seconds ago: its outputs may be on their way", dir(now.Add(-time.Minute), "smol-3-1", 10*time.Second), true},
		{"running, sent an hour ago", dir(now.Add(-time.Hour), "smol-4-1", never), true},
		{"never ended, sent two days ago", dir(now.Add(-48*time.Hour), "smol-5-1", never), false},
		{"not a build directory", filepath.Join(root, "runner-cache"), true},
	}
	os.MkdirAll(filepath.Join(root, "runner-cache"), 0o755)
	pruneBuilds(this, now)
	for _, tt := range tests {
		_, err := os.Stat(tt.dir)
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s: kept %v, want %v", tt.name, kept, tt.kept)
		}
	}
}

// TestClaimSource: a build's source is moved to the one place builds
// compile in and back, and a second build waits until the first lets go,
// or until it is stopped.
func TestClaimSource(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "1-a"), filepath.Join(root, "2-b")
	for _, d := range []string{a, b} {
		os.MkdirAll(filepath.Join(d, "src"), 0o755)
		os.WriteFile(filepath.Join(d, "src", "go.mod"), []byte("module "+filepath.Base(d)+"\n"), 0o444)
		os.Chmod(filepath.Join(d, "src"), 0o555) // as receive leaves it
	}
	src := sourceDir(a)
	releaseA, err := claimSource(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(src, "go.mod")); string(got) != "module 1-a\n" {
		t.Fatalf("%s holds %q, want a's go.mod", src, got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := claimSource(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second claim while the first holds: %v, want it to wait until stopped", err)
	}

	claimed := make(chan error)
	var releaseB func()
	go func() {
		var err error
		releaseB, err = claimSource(context.Background(), b)
		claimed <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-claimed:
		t.Fatal("second claim did not wait for the first")
	default:
	}
	releaseA()
	if err := <-claimed; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a, "src", "go.mod")); err != nil {
		t.Errorf("a's source did not come back: %v", err)
	}
	for _, d := range []string{src, filepath.Join(a, "src")} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("%s: %v, %v: want it read-only still", d, fi.Mode(), err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(src, "go.mod")); string(got) != "module 2-b\n" {
		t.Errorf("%s holds %q, want b's go.mod", src, got)
	}
	releaseB()
}

// TestStaleMount checks a directory against the device and inode it had: a
// directory removed and made again at the same path is stale.
func TestStaleMount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	c := check{dir, uint64(st.Dev), uint64(st.Ino)}
	if got := staleMount([]check{c}); got != "" {
		t.Fatalf("staleMount of the same directory = %q, want none", got)
	}
	// Hold the old inode open by a second directory so the new one cannot
	// reuse its number.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := staleMount([]check{c}); got != dir {
		t.Errorf("staleMount after the directory was made again = %q, want %q", got, dir)
	}
	if got := staleMount([]check{{filepath.Join(dir, "gone"), 1, 2}}); got == "" {
		t.Error("staleMount of a missing directory found it fine")
	}
}

// TestIdle: the idle loop ends once every stamp is older than the limit,
// and a touch of its own stamp or another user's in the meantime keeps it
// going.
func TestIdle(t *testing.T) {
	for _, other := range []bool{false, true} {
		dir := t.TempDir()
		stamp := filepath.Join(dir, stampPrefix+"0")
		touched := stamp
		if other {
			touched = filepath.Join(dir, stampPrefix+"1000")
		}
		done := make(chan struct{})
		start := time.Now()
		go func() {
			idle(context.Background(), stamp, 300*time.Millisecond, 20*time.Millisecond)
			close(done)
		}()
		time.Sleep(200 * time.Millisecond)
		touch(touched)
		<-done
		if el := time.Since(start); el < 480*time.Millisecond {
			t.Errorf("touching %s: idle ended after %v, before the touch at 200ms plus the 300ms limit", filepath.Base(touched), el)
		}
	}
}

// TestReceive: the stream smol writes (transfer.Writer) arrives whole, with
// its modes, and what follows it on the input is left there; a stream that
// would write outside the build directory or through a link is refused.
func TestReceive(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "cmd", "app"), 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module m\n"), 0o644)
	os.WriteFile(filepath.Join(src, "cmd", "app", "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(filepath.Join(src, "gen.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("go.mod", filepath.Join(src, "link"))
	var stream bytes.Buffer
	tw := transfer.NewWriter(&stream, time.Unix(1, 0))
	if err := tw.Dir("out", os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	tw.Owner(os.Getuid(), os.Getgid(), true)
	if err := tw.Tree("src", src, []string{"cmd/app/main.go", "gen.sh", "go.mod", "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	stream.WriteString("stop\n")
	in := bufio.NewReader(&stream)
	dir := filepath.Join(t.TempDir(), "1-b")
	if err := receive(in, dir); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(in); string(rest) != "stop\n" {
		t.Errorf("left on the input: %q, want the stop line", rest)
	}
	for name, want := range map[string]os.FileMode{
		"src/go.mod": 0o444, "src/gen.sh": 0o555, "src/cmd": 0o555 | os.ModeDir,
		"src/cmd/app/main.go": 0o444, "out": 0o755 | os.ModeDir, "src/link": os.ModeSymlink | 0o777,
	} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "src/cmd/app/main.go")); string(b) != "package main\n" {
		t.Errorf("main.go holds %q", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, "src")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("src: %v, %v: want it read-only", fi.Mode(), err)
	}

	for _, tt := range []struct {
		name    string
		entries []tar.Header
	}{
		{"outside", []tar.Header{{Name: "../x", Typeflag: tar.TypeReg}}},
		{"absolute", []tar.Header{{Name: "/etc/x", Typeflag: tar.TypeReg}}},
		{"through a link", []tar.Header{{Name: "src/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "src/l", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}, {Name: "src/l/x", Typeflag: tar.TypeReg}}},
		{"no parent", []tar.Header{{Name: "src/x", Typeflag: tar.TypeReg}}},
		{"twice", []tar.Header{{Name: "out/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "out/", Typeflag: tar.TypeDir, Mode: 0o755}}},
		{"device", []tar.Header{{Name: "null", Typeflag: tar.TypeChar}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := tar.NewWriter(&b)
			for _, h := range tt.entries {
				if err := w.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			if err := receive(&b, filepath.Join(t.TempDir(), "b")); err == nil {
				t.Errorf("receive took %v", tt.entries)
			}
		})
	}
}

// TestListOutputs: one line per file under out, with its mode and digest.
func TestListOutputs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "linux_amd64"), 0o755)
	os.WriteFile(filepath.Join(dir, "linux_amd64", "app"), []byte("a"), 0o755)
	os.WriteFile(filepath.Join(dir, "notes"), []byte("b"), 0o644)
	var out bytes.Buffer
	listOutputs(&out, dir)
	want := "smol-runner: output linux_amd64/app 755 ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\n" +
		"smol-runner: output notes 644 3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	os.Symlink("notes", filepath.Join(dir, "link"))
	out.Reset()
	listOutputs(&out, dir)
	if out.Len() != 0 {
		t.Errorf("with a file it cannot list: %q, want nothing", out.String())
	}
}
