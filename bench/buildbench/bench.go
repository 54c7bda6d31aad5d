package main

// The measurements, in the order they run: set-up (scratch clone, smol built
// from it, versions), cold builds (native and smol interleaved), then warm
// rounds that each hold a no-change rebuild, a one-line-change rebuild, the
// breakdown probes and, in the first rounds, the seed recipe.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/staticbin"
)

// config is what the flags chose.
type config struct {
	repo       string // the checkout to clone (never modified)
	pkg        string // the package smol builds
	edit       string // file of the scratch copy that the one-line change appends to
	smolBin    string // a smol binary to use instead of building one from the clone
	runs       int    // warm rounds: no-change and one-line-change rebuilds
	seedRuns   int    // seed recipe runs, in the first warm rounds
	coldRounds int    // cold rounds, each one native and one smol build
	keep       bool   // keep the scratch directory
	command    string // how this run was started, for the report
}

// results is everything one run measured. It is saved as JSON, and the
// report is made from it alone.
type results struct {
	Command  string
	Date     time.Time
	Machine  machine
	Versions versions
	Scratch  string // the scratch directory, and the clone in it, as run
	Src      string
	Revision string // commit measured (the clone's HEAD)
	Describe string // its git describe, the version smol stamps
	Package  string
	Platform string // GOOS/GOARCH built

	Image   string // image smol resolved and the seed ran in
	ImageID string

	EditFile string
	EditLine string // the appended line, with N standing for a nonce

	SmolCommand string   // a warm rebuild, as run
	SeedCommand string   // the seed recipe, as run
	ColdNative  []string // the native cold build's commands
	ColdSmol    string

	NoChange []time.Duration // smol, warm caches, no change
	Phases   []phases        // smol's own progress lines during NoChange
	Edit     []time.Duration // smol, warm caches, one line appended
	Seed     []time.Duration

	Cold      []coldRound
	SameBytes bool // native and smol cold builds gave identical binaries

	Probes probes
}

// machine describes where the run happened.
type machine struct {
	NProc     int
	CPU       string
	Kernel    string
	LoadStart string // /proc/loadavg's first three fields
	LoadEnd   string
}

type versions struct {
	Go, Docker, Smol string
}

// phases splits one smol rebuild at its progress lines.
type phases struct {
	Ready   time.Duration // start to "smol: image": plan, git, image lookups
	Step    time.Duration // to the step line: container run of go build, static check, hash
	Publish time.Duration // to "smol: wrote": rename, SHA256SUMS, manifest
	Exit    time.Duration // to process exit
	Said    time.Duration // the step time smol printed
}

// coldRound is one native and one smol build from empty caches.
type coldRound struct {
	NativeFirst bool
	Native      time.Duration // go mod download + go build
	NativeDeps  time.Duration
	Smol        time.Duration // smol build, whole process
	SmolDeps    time.Duration // as smol printed it
	SmolBuild   time.Duration
}

// probes time the parts of a warm rebuild one by one.
type probes struct {
	Inspect   []time.Duration // docker image inspect of the builder image
	Start     []time.Duration // docker run with smol's mounts and env, running go version
	Container []time.Duration // docker run of smol's exact build step, with -debug-trace
	GoBuild   []time.Duration // the go command inside it, from its trace
	Load      []time.Duration // its package loading, from the trace
	Link      []time.Duration // its link action, from the trace
	// The same go build with the host's go command and its own warm
	// caches, from its trace.
	NativeBuild, NativeLoad, NativeLink []time.Duration
	CheckHash                           []time.Duration // staticbin.Check + SHA-256 of the output, in process
	OutputSize                          int64
}

// bench runs every measurement.
func bench(ctx context.Context, cfg config, r *runner, say func(string, ...any)) (_ *results, err error) {
	scratch, err := os.MkdirTemp("", "buildbench-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	defer func() {
		if cfg.keep || err != nil {
			say("scratch directory kept: %s", scratch)
			return
		}
		if rmErr := removeTree(scratch); rmErr != nil {
			say("%v", rmErr)
		}
	}()
	res := &results{Command: cfg.command, Date: time.Now().UTC(), Package: cfg.pkg,
		Platform: runtime.GOOS + "/" + runtime.GOARCH, EditFile: cfg.edit}
	res.Machine = readMachine()
	res.Machine.LoadStart = loadAvg()

	// --- set-up ---
	src := filepath.Join(scratch, "src")
	res.Scratch, res.Src = scratch, src
	say("cloning %s into %s", cfg.repo, src)
	if _, err := r.output(ctx, "", "git", "clone", "--quiet", cfg.repo, src); err != nil {
		return nil, err
	}
	if res.Revision, err = r.output(ctx, src, "git", "rev-parse", "HEAD"); err != nil {
		return nil, err
	}
	if res.Describe, err = r.output(ctx, src, "git", "describe", "--tags", "--always", "--dirty"); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(src, cfg.edit)); err != nil {
		return nil, fmt.Errorf("-edit: %w", err)
	}
	mod, err := gomod.Read(src)
	if err != nil {
		return nil, err
	}
	smol := cfg.smolBin
	if smol == "" {
		smol = filepath.Join(scratch, "smol")
		say("building smol from the clone")
		if _, _, err := r.run(ctx, job{dir: src, env: append(os.Environ(), "CGO_ENABLED=0"),
			argv: []string{"go", "build", "-o", smol, "./cmd/smol"}}); err != nil {
			return nil, err
		}
	}
	if res.Versions.Smol, err = r.output(ctx, src, smol, "version"); err != nil {
		return nil, err
	}
	if res.Versions.Smol == "smol devel" {
		res.Versions.Smol += " at " + short(res.Revision)
	}
	if res.Versions.Go, err = r.output(ctx, src, "go", "version"); err != nil {
		return nil, err
	}
	if res.Versions.Docker, err = r.output(ctx, src, "docker", "version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}"); err != nil {
		return nil, err
	}
	outName := build.ExecName(mod.Path, cfg.pkg) + "_" + runtime.GOOS + "_" + runtime.GOARCH
	smolBuild := func(cache string) []string {
		return []string{smol, "build", "--cache-dir", cache, cfg.pkg}
	}

	// --- cold builds: native and smol, interleaved, order alternating ---
	var lastNative, lastSmol string
	for i := range cfg.coldRounds {
		round := coldRound{NativeFirst: i%2 == 0}
		nat := nativeGo{src: src, dir: filepath.Join(scratch, fmt.Sprintf("cold-native-%d", i+1)),
			pkg: cfg.pkg, version: res.Describe, exe: build.ExecName(mod.Path, cfg.pkg)}
		res.ColdNative = nat.commands()
		smolCache := filepath.Join(scratch, fmt.Sprintf("cold-smol-%d", i+1))
		var nativeSum, smolSum string
		runNative := func() error {
			var err error
			round.Native, round.NativeDeps, nativeSum, err = nat.cold(ctx, r)
			say("cold round %d/%d: native go %s (download %s)", i+1, cfg.coldRounds, secs(round.Native), secs(round.NativeDeps))
			return err
		}
		runSmol := func() error {
			argv := smolBuild(smolCache)
			res.ColdSmol = shellLine(argv)
			wall, lines, err := r.run(ctx, job{dir: src, argv: argv})
			if err != nil {
				return err
			}
			p, err := parseProgress(lines)
			if err != nil {
				return err
			}
			round.Smol = wall
			if s, ok := p.step("deps"); ok {
				round.SmolDeps = s.Took
			}
			if s, ok := p.step("build " + res.Platform); ok {
				round.SmolBuild = s.Took
			}
			res.Image, res.ImageID = p.Image, p.ImageID
			smolSum, _, err = manifest.HashFile(filepath.Join(src, "dist", outName))
			say("cold round %d/%d: smol %s (deps %s, build %s)", i+1, cfg.coldRounds, secs(round.Smol), secs(round.SmolDeps), secs(round.SmolBuild))
			return err
		}
		order := []func() error{runNative, runSmol}
		if !round.NativeFirst {
			order = []func() error{runSmol, runNative}
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, fmt.Errorf("cold round %d: %w", i+1, err)
			}
		}
		res.SameBytes = nativeSum == smolSum && (i == 0 || res.SameBytes)
		res.Cold = append(res.Cold, round)
		// Each round's caches go once the next round has made its own; the
		// last round's become the warm caches.
		for _, d := range []string{lastNative, lastSmol} {
			if d != "" {
				if err := removeTree(d); err != nil {
					return nil, err
				}
			}
		}
		lastNative, lastSmol = nat.dir, smolCache
	}

	// --- warm caches: the last cold round's, or new ones filled now ---
	warm := filepath.Join(scratch, "warm")
	warmNative := nativeGo{src: src, dir: filepath.Join(scratch, "warm-native"),
		pkg: cfg.pkg, version: res.Describe, exe: build.ExecName(mod.Path, cfg.pkg)}
	for from, to := range map[string]string{lastSmol: warm, lastNative: warmNative.dir} {
		if from != "" {
			if err := os.Rename(from, to); err != nil {
				return nil, fmt.Errorf("warm cache: %w", err)
			}
		}
	}
	say("warm-up builds")
	if _, _, _, err := warmNative.cold(ctx, r); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	_, lines, err := r.run(ctx, job{dir: src, argv: smolBuild(warm)})
	if err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	p, err := parseProgress(lines)
	if err != nil {
		return nil, err
	}
	res.Image, res.ImageID = p.Image, p.ImageID
	res.SmolCommand = shellLine(smolBuild(warm))

	// The probes run smol's own build step, read from --dry-run, so that
	// they measure exactly what smol runs.
	dry, err := r.output(ctx, src, append(smolBuild(warm)[:2], "--dry-run", "--cache-dir", warm, cfg.pkg)...)
	if err != nil {
		return nil, err
	}
	step, err := buildCommand(dry, "build "+res.Platform)
	if err != nil {
		return nil, err
	}
	probeOut := filepath.Join(scratch, "probe-out")
	if err := os.MkdirAll(probeOut, 0o755); err != nil {
		return nil, err
	}
	pr, err := newProber(step, res.Image, probeOut, os.Getpid())
	pr.native = warmNative
	if err != nil {
		return nil, err
	}

	editPath := filepath.Join(src, cfg.edit)
	orig, err := os.ReadFile(editPath)
	if err != nil {
		return nil, fmt.Errorf("-edit: %w", err)
	}
	res.EditLine = `var _ = "buildbench edit N"`
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)

	res.SeedCommand = shellLine(seedCommand(src, res.Image, cfg.pkg, "NAME").argv)

	for i := range cfg.runs {
		tag := fmt.Sprintf("round %d/%d", i+1, cfg.runs)

		// No-change rebuild.
		wall, lines, err := r.run(ctx, job{dir: src, argv: smolBuild(warm)})
		if err != nil {
			return nil, fmt.Errorf("%s: no-change rebuild: %w", tag, err)
		}
		p, err := parseProgress(lines)
		if err != nil {
			return nil, err
		}
		res.NoChange = append(res.NoChange, wall)
		res.Phases = append(res.Phases, splitPhases(p, wall, "build "+res.Platform))

		// One-line change, then the file restored byte for byte.
		edited := fmt.Appendf(append([]byte(nil), orig...), "\nvar _ = \"buildbench edit %s-%d\"\n", nonce, i)
		if err := os.WriteFile(editPath, edited, 0o644); err != nil {
			return nil, err
		}
		ewall, _, err := r.run(ctx, job{dir: src, argv: smolBuild(warm)})
		if rerr := os.WriteFile(editPath, orig, 0o644); rerr != nil {
			return nil, fmt.Errorf("restore %s: %w", cfg.edit, rerr)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: one-line change: %w", tag, err)
		}
		res.Edit = append(res.Edit, ewall)

		if err := pr.probe(ctx, r, &res.Probes, mod.Path, cfg.pkg, filepath.Join(src, "dist", outName)); err != nil {
			return nil, fmt.Errorf("%s: %w", tag, err)
		}

		line := fmt.Sprintf("%s: smol no-change %s, one-line change %s", tag, secs(wall), secs(ewall))
		if i < cfg.seedRuns {
			name := fmt.Sprintf("buildbench-%d-seed-%d", os.Getpid(), i+1)
			s := seedCommand(src, res.Image, cfg.pkg, name)
			s.cleanup = func() { removeContainer(name) }
			swall, _, err := r.run(ctx, s)
			if err != nil {
				return nil, fmt.Errorf("%s: seed recipe: %w", tag, err)
			}
			res.Seed = append(res.Seed, swall)
			line += ", seed " + secs(swall)
		}
		say("%s", line)
	}
	if cfg.runs < cfg.seedRuns {
		say("note: only %d seed runs (one per warm round)", cfg.runs)
	}
	if diff, err := r.output(ctx, src, "git", "status", "--porcelain", "--untracked-files=no"); err != nil || diff != "" {
		return nil, fmt.Errorf("scratch copy not restored after the one-line changes: %q %v", diff, err)
	}
	res.Machine.LoadEnd = loadAvg()
	return res, nil
}

// nativeGo builds the package with the host's go command, with the flags
// and environment smol's plan gives its steps, and its caches in dir.
type nativeGo struct {
	src, dir, pkg string
	version       string // stamped with -X main.version
	exe           string // the command's file name
}

func (n nativeGo) env() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(n.dir, "home"),
		"GOCACHE=" + filepath.Join(n.dir, "go-build"),
		"GOMODCACHE=" + filepath.Join(n.dir, "mod"),
		"GOPATH=" + filepath.Join(n.dir, "gopath"),
		"CGO_ENABLED=0", "GOENV=off", "GOWORK=off", "GOTOOLCHAIN=local",
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}

// download is smol's dependency step: go mod download, with the caller's
// module proxy settings.
func (n nativeGo) download() job {
	env := append(n.env(), "GOFLAGS=-mod=readonly")
	for _, k := range []string{"GOINSECURE", "GONOPROXY", "GONOSUMDB", "GOPRIVATE", "GOPROXY", "GOSUMDB"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return job{dir: n.src, env: env, argv: []string{"go", "mod", "download"}}
}

// compile is smol's build step, with no module downloads; extra flags
// (-debug-trace) go right after "go build".
func (n nativeGo) compile(extra ...string) job {
	argv := append([]string{"go", "build"}, extra...)
	argv = append(argv, "-mod=readonly", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid= -X main.version="+n.version,
		"-o", filepath.Join(n.dir, "out")+string(filepath.Separator), n.pkg)
	env := append(n.env(), "GOFLAGS=", "GOPROXY=off", "GOSUMDB=off")
	return job{dir: n.src, env: env, argv: argv}
}

// commands are the two commands as the report shows them.
func (n nativeGo) commands() []string {
	return []string{
		"GOFLAGS=-mod=readonly " + shellLine(n.download().argv),
		"GOFLAGS= GOPROXY=off GOSUMDB=off " + shellLine(n.compile().argv),
	}
}

// cold downloads and builds; with empty caches in n.dir that is a cold
// build. It returns the total time, the download's, and the output's
// SHA-256.
func (n nativeGo) cold(ctx context.Context, r *runner) (total, deps time.Duration, sum string, err error) {
	if deps, _, err = r.run(ctx, n.download()); err != nil {
		return 0, 0, "", err
	}
	b, _, err := r.run(ctx, n.compile())
	if err != nil {
		return 0, 0, "", err
	}
	sum, _, err = manifest.HashFile(filepath.Join(n.dir, "out", n.exe))
	return deps + b, deps, sum, err
}

// seedCommand is the seed repository's build recipe, as close as this
// image allows: --rm added so the benchmark leaves no containers; cgo's
// -linkmode external -extldflags -static dropped (it needs gcc, which a
// toolchain-only image lacks); the host's CA bundle mounted, as smol's
// dependency step does, because the seed's go build downloads modules and
// this network's TLS is signed by a CA that only the host trusts. The
// container's name lets a cancelled run remove it.
func seedCommand(src, image, pkg, name string) job {
	argv := []string{"docker", "run", "--rm", "--name", name}
	if _, err := os.Stat(caBundle); err == nil {
		argv = append(argv, "-v", caBundle+":"+caBundle+":ro")
	}
	argv = append(argv, "-v", src+":/source", "-w", "/source", image,
		"go", "build", "-a", "-o", "bin/server", pkg)
	return job{dir: src, argv: argv}
}

const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// prober runs the parts of smol's warm build step one at a time.
type prober struct {
	start, traced []string // docker run ... go version; docker run ... go build -debug-trace
	out           string   // host directory mounted at /out
	name          string   // container name
	native        nativeGo // the same build with the host's go and warm caches
}

// newProber derives the probe commands from smol's build step command:
// same mounts, environment and image, but its own container name and
// output directory, so that nothing it does touches smol's.
func newProber(step []string, image, out string, pid int) (*prober, error) {
	goAt := -1
	for i := 0; i+1 < len(step); i++ {
		if step[i] == "go" && step[i+1] == "build" {
			goAt = i
			break
		}
	}
	if goAt < 1 {
		return nil, fmt.Errorf("probe: no \"go build\" in smol's build step %q", shellLine(step))
	}
	name := fmt.Sprintf("buildbench-%d-probe", pid)
	base := slicesReplace(step[:goAt-1:goAt-1], "--name", name)
	mounted := false
	for i := range base {
		if i > 0 && base[i-1] == "-v" && strings.HasSuffix(base[i], ":/out") {
			base[i] = out + ":/out"
			mounted = true
		}
	}
	if !mounted {
		return nil, fmt.Errorf("probe: smol's build step mounts no /out: %q", shellLine(step))
	}
	base = append(base, image)
	traced := append(slicesClone(base), "go", "build", "-debug-trace=/out/trace.json")
	traced = append(traced, step[goAt+2:]...)
	return &prober{start: append(slicesClone(base), "go", "version"), traced: traced, out: out, name: name}, nil
}

// probe runs one of each probe and appends what it measured to ps.
func (p *prober) probe(ctx context.Context, r *runner, ps *probes, modPath, pkg, output string) error {
	cleanup := func() { removeContainer(p.name) }
	inspect := []string{"docker", "image", "inspect", "--format", "{{.Id}}", p.traced[imageIndex(p.traced)]}
	d, _, err := r.run(ctx, job{argv: inspect})
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.Inspect = append(ps.Inspect, d)
	if d, _, err = r.run(ctx, job{argv: p.start, cleanup: cleanup}); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.Start = append(ps.Start, d)
	trace := filepath.Join(p.out, "trace.json")
	os.Remove(trace)
	if d, _, err = r.run(ctx, job{argv: p.traced, cleanup: cleanup}); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.Container = append(ps.Container, d)
	data, err := os.ReadFile(trace)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	importPath := modPath + "/" + strings.TrimPrefix(pkg, "./")
	tr, err := parseTrace(data, importPath)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.GoBuild = append(ps.GoBuild, tr.Total)
	ps.Load = append(ps.Load, tr.Load)
	ps.Link = append(ps.Link, tr.Link)

	// The same build on the host: what the container costs the go command.
	ntrace := filepath.Join(p.native.dir, "trace.json")
	os.Remove(ntrace)
	if _, _, err := r.run(ctx, p.native.compile("-debug-trace="+ntrace)); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if data, err = os.ReadFile(ntrace); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if tr, err = parseTrace(data, importPath); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.NativeBuild = append(ps.NativeBuild, tr.Total)
	ps.NativeLoad = append(ps.NativeLoad, tr.Load)
	ps.NativeLink = append(ps.NativeLink, tr.Link)

	// What smol's collect step does to each output, timed in process.
	start := time.Now()
	if err := staticbin.Check(output); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if _, ps.OutputSize, err = manifest.HashFile(output); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ps.CheckHash = append(ps.CheckHash, time.Since(start))
	return nil
}

// imageIndex is the index of the image in a docker run command built by
// newProber: the word before "go".
func imageIndex(argv []string) int {
	for i := 1; i < len(argv); i++ {
		if argv[i] == "go" {
			return i - 1
		}
	}
	return len(argv) - 1
}

// splitPhases places smol's progress lines on the wall-clock of its run.
func splitPhases(p progress, wall time.Duration, stepName string) phases {
	s, _ := p.step(stepName)
	return phases{
		Ready:   p.Ready,
		Step:    s.At - p.Ready,
		Publish: p.Wrote - s.At,
		Exit:    wall - p.Wrote,
		Said:    s.Took,
	}
}

// removeContainer force-removes a container a cancelled job may have left.
// It has its own context: the run's is already cancelled.
func removeContainer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	(&runner{log: discard{}}).run(ctx, job{argv: []string{"docker", "rm", "--force", name}})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// slicesReplace returns a copy of argv with the word after flag replaced.
func slicesReplace(argv []string, flag, value string) []string {
	out := slicesClone(argv)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == flag {
			out[i+1] = value
		}
	}
	return out
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// readMachine reads the CPU count and model and the kernel release.
func readMachine() machine {
	m := machine{NProc: runtime.NumCPU(), CPU: "unknown", Kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func short(rev string) string { return rev[:min(len(rev), 12)] }
