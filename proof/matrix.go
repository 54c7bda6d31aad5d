package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
	"github.com/gohttp-smol/gohttp-smol/internal/verify"
)

// otherUID builds the clone at the second path, and is the uid smol verify
// rebuilds as when it runs as root.
const otherUID = 12345

// Env is what every subject's proof shares.
type Env struct {
	Base      string // scratch tree, readable by otherUID
	Repo      string // this repository
	Smol      string // the smol binary, executable by otherUID
	Pin       string // pinned Go version, e.g. "1.26.8"
	Platforms string // GOOS/GOARCH list
	Getenv    func(string) string
	Log       io.Writer // one line per step
}

// The builds of the matrix, in report order.
const (
	BuildCold      = "cold"
	BuildWarm      = "warm"
	BuildUID       = "uid"
	BuildContainer = "verify container"
	BuildNative    = "verify native"
)

// Build is one way a subject was built.
type Build struct {
	Name    string
	How     string            // path, user, cache and toolchain, for the report
	Seconds float64           // wall time of the smol command (verify: of the variation)
	Sums    map[string]string // output name -> sha256
	Skipped string            // why the build did not run, when it did not
	Files   map[string]string // output name -> path of this build's copy, for diffs
}

// Result is the proof for one subject.
type Result struct {
	Subject  Subject
	Checkout Checkout
	Outputs  []string // output names, sorted
	Builds   []Build
	// VerifySeconds is the wall time of the whole smol verify --native run.
	VerifySeconds float64
	Smoke         string   // what the linux/amd64 binary printed for --version, when it ran
	Diffs         []string // why outputs differ, one line each
}

// Identical reports whether output name has one sha256 in every build,
// and every build ran.
func (r Result) Identical(name string) bool {
	want := ""
	for _, b := range r.Builds {
		got := b.Sums[name]
		if b.Skipped != "" || got == "" {
			return false
		}
		if want == "" {
			want = got
		}
		if got != want {
			return false
		}
	}
	return want != ""
}

// AllIdentical reports whether every output is Identical.
func (r Result) AllIdentical() bool {
	if len(r.Outputs) == 0 {
		return false
	}
	for _, o := range r.Outputs {
		if !r.Identical(o) {
			return false
		}
	}
	return true
}

// Build returns the build named n.
func (r Result) Build(n string) (Build, bool) {
	i := slices.IndexFunc(r.Builds, func(b Build) bool { return b.Name == n })
	if i < 0 {
		return Build{}, false
	}
	return r.Builds[i], true
}

// Prove builds s five ways and compares.
func Prove(ctx context.Context, e Env, s Subject) (Result, error) {
	res := Result{Subject: s}
	root := filepath.Join(e.Base, s.Name)
	a := filepath.Join(root, "a", s.Name)
	b := filepath.Join(root, "b", "another", "path", "src")
	cacheA := filepath.Join(root, "cache-a")
	cacheB := filepath.Join(root, "cache-b")
	keep := filepath.Join(root, "kept")

	step := time.Now()
	co, err := checkout(ctx, e, s, a)
	if err != nil {
		return res, err
	}
	co.Revision = headRevision(ctx, a)
	res.Checkout = co
	if err := gitClone(ctx, a, b); err != nil {
		return res, err
	}
	fmt.Fprintf(e.Log, "proof: %-12s %-17s %6.1fs  %s\n", s.Name, "checkout", time.Since(step).Seconds(), strings.Join(co.Notes, "; "))

	buildArgs := func(cache string) []string {
		args := []string{"build", "--cache-dir", cache, "--platform", e.Platforms}
		if s.VersionVar != "" {
			args = append(args, "--version-var", s.VersionVar)
		}
		if s.SetVersion != "" {
			args = append(args, "--set-version", s.SetVersion)
		}
		if s.Cgo {
			args = append(args, "--cgo")
		}
		return append(args, s.Packages...)
	}
	me := os.Getuid()
	image := "smol image"
	if s.Cgo {
		image = "smol image --cgo"
	}
	how := func(path string, uid int, cache, tool string) string {
		return fmt.Sprintf("%s, uid %d, %s, %s", path, uid, cache, tool)
	}

	// cold, then warm, in checkout A as the invoking user.
	cold := Build{Name: BuildCold, How: how("path A", me, "empty cache", image)}
	if cold.Seconds, err = e.smol(ctx, a, nil, s.Name+"-cold", buildArgs(cacheA)...); err != nil {
		return res, err
	}
	if cold.Sums, err = readSums(filepath.Join(a, "dist")); err != nil {
		return res, err
	}
	if cold.Files, err = keepOutputs(filepath.Join(a, "dist"), filepath.Join(keep, "cold"), cold.Sums); err != nil {
		return res, err
	}
	res.Outputs = sortedKeys(cold.Sums)
	e.logBuild(s.Name, cold)
	res.Smoke = smoke(ctx, filepath.Join(a, "dist"), s)

	warm := Build{Name: BuildWarm, How: how("path A", me, "warm cache", image)}
	if warm.Seconds, err = e.smol(ctx, a, nil, s.Name+"-warm", buildArgs(cacheA)...); err != nil {
		return res, err
	}
	if warm.Sums, err = readSums(filepath.Join(a, "dist")); err != nil {
		return res, err
	}
	warm.Files = outputFiles(filepath.Join(a, "dist"), warm.Sums)
	e.logBuild(s.Name, warm)

	// uid: the clone at path B, as another user with its own empty cache.
	uid := Build{Name: BuildUID, How: how("path B", otherUID, "empty cache", image)}
	cred, why := e.otherUser()
	if cred == nil {
		uid.How = how("path B", me, "empty cache", image)
		uid.Skipped = why
	}
	home := filepath.Join(root, "home-b")
	for _, d := range []string{cacheB, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
	}
	if cred != nil {
		if err := tree.Chown(filepath.Join(root, "b"), otherUID, otherUID); err != nil {
			return res, err
		}
		for _, d := range []string{cacheB, home} {
			if err := os.Chown(d, otherUID, otherUID); err != nil {
				return res, err
			}
		}
	}
	// Without a second user the clone is still built (another path, a cold
	// cache), but the column stays marked as not covering the uid.
	if uid.Seconds, err = e.smolAs(ctx, b, cred, home, s.Name+"-uid", buildArgs(cacheB)...); err != nil {
		return res, err
	}
	if uid.Sums, err = readSums(filepath.Join(b, "dist")); err != nil {
		return res, err
	}
	uid.Files = outputFiles(filepath.Join(b, "dist"), uid.Sums)
	e.logBuild(s.Name, uid)

	// verify --native: smol's own rebuild from git archive, twice.
	start := time.Now()
	verifyArgs := []string{"verify", "--native", "--json"}
	if s.Cgo {
		verifyArgs = []string{"verify", "--json"}
	}
	out, _, verr := e.smolOut(ctx, a, nil, "", s.Name+"-verify", verifyArgs...)
	res.VerifySeconds = time.Since(start).Seconds()
	var rep verify.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		if verr != nil {
			return res, verr
		}
		return res, fmt.Errorf("smol verify --json: %w", err)
	}
	res.Builds = append(res.Builds, cold, warm, uid)
	verifyUID := me
	if me == 0 {
		verifyUID = otherUID
	}
	for _, v := range []struct{ variation, name, how string }{
		{"container", BuildContainer, how("git archive at path C", verifyUID, "empty caches", image)},
		// smol's native executor runs the go command as smol's own user:
		// it does not switch to verify's second uid (see the report notes).
		{"native", BuildNative, how("git archive at path D", me, "empty caches", "host go"+e.Pin)},
	} {
		if s.Cgo && v.variation == "native" {
			// Not a gap in the proof: a --cgo build has no native form
			// (smol refuses it), so it is not one of this subject's builds.
			fmt.Fprintf(e.Log, "proof: %-12s %-17s not applicable: --cgo builds only in the cgo builder image\n", s.Name, v.name)
			continue
		}
		bd := variationBuild(rep, v.variation, v.name, v.how)
		e.logBuild(s.Name, bd)
		res.Builds = append(res.Builds, bd)
	}
	fmt.Fprintf(e.Log, "proof: %-12s %-17s %6.1fs  smol verify --native, whole run\n", s.Name, "verify", res.VerifySeconds)
	res.Diffs = explainAll(res)
	return res, nil
}

// variationBuild turns one variation of a verify report into a Build.
func variationBuild(rep verify.Report, variation, name, how string) Build {
	b := Build{Name: name, How: how, Sums: map[string]string{}, Files: map[string]string{}}
	i := slices.IndexFunc(rep.Variations, func(v verify.Variation) bool { return v.Name == variation })
	if i < 0 {
		b.Skipped = "smol verify did not run it"
		return b
	}
	v := rep.Variations[i]
	b.Seconds = v.Seconds
	switch v.Status {
	case verify.Skip:
		b.Skipped = v.Reason
	case verify.Fail:
		if v.Reason != "" {
			b.Skipped = "failed: " + v.Reason
		}
	}
	for _, r := range rep.Outputs {
		if r.Variation == variation && r.Got != "" {
			b.Sums[r.Name] = r.Got
			if r.Rebuilt != "" {
				b.Files[r.Name] = r.Rebuilt
			}
		}
	}
	return b
}

func (e Env) logBuild(subject string, b Build) {
	status := fmt.Sprintf("%d output(s)", len(b.Sums))
	if b.Skipped != "" {
		status += "; not covered: " + b.Skipped
	}
	fmt.Fprintf(e.Log, "proof: %-12s %-17s %6.1fs  %s\n", subject, b.Name, b.Seconds, status)
}

// otherUser returns the credential the uid build runs with, or nil and the
// reason it cannot. The second user reaches the Docker daemon through the
// socket's group, as a member of the docker group would.
func (e Env) otherUser() (*syscall.Credential, string) {
	if os.Getuid() != 0 {
		return nil, "not root, so no second uid: built as the invoking user"
	}
	var groups []uint32
	sock := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(e.Getenv("DOCKER_HOST"), "unix://"); ok {
		sock = h
	}
	if fi, err := os.Stat(sock); err == nil {
		groups = append(groups, fi.Sys().(*syscall.Stat_t).Gid)
	}
	return &syscall.Credential{Uid: otherUID, Gid: otherUID, Groups: groups}, ""
}

// smolEnv is the environment smol runs with: the caller's PATH (which must
// find docker and the pinned go), a HOME of its own, and the settings that
// say where the daemon and the module proxy are. Nothing else leaks in;
// in particular not SOURCE_DATE_EPOCH, so outputs get the commit's time.
func smolEnv(getenv func(string) string, home string) []string {
	env := []string{"PATH=" + getenv("PATH"), "HOME=" + home}
	return append(env, passThrough(getenv,
		"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
		"SMOL_ENGINE", "SMOL_IMAGE", "TMPDIR",
		"GOPROXY", "GOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE",
		"SSL_CERT_FILE", "SSL_CERT_DIR")...)
}

func (e Env) smol(ctx context.Context, dir string, cred *syscall.Credential, logName string, args ...string) (float64, error) {
	return e.smolAs(ctx, dir, cred, "", logName, args...)
}

func (e Env) smolAs(ctx context.Context, dir string, cred *syscall.Credential, home, logName string, args ...string) (float64, error) {
	_, secs, err := e.smolOut(ctx, dir, cred, home, logName, args...)
	return secs, err
}

// smolOut runs smol in dir and returns its stdout and wall time. Its
// stderr goes to a log file in the scratch tree; on failure the error
// carries the end of it.
func (e Env) smolOut(ctx context.Context, dir string, cred *syscall.Credential, home, logName string, args ...string) ([]byte, float64, error) {
	if home == "" {
		home = filepath.Join(e.Base, "home")
		if err := os.MkdirAll(home, 0o755); err != nil {
			return nil, 0, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	logs := filepath.Join(e.Base, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, 0, err
	}
	logFile := filepath.Join(logs, logName+".log")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e.Smol, args...)
	cmd.Dir = dir
	cmd.Env = smolEnv(e.Getenv, home)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// smol stops its containers on SIGINT; give it the chance.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	os.WriteFile(logFile, stderr.Bytes(), 0o644)
	if err != nil {
		if ctx.Err() != nil {
			return stdout.Bytes(), secs, ctx.Err()
		}
		return stdout.Bytes(), secs, fmt.Errorf("smol %s in %s: %w (log %s):\n%s", strings.Join(args, " "), dir, err, logFile, tail(stderr.String(), 3000))
	}
	return stdout.Bytes(), secs, nil
}

// installSmol copies the smol binary to prove (or builds it from repo) into
// the scratch tree, where the second user can run it.
func installSmol(ctx context.Context, repo, bin, base string) (string, error) {
	dst := filepath.Join(base, "bin", "smol")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if bin == "" {
		env := append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
		if _, err := runCmd(ctx, repo, env, "go", "build", "-trimpath", "-o", dst, "./cmd/smol"); err != nil {
			return "", fmt.Errorf("build smol: %w", err)
		}
		return dst, nil
	}
	if err := tree.CopyFile(bin, dst); err != nil {
		return "", fmt.Errorf("-smol: %w", err)
	}
	return dst, nil
}

// readSums parses dir/SHA256SUMS.
func readSums(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifest.SumsFile))
	if err != nil {
		return nil, err
	}
	return manifest.ParseSums(data)
}

// keepOutputs copies the outputs out of dist/ before a later build
// replaces them, so a difference can be explained.
func keepOutputs(dist, dst string, sums map[string]string) (map[string]string, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	for name := range sums {
		p := filepath.Join(dst, name)
		if err := tree.CopyFile(filepath.Join(dist, name), p); err != nil {
			return nil, err
		}
		files[name] = p
	}
	return files, nil
}

func outputFiles(dist string, sums map[string]string) map[string]string {
	files := map[string]string{}
	for name := range sums {
		files[name] = filepath.Join(dist, name)
	}
	return files
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// smoke runs the host-platform binary of the subject's first command with
// --version and returns the first line it printed, so the report shows the
// outputs run and carry their stamp. "" when none runs here.
func smoke(ctx context.Context, dist string, s Subject) string {
	m, err := manifest.Read(filepath.Join(dist, manifest.ManifestFile))
	if err != nil {
		return ""
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	for _, o := range m.Outputs {
		if o.Platform != host {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var out []byte
		var err error
		if s.Cgo {
			out, err = runAlone(ctx, filepath.Join(dist, o.Name))
		} else {
			out, err = exec.CommandContext(ctx, filepath.Join(dist, o.Name), "--version").CombinedOutput()
		}
		cancel()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				continue
			}
			line += " (exit " + strconv.Itoa(ee.ExitCode()) + ")"
		}
		if s.Cgo {
			return o.Name + ", alone in an empty container: " + line
		}
		return o.Name + " --version: " + line
	}
	return ""
}

// runAlone runs the binary bin, with no arguments, in a docker container
// whose file system holds that one file and nothing else: no C library, no
// /etc. The image is made with docker import from a one-file tar, which
// needs no registry, and removed afterwards.
func runAlone(ctx context.Context, bin string) ([]byte, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	tw.Write(data)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	ref := "smol-proof-alone:" + strconv.Itoa(os.Getpid())
	imp := exec.CommandContext(ctx, "docker", "import", "-", ref)
	imp.Stdin = &b
	if out, err := imp.CombinedOutput(); err != nil {
		return out, fmt.Errorf("docker import: %w", err)
	}
	defer exec.Command("docker", "rmi", "-f", ref).Run()
	return exec.CommandContext(ctx, "docker", "run", "--rm", ref, "/app").CombinedOutput()
}
