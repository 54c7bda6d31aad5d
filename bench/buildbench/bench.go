package main

// The measurements, in the order they run: set-up (scratch clone, smol built
// from it, GoReleaser found or installed, versions), cold rounds (both tools
// from empty caches, order alternating), then warm rounds, each holding every
// warm case for both tools, order alternating.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

// goreleaserModule is the GoReleaser release measured beside smol.
const goreleaserModule = "github.com/goreleaser/goreleaser/v2@v2.15.1"

// config is what the flags chose.
type config struct {
	repo       string // the checkout to clone (never modified)
	pkg        string // the package both tools build
	platforms  string // comma-separated GOOS/GOARCH of the multi-platform cases
	edit       string // file of the scratch clone that the one-line change appends to
	smolBin    string // a smol binary to use instead of building one from the clone
	goreleaser string // the goreleaser binary; installed there when missing
	runs       int    // warm rounds
	coldRounds int    // cold rounds
	keep       bool   // keep the scratch directory
	command    string // how this run was started, for the report
}

// Case keys, in report order.
const (
	caseCold         = "cold"
	caseEdit         = "edit"
	caseNoChange     = "nochange"
	caseNoChangeHost = "nochange-host"
	caseForce        = "force"
)

// results is everything one run measured. It is saved as JSON, and the
// report is made from it alone.
type results struct {
	Command   string
	Date      time.Time
	Machine   machine
	Versions  versions
	Repo      string // the repository measured, as given
	Scratch   string // the scratch directory, and the clone in it, as run
	Src       string
	Revision  string // commit measured (the clone's HEAD)
	Version   string // the version string both tools stamp
	Package   string
	Platforms []string // the multi-platform cases' platforms
	Host      string   // the host platform, built by the -host cases
	Image     string   // builder image smol resolved
	ImageID   string
	EditFile  string
	EditLine  string // the appended line, N standing for a nonce

	GoReleaserConfig string // the generated .goreleaser.yaml

	Cases []*measured

	// ColdSmolDeps, ColdSmolStd and ColdSmolBuild are smol's own timing of
	// its steps in each cold round; the std step (of the first platform)
	// runs beside the dependency step, the compile after both.
	ColdSmolDeps, ColdSmolStd, ColdSmolBuild []time.Duration
	// Module cache sizes after the last cold build, in bytes.
	SmolModCache, GoReleaserModCache int64
	// SameBytes: the two tools' cold outputs were identical for every
	// platform in every cold round.
	SameBytes bool
}

// measured is one case: both tools' times, index i of each from the same
// round. A case smol cannot run (an older smol without --force) has no
// times.
type measured struct {
	Key        string
	Name       string
	Smol       []time.Duration
	GoReleaser []time.Duration
	SmolCmd    string
	PeerCmd    string
}

func (r *results) add(key, name, smolCmd, peerCmd string) *measured {
	m := &measured{Key: key, Name: name, SmolCmd: smolCmd, PeerCmd: peerCmd}
	r.Cases = append(r.Cases, m)
	return m
}

func (r *results) get(key string) *measured {
	for _, m := range r.Cases {
		if m.Key == key {
			return m
		}
	}
	return &measured{Key: key}
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
	Go, Docker, Smol, GoReleaser string
}

// session is one benchmark run.
type session struct {
	cfg       config
	r         *runner
	say       func(string, ...any)
	res       *results
	scratch   string // temporary directory holding all of the below
	src       string // the scratch clone
	smol      string // smol binary
	mod       gomod.Module
	exe       string // the command's name
	hasForce  bool   // smol build takes --force
	platforms []string
}

// bench runs every measurement in a scratch directory it removes (unless
// -keep, or on failure, when it says where it is).
func bench(ctx context.Context, cfg config, r *runner, say func(string, ...any)) (_ *results, err error) {
	scratch, err := os.MkdirTemp("", "buildbench-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	defer func() {
		if cfg.keep || err != nil && ctx.Err() == nil {
			say("scratch directory kept: %s", scratch)
			return
		}
		if rmErr := removeTree(scratch); rmErr != nil {
			say("%v", rmErr)
		}
	}()
	s := &session{cfg: cfg, r: r, say: say, scratch: scratch, src: filepath.Join(scratch, "src"),
		platforms: strings.Split(cfg.platforms, ",")}
	s.res = &results{Command: cfg.command, Date: time.Now().UTC(), Package: cfg.pkg, Platforms: s.platforms,
		Host: runtime.GOOS + "/" + runtime.GOARCH, EditFile: cfg.edit, Machine: readMachine(),
		Repo: cfg.repo, Scratch: scratch, Src: s.src}
	s.res.Machine.LoadStart = loadAvg()
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	smolCache, peerCache, err := s.cold(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.warm(ctx, smolCache, peerCache); err != nil {
		return nil, err
	}
	s.res.Machine.LoadEnd = loadAvg()
	return s.res, nil
}

// setup clones the repository, builds smol, finds GoReleaser, writes its
// configuration into the clone and records versions.
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
	if res.Version, err = r.output(ctx, s.src, "git", "describe", "--tags", "--always"); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.src, s.cfg.edit)); err != nil {
		return fmt.Errorf("-edit: %w", err)
	}
	if s.mod, err = gomod.Read(s.src); err != nil {
		return err
	}
	s.exe = build.ExecName(s.mod.Path, s.cfg.pkg)
	s.smol = s.cfg.smolBin
	if s.smol == "" {
		s.smol = filepath.Join(s.scratch, "smol")
		s.say("building smol from the clone")
		if _, _, err := r.run(ctx, job{dir: s.src, env: append(os.Environ(), "CGO_ENABLED=0"),
			argv: []string{"go", "build", "-o", s.smol, "./cmd/smol"}}); err != nil {
			return err
		}
	}
	help, _ := r.output(ctx, s.src, s.smol, "build", "-h")
	s.hasForce = strings.Contains(help, "-force")
	if err := s.findGoReleaser(ctx); err != nil {
		return err
	}
	res.GoReleaserConfig = goreleaserConfig(s.cfg.pkg, s.exe, s.platforms, res.Version)
	if err := os.WriteFile(filepath.Join(s.src, ".goreleaser.yaml"), []byte(res.GoReleaserConfig), 0o644); err != nil {
		return err
	}
	// GoReleaser's config and output, and the output directory of smol's
	// host-platform case, are not the project's source: git must ignore
	// them, or they would be untracked files in the source set smol builds
	// from, and every run would make smol's next build out of date.
	exclude, err := os.OpenFile(filepath.Join(s.src, ".git", "info", "exclude"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = exclude.WriteString("/.goreleaser.yaml\n/.goreleaser-dist/\n/" + hostOut + "/\n")
	if cerr := exclude.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
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
	if v, err := r.output(ctx, s.src, s.cfg.goreleaser, "--version"); err == nil {
		for _, l := range strings.Split(v, "\n") {
			if k, val, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "GitVersion" {
				res.Versions.GoReleaser = "GoReleaser " + strings.TrimSpace(val)
			}
		}
	}
	res.Versions.Docker, err = r.output(ctx, s.src, "docker", "version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}")
	return err
}

// findGoReleaser installs GoReleaser with go install where -goreleaser
// names no file. It is a large compile, done once and kept (under
// bench/results/bin by default).
func (s *session) findGoReleaser(ctx context.Context) error {
	if _, err := os.Stat(s.cfg.goreleaser); err == nil {
		return nil
	}
	dir, err := filepath.Abs(filepath.Dir(s.cfg.goreleaser))
	if err != nil {
		return err
	}
	if filepath.Base(s.cfg.goreleaser) != "goreleaser" {
		return fmt.Errorf("-goreleaser %s does not exist (a path ending in goreleaser is installed there)", s.cfg.goreleaser)
	}
	s.say("installing %s into %s (a large compile, done once)", goreleaserModule, dir)
	_, _, err = s.r.run(ctx, job{dir: s.scratch, env: append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0"),
		argv: []string{"go", "install", goreleaserModule}})
	return err
}

// goreleaserConfig is the .goreleaser.yaml of the scratch clone: GoReleaser's
// documented reproducible-build settings (-trimpath, mod_timestamp,
// -buildid=, CGO_ENABLED=0) with smol's exact flags, so both tools build the
// same bytes. Its output goes to .goreleaser-dist, beside smol's dist.
func goreleaserConfig(pkg, exe string, platforms []string, version string) string {
	var goos, goarch []string
	for _, p := range platforms {
		o, a, _ := strings.Cut(p, "/")
		if !slices.Contains(goos, o) {
			goos = append(goos, o)
		}
		if !slices.Contains(goarch, a) {
			goarch = append(goarch, a)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 2\nproject_name: %s\ndist: .goreleaser-dist\nbuilds:\n  - id: bench\n    main: %s\n    binary: %s\n", exe, pkg, exe)
	fmt.Fprintf(&b, "    env:\n      - CGO_ENABLED=0\n")
	fmt.Fprintf(&b, "    goos: [%s]\n    goarch: [%s]\n", strings.Join(goos, ", "), strings.Join(goarch, ", "))
	if len(goos)*len(goarch) != len(platforms) {
		b.WriteString("    ignore:\n")
		for _, o := range goos {
			for _, a := range goarch {
				if !slices.Contains(platforms, o+"/"+a) {
					fmt.Fprintf(&b, "      - goos: %s\n        goarch: %s\n", o, a)
				}
			}
		}
	}
	fmt.Fprintf(&b, "    flags:\n      - -mod=readonly\n      - -trimpath\n      - -buildvcs=false\n")
	fmt.Fprintf(&b, "    ldflags:\n      - -s -w -buildid= -X main.version=%s\n", version)
	b.WriteString("    mod_timestamp: \"{{ .CommitTimestamp }}\"\n")
	return b.String()
}

// smolArgs is a smol build of platforms ("" for the host's) with caches in
// cache.
func (s *session) smolArgs(cache, platforms string, extra ...string) []string {
	argv := []string{s.smol, "build", "--cache-dir", cache, "--set-version", s.res.Version}
	if platforms != "" {
		argv = append(argv, "--platform", platforms)
	}
	argv = append(argv, extra...)
	return append(argv, s.cfg.pkg)
}

// hostOut is the output directory of smol's host-platform case. It is not
// dist/, where the cases for every platform write: smol's stamp is kept per
// output directory, and a host-only build into dist/ after a build of every
// platform would be a rebuild, not a build with no change. (Each round's
// edit matters too: see warmCase.prime.)
const hostOut = "dist-host"

// peerJob is a GoReleaser build with its Go caches in cache; host builds
// only the host platform.
func (s *session) peerJob(cache string, host bool) job {
	argv := []string{s.cfg.goreleaser, "build", "--snapshot", "--clean"}
	if host {
		argv = append(argv, "--single-target")
	}
	env := append(os.Environ(), "GOCACHE="+filepath.Join(cache, "go-build"), "GOMODCACHE="+filepath.Join(cache, "mod"),
		"GOFLAGS=", "GOTOOLCHAIN=local", "GOAMD64=", "GOARM64=")
	return job{dir: s.src, env: env, argv: argv}
}

// timed runs one build and returns its wall time and output.
func (s *session) timed(ctx context.Context, j job) (time.Duration, []line, error) {
	return s.r.run(ctx, j)
}

// cold runs the cold rounds: both tools from empty caches, the order
// alternating. It returns the last round's caches for the warm rounds.
func (s *session) cold(ctx context.Context) (smolCache, peerCache string, err error) {
	res := s.res
	all := strings.Join(s.platforms, ",")
	c := res.add(caseCold, "cold, "+strings.Join(s.platforms, " + "), "", "")
	res.SameBytes = s.cfg.coldRounds > 0
	for i := range s.cfg.coldRounds {
		tag := fmt.Sprintf("cold round %d/%d", i+1, s.cfg.coldRounds)
		sc := filepath.Join(s.scratch, fmt.Sprintf("cold-smol-%d", i+1))
		pc := filepath.Join(s.scratch, fmt.Sprintf("cold-goreleaser-%d", i+1))
		smolJob := job{dir: s.src, argv: s.smolArgs(sc, all)}
		peer := s.peerJob(pc, false)
		c.SmolCmd, c.PeerCmd = shellLine(smolJob.argv), shellLine(peer.argv)
		var st, pt time.Duration
		runSmol := func() error {
			wall, lines, err := s.timed(ctx, smolJob)
			if err != nil {
				return err
			}
			st = wall
			if p, err := parseProgress(lines); err == nil {
				d, _ := p.step("deps")
				std, _ := p.step("std " + s.platforms[0])
				b, _ := p.step("build " + s.platforms[0])
				res.ColdSmolDeps = append(res.ColdSmolDeps, d.Took)
				res.ColdSmolStd = append(res.ColdSmolStd, std.Took)
				res.ColdSmolBuild = append(res.ColdSmolBuild, b.Took)
				res.Image, res.ImageID = p.Image, p.ImageID
			}
			return nil
		}
		runPeer := func() error {
			wall, _, err := s.timed(ctx, peer)
			pt = wall
			return err
		}
		if err := alternate(i, runSmol, runPeer); err != nil {
			return "", "", fmt.Errorf("%s: %w", tag, err)
		}
		c.Smol, c.GoReleaser = append(c.Smol, st), append(c.GoReleaser, pt)
		s.say("%s: smol %s, GoReleaser %s", tag, secs(st), secs(pt))
		same, err := s.sameBytes()
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", tag, err)
		}
		res.SameBytes = res.SameBytes && same
		pin, _ := s.mod.Pin()
		res.SmolModCache = treeSize(filepath.Join(sc, "go"+pin, "mod"))
		res.GoReleaserModCache = treeSize(filepath.Join(pc, "mod"))
		for _, d := range []string{smolCache, peerCache} {
			if d != "" {
				if err := removeTree(d); err != nil {
					return "", "", err
				}
			}
		}
		smolCache, peerCache = sc, pc
	}
	return smolCache, peerCache, nil
}

// sameBytes compares each platform's output of the two tools.
func (s *session) sameBytes() (bool, error) {
	for _, p := range s.platforms {
		o, a, _ := strings.Cut(p, "/")
		mine, _, err := manifest.HashFile(filepath.Join(s.src, "dist", s.exe+"_"+o+"_"+a))
		if err != nil {
			return false, err
		}
		peerPath, err := goreleaserOutput(filepath.Join(s.src, ".goreleaser-dist"), s.exe, o, a)
		if err != nil {
			return false, err
		}
		theirs, _, err := manifest.HashFile(peerPath)
		if err != nil {
			return false, err
		}
		if mine != theirs {
			s.say("%s: smol and GoReleaser outputs differ", p)
			return false, nil
		}
	}
	return true, nil
}

// goreleaserOutput finds GoReleaser's binary for os/arch under dist: it sits
// in a directory named bench_OS_ARCH plus a variant suffix (_v1 for amd64,
// _v8.0 for arm64).
func goreleaserOutput(dist, exe, goos, goarch string) (string, error) {
	entries, err := os.ReadDir(dist)
	if err != nil {
		return "", fmt.Errorf("GoReleaser output: %w", err)
	}
	prefix := "bench_" + goos + "_" + goarch
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() && (n == prefix || strings.HasPrefix(n, prefix+"_")) {
			return filepath.Join(dist, n, exe), nil
		}
	}
	return "", fmt.Errorf("GoReleaser output for %s/%s: no %s* directory in %s", goos, goarch, prefix, dist)
}

// warm runs the warm rounds with the caches of the last cold round (or
// fresh ones filled by a warm-up build of each tool).
func (s *session) warm(ctx context.Context, smolCache, peerCache string) error {
	res := s.res
	if smolCache == "" {
		smolCache, peerCache = filepath.Join(s.scratch, "warm-smol"), filepath.Join(s.scratch, "warm-goreleaser")
	}
	all := strings.Join(s.platforms, ",")
	s.say("warm-up builds")
	_, lines, err := s.timed(ctx, job{dir: s.src, argv: s.smolArgs(smolCache, all)})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// An up-to-date warm-up names no image; the cold rounds did.
	if p, err := parseProgress(lines); err == nil && p.Image != "" {
		res.Image, res.ImageID = p.Image, p.ImageID
	}
	if _, _, err := s.timed(ctx, s.peerJob(peerCache, false)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// Both host-only builds once, so that the first round's host case is
	// as warm as the others.
	hostSmol := job{dir: s.src, argv: s.smolArgs(smolCache, "", "--out", hostOut)}
	if _, _, err := s.timed(ctx, hostSmol); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := s.timed(ctx, s.peerJob(peerCache, true)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	type warmCase struct {
		m    *measured
		smol job
		peer job
		edit bool // append a line to the edit file first
		// prime runs smol's build once, untimed, before the timed pair:
		// the case's output directory is then up to date with the round's
		// edit, which only the cases for every platform build.
		prime bool
	}
	edit := res.add(caseEdit, "warm, one-line change, "+strings.Join(s.platforms, " + "), "", "")
	noChange := res.add(caseNoChange, "warm, no change, "+strings.Join(s.platforms, " + "), "", "")
	host := res.add(caseNoChangeHost, "warm, no change, host platform ("+res.Host+")", "", "")
	cases := []warmCase{
		{m: edit, smol: job{dir: s.src, argv: s.smolArgs(smolCache, all)}, peer: s.peerJob(peerCache, false), edit: true},
		{m: noChange, smol: job{dir: s.src, argv: s.smolArgs(smolCache, all)}, peer: s.peerJob(peerCache, false)},
		{m: host, smol: hostSmol, peer: s.peerJob(peerCache, true), prime: true},
	}
	if s.hasForce {
		force := res.add(caseForce, "warm, no change, "+strings.Join(s.platforms, " + ")+", smol --force", "", "")
		cases = append(cases, warmCase{m: force, smol: job{dir: s.src, argv: s.smolArgs(smolCache, all, "--force")}, peer: s.peerJob(peerCache, false)})
	}
	// A package-level variable: it changes the package's compiled object,
	// so the build recompiles the package and links again, as a real
	// one-line change does. A comment would give the same object and no
	// link.
	res.EditLine = `var buildbenchEditN = "N"`
	editPath := filepath.Join(s.src, s.cfg.edit)
	for i := range s.cfg.runs {
		tag := fmt.Sprintf("warm round %d/%d", i+1, s.cfg.runs)
		var said []string
		for _, c := range cases {
			c.m.SmolCmd, c.m.PeerCmd = shellLine(c.smol.argv), shellLine(c.peer.argv)
			if c.edit {
				f, err := os.OpenFile(editPath, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(f, "\nvar buildbenchEdit%d = \"%d\"\n", i, time.Now().UnixNano())
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			if c.prime {
				if _, _, err := s.timed(ctx, c.smol); err != nil {
					return fmt.Errorf("%s, %s: priming: %w", tag, c.m.Name, err)
				}
			}
			var st, pt time.Duration
			runSmol := func() (err error) { st, _, err = s.timed(ctx, c.smol); return err }
			runPeer := func() (err error) { pt, _, err = s.timed(ctx, c.peer); return err }
			if err := alternate(i, runSmol, runPeer); err != nil {
				return fmt.Errorf("%s, %s: %w", tag, c.m.Name, err)
			}
			c.m.Smol, c.m.GoReleaser = append(c.m.Smol, st), append(c.m.GoReleaser, pt)
			said = append(said, fmt.Sprintf("%s %s/%s", c.m.Key, secs(st), secs(pt)))
		}
		s.say("%s (smol/GoReleaser): %s; load %s", tag, strings.Join(said, ", "), loadAvg())
	}
	return nil
}

// treeSize is the total size of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

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

// alternate runs a then b in even rounds and b then a in odd ones, so that
// neither tool always runs first (on caches the other just warmed, or on a
// machine the other just loaded), stopping at the first error.
func alternate(round int, a, b func() error) error {
	if round%2 == 1 {
		a, b = b, a
	}
	if err := a(); err != nil {
		return err
	}
	return b()
}
