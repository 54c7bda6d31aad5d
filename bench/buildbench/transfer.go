package main

// The copy-mode comparison (-transfer): smol in mount mode against smol in
// copy mode (--transfer copy), same clone, same package and platforms, same
// rounds with the order alternating, on the local daemon. Copy mode's extra
// cost is what it adds on top of the same build: the source stream, the
// volumes and the outputs stream; a remote daemon adds its network to that.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
)

// transferSection is the part of BENCHMARKS.md the comparison rewrites.
const transferSection benchdoc.Section = "build-transfer"

// transferResults is one run of the comparison, saved as JSON.
type transferResults struct {
	Command   string
	Date      time.Time
	Machine   machine
	Revision  string
	Package   string
	Platforms []string
	SmolInfo  string
	Cases     []*transferCase
	// SameBytes: both modes' SHA256SUMS and manifest.json were identical
	// after every cold round.
	SameBytes bool
	// Bytes sent and received per copy-mode build, as its step lines
	// said, from the last cold round.
	SourceIn, OutputsBack string
}

// transferCase is one build measured in both modes, index i of each from
// the same round.
type transferCase struct {
	Key, Name   string
	Mount, Copy []time.Duration
	Target      float64 // the most copy ÷ mount may be
}

var (
	sourceInRE    = regexp.MustCompile(`^smol: source in\s.*, (\S+ \S+) in \(copy mode\)$`)
	outputsBackRE = regexp.MustCompile(`^smol: outputs back\s.*\s(\S+ \S+) out \(copy mode\)$`)
)

// transferBytes reads the bytes a copy-mode build sent and received from
// its step lines.
func transferBytes(lines []line) (in, out string) {
	for _, l := range lines {
		if m := sourceInRE.FindStringSubmatch(l.Text); m != nil {
			in = m[1]
		}
		if m := outputsBackRE.FindStringSubmatch(l.Text); m != nil {
			out = m[1]
		}
	}
	return in, out
}

func benchTransfer(ctx context.Context, cfg config, r *runner, say func(string, ...any)) (_ *transferResults, err error) {
	scratch, err := os.MkdirTemp("", "buildbench-transfer-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	defer func() {
		if cfg.keep {
			say("scratch directory kept: %s", scratch)
			return
		}
		removeTree(scratch)
	}()
	src := filepath.Join(scratch, "src")
	res := &transferResults{Command: cfg.command, Date: time.Now().UTC(), Package: cfg.pkg,
		Platforms: strings.Split(cfg.platforms, ","), Machine: readMachine(), SameBytes: true}
	res.Machine.LoadStart = loadAvg()
	if _, err := r.output(ctx, "", "git", "clone", "--quiet", cfg.repo, src); err != nil {
		return nil, err
	}
	if res.Revision, err = r.output(ctx, src, "git", "rev-parse", "HEAD"); err != nil {
		return nil, err
	}
	smol := cfg.smolBin
	if smol == "" {
		smol = filepath.Join(scratch, "smol")
		if _, err := r.output(ctx, src, "go", "build", "-o", smol, "./cmd/smol"); err != nil {
			return nil, err
		}
	}
	if res.SmolInfo, err = r.output(ctx, src, smol, "version"); err != nil {
		return nil, err
	}
	mod, err := gomod.Read(src)
	if err != nil {
		return nil, err
	}
	pin, err := mod.Pin()
	if err != nil {
		return nil, err
	}
	args := func(mode, cache string, extra ...string) []string {
		a := []string{smol, "build", "--transfer", mode, "--cache-dir", cache, "--platform", cfg.platforms}
		return append(append(a, extra...), cfg.pkg)
	}
	// Copy mode's caches are the daemon's volumes for this Go version and
	// uid: a cold copy-mode build starts by removing them, and the warm
	// copy-mode container that mounts them.
	vols := engine.CacheVolumes(pin, os.Getuid())
	dropVolumes := func() error {
		ids, err := r.output(ctx, "", "docker", "ps", "--all", "--quiet", "--filter", "label="+engine.WarmLabel+"=1", "--filter", "volume="+vols[0])
		if err != nil {
			return err
		}
		if ids = strings.TrimSpace(ids); ids != "" {
			if _, err := r.output(ctx, "", append([]string{"docker", "rm", "--force", "--volumes"}, strings.Fields(ids)...)...); err != nil {
				return err
			}
		}
		_, err = r.output(ctx, "", append([]string{"docker", "volume", "rm", "--force"}, vols[:]...)...)
		return err
	}
	sums := func() (string, error) {
		var b bytes.Buffer
		for _, f := range []string{"SHA256SUMS", "manifest.json"} {
			data, err := os.ReadFile(filepath.Join(src, "dist", f))
			if err != nil {
				return "", err
			}
			b.Write(data)
		}
		return b.String(), nil
	}

	cold := &transferCase{Key: caseCold, Name: "cold, " + strings.Join(res.Platforms, " + "), Target: 1.2}
	res.Cases = append(res.Cases, cold)
	var mountCache, copyCache string
	for i := range cfg.coldRounds {
		mountCache = filepath.Join(scratch, "mount-cache-"+strconv.Itoa(i))
		copyCache = filepath.Join(scratch, "copy-cache-"+strconv.Itoa(i))
		var mt, ct time.Duration
		var mountSums, copySums string
		runMount := func() error {
			d, _, err := r.run(ctx, job{dir: src, argv: args("mount", mountCache)})
			mt = d
			if err == nil {
				mountSums, err = sums()
			}
			return err
		}
		runCopy := func() error {
			if err := dropVolumes(); err != nil {
				return err
			}
			d, lines, err := r.run(ctx, job{dir: src, argv: args("copy", copyCache)})
			ct = d
			res.SourceIn, res.OutputsBack = transferBytes(lines)
			if err == nil {
				copySums, err = sums()
			}
			return err
		}
		if err := alternate(i, runMount, runCopy); err != nil {
			return nil, fmt.Errorf("cold round %d: %w", i+1, err)
		}
		res.SameBytes = res.SameBytes && mountSums == copySums
		cold.Mount, cold.Copy = append(cold.Mount, mt), append(cold.Copy, ct)
		say("cold round %d/%d: mount %s, copy %s", i+1, cfg.coldRounds, secs(mt), secs(ct))
	}
	if mountCache == "" {
		mountCache, copyCache = filepath.Join(scratch, "mount-cache"), filepath.Join(scratch, "copy-cache")
	}

	warm := []*transferCase{
		{Key: caseNoChange, Name: "warm, no change (up to date)", Target: 1.3},
		{Key: caseForce, Name: "warm, no change, --force (containers run)", Target: 1.3},
	}
	res.Cases = append(res.Cases, warm...)
	extra := map[string][]string{caseNoChange: nil, caseForce: {"--force"}}
	for _, c := range warm { // one warm-up build of each
		for _, m := range []struct{ mode, cache string }{{"mount", mountCache}, {"copy", copyCache}} {
			if _, _, err := r.run(ctx, job{dir: src, argv: args(m.mode, m.cache, extra[c.Key]...)}); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	for i := range cfg.runs {
		for _, c := range warm {
			var mt, ct time.Duration
			runMount := func() (err error) {
				mt, _, err = r.run(ctx, job{dir: src, argv: args("mount", mountCache, extra[c.Key]...)})
				return err
			}
			runCopy := func() (err error) {
				ct, _, err = r.run(ctx, job{dir: src, argv: args("copy", copyCache, extra[c.Key]...)})
				return err
			}
			if err := alternate(i, runMount, runCopy); err != nil {
				return nil, fmt.Errorf("warm round %d: %w", i+1, err)
			}
			c.Mount, c.Copy = append(c.Mount, mt), append(c.Copy, ct)
		}
		say("warm round %d/%d done", i+1, cfg.runs)
	}
	res.Machine.LoadEnd = loadAvg()
	return res, nil
}

// transferMarkdown is the section of BENCHMARKS.md for res.
func transferMarkdown(res *transferResults) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := res.Machine
	w("%s\n### Copy mode against mount mode\n\n", transferSection.Begin())
	w("Reproduce with `%s`. Both modes build `%s` for %s from the same scratch clone of %s on the local daemon, in the same rounds, the order alternating; ratios are copy ÷ mount within each round. %s.\n\n",
		res.Command, res.Package, strings.Join(res.Platforms, " + "), short(res.Revision), res.SmolInfo)
	w("- Date: %s. Machine: %d CPUs (%s), Linux %s; load average %s at the start, %s at the end (shared machine).\n",
		res.Date.Format("2006-01-02 15:04 MST"), m.NProc, m.CPU, m.Kernel, m.LoadStart, m.LoadEnd)
	w("- Bytes per copy-mode build, as its step lines say: source in %s (the tar stream, with the CA bundle), outputs back %s.\n", orNA(res.SourceIn), orNA(res.OutputsBack))
	if res.SameBytes {
		w("- SHA256SUMS and manifest.json were identical in both modes after every cold round.\n\n")
	} else {
		w("- **SHA256SUMS or manifest.json differed between the modes.**\n\n")
	}
	w("| Build | Rounds | mount: median (min–max) | copy: median (min–max) | copy ÷ mount per round: median (min–max) | Target | Result |\n|---|---|---|---|---|---|---|\n")
	for _, c := range res.Cases {
		mt, ct := summarize(c.Mount), summarize(c.Copy)
		ratios, result := "n/a", "n/a"
		if n, lo, mid, hi := ratioSpread(c.Copy, c.Mount); n > 0 {
			ratios = fmt.Sprintf("%.2fx (%.2f–%.2f)", mid, lo, hi)
			result = "FAIL"
			if mid <= c.Target {
				result = "pass"
			}
		}
		w("| %s | %d | %s | %s | %s | ≤ %.1fx | %s |\n", c.Name, min(mt.N, ct.N), cell(mt), cell(ct), ratios, c.Target, result)
	}
	w("\nCold: a fresh `--cache-dir` for each mode and, for copy mode, its cache volumes removed first. Warm: the last cold round's caches after one warm-up build; \"up to date\" runs no container in either mode, `--force` runs the dependency stamp check and the compile: in mount mode by an exec in its warm container, in copy mode by an exec in its warm copy-mode container that takes the source in on its standard input, and which takes the unchanged outputs from copies smol kept once the runner's digests of the new ones match them (the bytes above are a cold round's).\n\nRaw runs (seconds, mount / copy, in round order):\n\n")
	for _, c := range res.Cases {
		w("- %s: %s / %s\n", c.Name, list(c.Mount), list(c.Copy))
	}
	w("%s\n", transferSection.End())
	return b.Bytes()
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// runTransfer is buildbench -transfer: measure, save the results beside
// jsonPath ("" for none) and rewrite the section in benchmarks.
func runTransfer(ctx context.Context, cfg config, args []string, benchmarks, jsonPath string, stdout io.Writer, say func(string, ...any)) error {
	repo, err := filepath.Abs(cfg.repo)
	if err != nil {
		return err
	}
	cfg.repo = repo
	cfg.command = "go run ./bench/buildbench " + shellLine(args)
	log := io.Discard
	var out string
	if jsonPath != "" {
		out = filepath.Join(filepath.Dir(jsonPath), "build-transfer.json")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		f, err := os.Create(strings.TrimSuffix(out, ".json") + ".log")
		if err != nil {
			return err
		}
		defer f.Close()
		log = f
		say("log of every command: %s", f.Name())
	}
	res, err := benchTransfer(ctx, cfg, &runner{log: log}, say)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted: nothing written")
		}
		return err
	}
	if out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if err := benchdoc.Write(benchmarks, transferSection, transferMarkdown(res)); err != nil {
		return err
	}
	for _, c := range res.Cases {
		if n, _, mid, _ := ratioSpread(c.Copy, c.Mount); n > 0 {
			fmt.Fprintf(stdout, "%-44s copy/mount %.2fx (target <= %.1fx)\n", c.Name, mid, c.Target)
		}
	}
	say("wrote the %s section of %s", transferSection, benchmarks)
	return nil
}
