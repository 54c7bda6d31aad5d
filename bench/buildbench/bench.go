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
	// RoundLoad is the 1-minute load average as each warm round started:
	// how busy the shared machine was around those figures.
	RoundLoad []string

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

// session is one benchmark run: what it needs to run builds and what it
// found so far.
type session struct {
	cfg     config
	r       *runner
	say     func(string, ...any)
	res     *results
	scratch string       // temporary directory holding all of the below
	src     string       // the scratch clone
	smol    string       // smol binary
	mod     gomod.Module // the clone's module
}

// bench runs every measurement, in a scratch directory it removes (unless
// -keep, or on failure, when it says where it is).
func bench(ctx context.Context, cfg config, r *runner, say func(string, ...any)) (_ *results, err error) {
	scratch, err := os.MkdirTemp("", "buildbench-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	defer func() {
		// A failure's scratch directory is kept for inspection; an
		// interrupted run's is not (it holds two module caches).
		if cfg.keep || err != nil && ctx.Err() == nil {
			say("scratch directory kept: %s", scratch)
			return
		}
		if rmErr := removeTree(scratch); rmErr != nil {
			say("%v", rmErr)
		}
	}()
	s := &session{cfg: cfg, r: r, say: say, scratch: scratch, src: filepath.Join(scratch, "src")}
	s.res = &results{Command: cfg.command, Date: time.Now().UTC(), Package: cfg.pkg,
		Platform: runtime.GOOS + "/" + runtime.GOARCH, EditFile: cfg.edit,
		Scratch: scratch, Src: s.src, Machine: readMachine()}
	s.res.Machine.LoadStart = loadAvg()
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	lastNative, lastSmol, err := s.cold(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.warm(ctx, lastNative, lastSmol); err != nil {
		return nil, err
	}
	s.res.Machine.LoadEnd = loadAvg()
	return s.res, nil
}

// setup clones the repository, builds smol and records versions.
func (s *session) setup(ctx context.Context) error {
	res, r := s.res, s.r
	s.say("cloning %s into %s", s.cfg.repo, s.src)
	if _, err := r.output(ctx, "", "git", "clone", "--quiet", s.cfg.repo, s.src); err != nil {
		return err
	}
	var err error
	if res.Revision, err = r.output(ctx, s.src, "git", "rev-parse", "HEAD"); err != nil {
		return err
	}
	if res.Describe, err = r.output(ctx, s.src, "git", "describe", "--tags", "--always", "--dirty"); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.src, s.cfg.edit)); err != nil {
		return fmt.Errorf("-edit: %w", err)
	}
	if s.mod, err = gomod.Read(s.src); err != nil {
		return err
	}
	s.smol = s.cfg.smolBin
	if s.smol == "" {
		s.smol = filepath.Join(s.scratch, "smol")
		s.say("building smol from the clone")
		if _, _, err := r.run(ctx, job{dir: s.src, env: append(os.Environ(), "CGO_ENABLED=0"),
			argv: []string{"go", "build", "-o", s.smol, "./cmd/smol"}}); err != nil {
			return err
		}
	}
	if res.Versions.Smol, err = r.output(ctx, s.src, s.smol, "version"); err != nil {
		return err
	}
	if res.Versions.Smol == "smol devel" {
		res.Versions.Smol += " at " + short(res.Revision)
	}
	if res.Versions.Go, err = r.output(ctx, s.src, "go", "version"); err != nil {
		return err
	}
	res.Versions.Docker, err = r.output(ctx, s.src, "docker", "version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}")
	return err
}

// smolBuild is the smol command line of every build, with caches in cache.
func (s *session) smolBuild(cache string) []string {
	return []string{s.smol, "build", "--cache-dir", cache, s.cfg.pkg}
}

// output is where smol puts the binary it builds for this host.
func (s *session) output() string {
	return filepath.Join(s.src, "dist", build.ExecName(s.mod.Path, s.cfg.pkg)+"_"+runtime.GOOS+"_"+runtime.GOARCH)
}

func (s *session) native(dir string) nativeGo {
	return nativeGo{src: s.src, dir: dir, pkg: s.cfg.pkg, version: s.res.Describe, exe: build.ExecName(s.mod.Path, s.cfg.pkg)}
}

// cold runs the cold rounds: a native and a smol build from empty caches
// each, the order alternating so that neither always goes first. It
// returns the last round's cache directories, which the warm rounds reuse.
func (s *session) cold(ctx context.Context) (lastNative, lastSmol string, err error) {
	res := s.res
	for i := range s.cfg.coldRounds {
		tag := fmt.Sprintf("cold round %d/%d", i+1, s.cfg.coldRounds)
		round := coldRound{NativeFirst: i%2 == 0}
		nat := s.native(filepath.Join(s.scratch, fmt.Sprintf("cold-native-%d", i+1)))
		smolCache := filepath.Join(s.scratch, fmt.Sprintf("cold-smol-%d", i+1))
		res.ColdNative = nat.commands()
		res.ColdSmol = shellLine(s.smolBuild(smolCache))
		var nativeSum, smolSum string
		runNative := func() (err error) {
			if round.Native, round.NativeDeps, nativeSum, err = nat.cold(ctx, s.r); err != nil {
				return err
			}
			s.say("%s: native go %s (download %s)", tag, secs(round.Native), secs(round.NativeDeps))
			return nil
		}
		runSmol := func() error {
			wall, lines, err := s.r.run(ctx, job{dir: s.src, argv: s.smolBuild(smolCache)})
			if err != nil {
				return err
			}
			p, err := parseProgress(lines)
			if err != nil {
				return err
			}
			round.Smol = wall
			if st, ok := p.step("deps"); ok {
				round.SmolDeps = st.Took
			}
			if st, ok := p.step("build " + res.Platform); ok {
				round.SmolBuild = st.Took
			}
			s.say("%s: smol %s (deps %s, build %s)", tag, secs(round.Smol), secs(round.SmolDeps), secs(round.SmolBuild))
			smolSum, _, err = manifest.HashFile(s.output())
			return err
		}
		order := []func() error{runNative, runSmol}
		if !round.NativeFirst {
			order = []func() error{runSmol, runNative}
		}
		for _, f := range order {
			if err := f(); err != nil {
				return "", "", fmt.Errorf("%s: %w", tag, err)
			}
		}
		res.SameBytes = nativeSum == smolSum && (i == 0 || res.SameBytes)
		res.Cold = append(res.Cold, round)
		// A round's caches go when the next round has made its own; the
		// last round's become the warm caches.
		for _, d := range []string{lastNative, lastSmol} {
			if d != "" {
				if err := removeTree(d); err != nil {
					return "", "", err
				}
			}
		}
		lastNative, lastSmol = nat.dir, smolCache
	}
	return lastNative, lastSmol, nil
}

// warm runs the warm rounds with the caches the cold rounds left (or new
// ones, filled by the warm-up builds): each round a no-change rebuild, a
// one-line-change rebuild, the breakdown probes and, in the first
// -seed-runs rounds, the seed recipe.
func (s *session) warm(ctx context.Context, lastNative, lastSmol string) error {
	res, r := s.res, s.r
	cache := filepath.Join(s.scratch, "warm")
	nat := s.native(filepath.Join(s.scratch, "warm-native"))
	for _, mv := range [][2]string{{lastSmol, cache}, {lastNative, nat.dir}} {
		if mv[0] != "" {
			if err := os.Rename(mv[0], mv[1]); err != nil {
				return fmt.Errorf("warm cache: %w", err)
			}
		}
	}
	s.say("warm-up builds")
	if _, _, _, err := nat.cold(ctx, r); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	_, lines, err := r.run(ctx, job{dir: s.src, argv: s.smolBuild(cache)})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	p, err := parseProgress(lines)
	if err != nil {
		return err
	}
	res.Image, res.ImageID = p.Image, p.ImageID
	res.SmolCommand = shellLine(s.smolBuild(cache))
	res.SeedCommand = shellLine(seedCommand(s.src, res.Image, s.cfg.pkg, "NAME").argv)

	// The probes run smol's own build step, read from --dry-run, so that
	// they measure exactly what smol runs.
	dry, err := r.output(ctx, s.src, s.smol, "build", "--dry-run", "--cache-dir", cache, s.cfg.pkg)
	if err != nil {
		return err
	}
	step, err := buildCommand(dry, "build "+res.Platform)
	if err != nil {
		return err
	}
	probeOut := filepath.Join(s.scratch, "probe-out")
	if err := os.MkdirAll(probeOut, 0o755); err != nil {
		return err
	}
	pr, err := newProber(step, res.Image, probeOut, os.Getpid())
	if err != nil {
		return err
	}
	pr.native = nat

	editPath := filepath.Join(s.src, s.cfg.edit)
	orig, err := os.ReadFile(editPath)
	if err != nil {
		return fmt.Errorf("-edit: %w", err)
	}
	res.EditLine = `var _ = "buildbench edit N"`
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)

	for i := range s.cfg.runs {
		tag := fmt.Sprintf("round %d/%d", i+1, s.cfg.runs)
		res.RoundLoad = append(res.RoundLoad, strings.Fields(loadAvg())[0])

		wall, lines, err := r.run(ctx, job{dir: s.src, argv: s.smolBuild(cache)})
		if err != nil {
			return fmt.Errorf("%s: no-change rebuild: %w", tag, err)
		}
		p, err := parseProgress(lines)
		if err != nil {
			return err
		}
		res.NoChange = append(res.NoChange, wall)
		res.Phases = append(res.Phases, splitPhases(p, wall, "build "+res.Platform))

		// The appended line is new to the build cache every time (nonce
		// and round), and the file is restored byte for byte after.
		edited := fmt.Appendf(append([]byte(nil), orig...), "\nvar _ = \"buildbench edit %s-%d\"\n", nonce, i)
		if err := os.WriteFile(editPath, edited, 0o644); err != nil {
			return err
		}
		ewall, _, err := r.run(ctx, job{dir: s.src, argv: s.smolBuild(cache)})
		if rerr := os.WriteFile(editPath, orig, 0o644); rerr != nil {
			return fmt.Errorf("restore %s: %w", s.cfg.edit, rerr)
		}
		if err != nil {
			return fmt.Errorf("%s: one-line change: %w", tag, err)
		}
		res.Edit = append(res.Edit, ewall)

		if err := pr.probe(ctx, r, &res.Probes, s.mod.Path, s.cfg.pkg, s.output()); err != nil {
			return fmt.Errorf("%s: %w", tag, err)
		}

		line := fmt.Sprintf("%s: smol no-change %s, one-line change %s", tag, secs(wall), secs(ewall))
		if i < s.cfg.seedRuns {
			name := fmt.Sprintf("buildbench-%d-seed-%d", os.Getpid(), i+1)
			seed := seedCommand(s.src, res.Image, s.cfg.pkg, name)
			seed.cleanup = func() { removeContainer(name) }
			swall, _, err := r.run(ctx, seed)
			if err != nil {
				return fmt.Errorf("%s: seed recipe: %w", tag, err)
			}
			res.Seed = append(res.Seed, swall)
			line += ", seed " + secs(swall)
		}
		s.say("%s", line)
	}
	if s.cfg.runs < s.cfg.seedRuns {
		s.say("note: only %d seed runs (one per warm round)", s.cfg.runs)
	}
	if diff, err := r.output(ctx, s.src, "git", "status", "--porcelain", "--untracked-files=no"); err != nil || diff != "" {
		return fmt.Errorf("scratch clone not restored after the one-line changes: %q %v", diff, err)
	}
	return nil
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
