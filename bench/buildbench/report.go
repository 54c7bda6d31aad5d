package main

// The report: the build section of BENCHMARKS.md, made from the results
// alone (so -from-json can redo it without rerunning anything), and the
// splice that replaces that section and nothing else.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
)

// Markers delimit the section of BENCHMARKS.md this program owns; other
// benchmarks own other sections of the same file.
var (
	section     = benchdoc.Section("build")
	beginMarker = section.Begin()
	endMarker   = section.End()
)

// The targets of issue 2 ("Figures").
const (
	targetNoChange = 1500 * time.Millisecond
	targetSpeedup  = 10.0
	targetEdit     = 2 * time.Second
	targetCold     = 1.3
)

// verdict is one target checked.
type verdict struct {
	Name   string
	Got    string
	Target string
	Pass   bool
	Known  bool // false when the figure was not measured
}

// verdicts checks the results against the targets.
func verdicts(res *results) []verdict {
	noChange, seed, edit := summarize(res.NoChange), summarize(res.Seed), summarize(res.Edit)
	cn, cs := coldSpreads(res)
	speedup := ratio(seed.Median, noChange.Median)
	cold := ratio(cs.Median, cn.Median)
	return []verdict{
		{"no-change rebuild, warm caches", fmtDur(noChange), "≤ 1.5 s", noChange.Median <= targetNoChange, noChange.N > 0},
		{"speed-up over the seed recipe", fmtRatio(speedup), "≥ 10x", speedup >= targetSpeedup, speedup > 0},
		{"rebuild after a one-line change", fmtDur(edit), "≤ 2 s", edit.Median <= targetEdit, edit.N > 0},
		{"cold build, smol ÷ native go", fmtRatio(cold), "≤ 1.3x", cold > 0 && cold <= targetCold, cold > 0},
	}
}

func coldSpreads(res *results) (native, smol spread) {
	var n, s []time.Duration
	for _, c := range res.Cold {
		n, s = append(n, c.Native), append(s, c.Smol)
	}
	return summarize(n), summarize(s)
}

// markdown renders the section, markers included.
func markdown(res *results) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := res.Machine
	w("%s\n## Build: smol against the seed recipe and native go\n\n", beginMarker)
	w("Reproduce with `make bench-build` (this run: `%s`), from a clean checkout; it clones the repository to a temporary directory and leaves the tree untouched.\n\n", res.Command)
	w("- Date: %s; revision %s (`%s`), building `%s` for %s.\n", res.Date.Format("2006-01-02 15:04 MST"), short(res.Revision), res.Describe, res.Package, res.Platform)
	w("- Machine: %d CPUs (%s), Linux %s; load average %s at the start, %s at the end. The machine is shared with other agents, so every figure is a spread (min / median / max) and the runs being compared are interleaved.\n", m.NProc, m.CPU, m.Kernel, m.LoadStart, m.LoadEnd)
	w("- Versions: %s; Docker %s; %s; builder image %s (%s).\n\n", res.Versions.Go, res.Versions.Docker, res.Versions.Smol, res.Image, res.ImageID)

	w("| Target (issue 2) | Measured | Target | Result |\n|---|---|---|---|\n")
	for _, v := range verdicts(res) {
		result := "n/a"
		if v.Known {
			result = "FAIL"
			if v.Pass {
				result = "pass"
			}
		}
		w("| %s | %s | %s | %s |\n", v.Name, v.Got, v.Target, result)
	}

	w("\n| Build | Runs | Min | Median | Max |\n|---|---|---|---|---|\n")
	row := func(name string, s spread) {
		if s.N == 0 {
			w("| %s | 0 | n/a | n/a | n/a |\n", name)
			return
		}
		w("| %s | %d | %.2f s | %.2f s | %.2f s |\n", name, s.N, s.Min.Seconds(), s.Median.Seconds(), s.Max.Seconds())
	}
	row("smol, no change, warm caches", summarize(res.NoChange))
	row("smol, one-line change, warm caches", summarize(res.Edit))
	row("seed recipe (no caches, `-a`)", summarize(res.Seed))
	cn, cs := coldSpreads(res)
	row("native go, cold (download + build)", cn)
	row("smol, cold (deps + build)", cs)
	var nd, sd, sb []time.Duration
	var natives, smols []time.Duration
	for _, c := range res.Cold {
		nd, sd, sb = append(nd, c.NativeDeps), append(sd, c.SmolDeps), append(sb, c.SmolBuild)
		natives, smols = append(natives, c.Native), append(smols, c.Smol)
	}
	row("… native `go mod download`", summarize(nd))
	row("… smol deps step (as smol printed it)", summarize(sd))
	row("… smol build step (as smol printed it)", summarize(sb))
	if n, lo, mid, hi := ratioSpread(smols, natives); n > 0 {
		w("\nCold ratio smol ÷ native within each interleaved round (%d rounds, order alternating): min %.2fx, median %.2fx, max %.2fx. ", n, lo, mid, hi)
		if res.SameBytes {
			w("The native and smol binaries were byte-identical in every round.\n")
		} else {
			w("**The native and smol binaries differed** (same flags were meant to give the same bytes).\n")
		}
	}

	w("\n### Where a warm no-change rebuild goes\n\n")
	w("Medians over the warm rounds. The first part splits smol's own runs at its progress lines; the second times each piece separately, in the same rounds, with smol's exact build-step command (read from `smol build --dry-run`).\n\n")
	w("| Part | Median | Note |\n|---|---|---|\n")
	var ready, step, publish, exit []time.Duration
	for _, p := range res.Phases {
		ready, step, publish, exit = append(ready, p.Ready), append(step, p.Step), append(publish, p.Publish), append(exit, p.Exit)
	}
	part := func(name string, ds []time.Duration, note string) {
		s := summarize(ds)
		if s.N == 0 {
			w("| %s | n/a | %s |\n", name, note)
			return
		}
		w("| %s | %s | %s |\n", name, ms(s.Median), note)
	}
	part("smol, whole run", res.NoChange, "process start to exit")
	part("… start to \"image\" line", ready, "plan: go.mod, 3 git commands, `docker image inspect` (twice when golang:<version> is absent)")
	part("… build step", step, "`docker run` of go build, then static check and SHA-256 of the output")
	part("… publish", publish, "rename, SHA256SUMS, manifest.json")
	part("… exit", exit, "")
	pr := res.Probes
	part("`docker image inspect`", pr.Inspect, "one call")
	part("`docker run` with smol's mounts, `go version`", pr.Start, "container create, start, wait, remove: the fixed cost of a step")
	part("`docker run` of smol's build step", pr.Container, "with `-debug-trace` added")
	part("… go build inside (its -debug-trace)", pr.GoBuild, "every package a cache hit")
	part("… … load packages and module graph", pr.Load, "")
	part("… … check the build cache", diffs(diffs(pr.GoBuild, pr.Load), pr.Link), "action IDs: hashes of every source file")
	part("… … link", pr.Link, "runs every time: smol's output directory is new and -buildid= leaves go nothing to compare")
	part("… container overhead", diffs(pr.Container, pr.GoBuild), "that docker run minus the go command")
	part("same go build on the host, warm caches", pr.NativeBuild, "no container, for comparison")
	part("… load packages and module graph", pr.NativeLoad, "")
	part("… link", pr.NativeLink, "")
	part("static check + SHA-256 of the output", pr.CheckHash, fmt.Sprintf("in process, %.1f MiB", float64(pr.OutputSize)/(1<<20)))

	w("\n### Method\n\n")
	w("- smol: %s (a fresh `--cache-dir` per cold round; the last one, warmed, for the rest), from the scratch clone. One warm-up build is not counted.\n", tidy(res.SmolCommand, res))
	w("- One-line change: `%s` appended to `%s` in the scratch clone (N unique per run, so no build cache entry can match), then the file restored byte for byte before the next build.\n", res.EditLine, res.EditFile)
	w("- Seed recipe, in the same image and the same run: %s. Changed from the seed's Makefile: `--rm` added so the benchmark leaves no containers; `-linkmode external -extldflags -static` left out, since it needs gcc, which a toolchain-only image lacks; the host's CA bundle mounted read-only, because the recipe downloads modules on every run and this network's TLS is signed by a CA only the host trusts (smol's dependency step mounts it the same way); `--name` so an interrupted run can remove its container. Like the seed, it has no cache mounts, so each run downloads the modules and recompiles everything, the standard library included, and it runs as root (`bin/server` belongs to root).\n", tidy(res.SeedCommand, res))
	var native [2]string
	for i := range native {
		native[i] = "n/a"
		if i < len(res.ColdNative) {
			native[i] = tidy(res.ColdNative[i], res)
		}
	}
	w("- Native cold build: empty GOCACHE and GOMODCACHE in a new directory each round, then %s and %s, with the flags and environment of smol's plan (CGO_ENABLED=0, GOENV=off, GOWORK=off, GOTOOLCHAIN=local). Cold rounds alternate which of the two goes first.\n", native[0], native[1])
	w("\nRaw runs (seconds): no change %s; one-line change %s; seed %s; cold native %s; cold smol %s.\n",
		list(res.NoChange), list(res.Edit), list(res.Seed), list(natives), list(smols))
	if len(res.RoundLoad) > 0 {
		w("1-minute load average as each warm round began (%d CPUs: %d.0 keeps them all busy): %s.\n", m.NProc, m.NProc, strings.Join(res.RoundLoad, ", "))
	}
	w("%s\n", endMarker)
	return b.Bytes()
}

// tidy prepares a recorded command for the report: the scratch clone
// becomes $PWD and the rest of the scratch directory $SCRATCH, so that the
// line reads like one a person would type. "" becomes n/a.
func tidy(cmd string, res *results) string {
	if cmd == "" {
		return "n/a"
	}
	if res.Src != "" {
		cmd = strings.ReplaceAll(cmd, res.Src, "$PWD")
	}
	if res.Scratch != "" {
		cmd = strings.ReplaceAll(cmd, res.Scratch, "$SCRATCH")
	}
	return "`" + cmd + "`"
}

func diffs(a, b []time.Duration) []time.Duration {
	var d []time.Duration
	for i := range min(len(a), len(b)) {
		d = append(d, a[i]-b[i])
	}
	return d
}

func list(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return strings.Join(s, ", ")
}

func fmtDur(s spread) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s (median of %d; %.2f–%.2f)", s.Median.Seconds(), s.N, s.Min.Seconds(), s.Max.Seconds())
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx (medians)", r)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func saveJSON(path string, res *results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

func loadJSON(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load results: %w", err)
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("load results %s: %w", path, err)
	}
	return &res, nil
}
