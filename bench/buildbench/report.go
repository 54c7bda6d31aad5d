package main

// The report: the build section of BENCHMARKS.md, made from the results
// alone (so -from-json can redo it without rerunning anything).

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

// section is the part of BENCHMARKS.md this program owns; other benchmarks
// own other sections of the same file.
var section = benchdoc.Section("build")

// The targets, as ratios of smol's time to GoReleaser's in the same round,
// and the one absolute target: a no-change rebuild that has nothing to do.
const (
	targetEdit     = 1.5
	targetCold     = 1.0
	targetNoChange = 300 * time.Millisecond
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
	edit, cold := res.get(caseEdit), res.get(caseCold)
	_, _, editRatio, _ := ratioSpread(edit.Smol, edit.GoReleaser)
	_, _, coldRatio, _ := ratioSpread(cold.Smol, cold.GoReleaser)
	noChange := summarize(res.get(caseNoChange).Smol)
	return []verdict{
		{"warm one-line change, smol ÷ GoReleaser", fmtRatio(editRatio), "≤ 1.5x", editRatio > 0 && editRatio <= targetEdit, editRatio > 0},
		{"cold build, smol ÷ GoReleaser", fmtRatio(coldRatio), "≤ 1.0x", coldRatio > 0 && coldRatio <= targetCold, coldRatio > 0},
		{"warm no-change rebuild, smol", fmtDur(noChange), "≤ 0.3 s", noChange.N > 0 && noChange.Median <= targetNoChange, noChange.N > 0},
	}
}

// markdown renders the section, markers included.
func markdown(res *results) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := res.Machine
	w("%s\n## Build: smol against GoReleaser\n\n", section.Begin())
	w("Reproduce with `make bench-build` (this run: `%s`), from a clean checkout; it clones the repository to a temporary directory and leaves the tree untouched.\n\n", res.Command)
	w("- Date: %s; revision %s, building `%s` as version `%s` for %s (and %s alone for the host case).\n", res.Date.Format("2006-01-02 15:04 MST"), short(res.Revision), res.Package, res.Version, strings.Join(res.Platforms, " + "), res.Host)
	w("- Machine: %d CPUs (%s), Linux %s; load average %s at the start, %s at the end. The machine is shared, so both tools run in the same rounds, the order alternating, and ratios are taken within each round.\n", m.NProc, m.CPU, m.Kernel, m.LoadStart, m.LoadEnd)
	w("- Versions: %s; %s; Docker %s; %s; builder image %s (%s).\n\n", res.Versions.Smol, res.Versions.GoReleaser, res.Versions.Docker, res.Versions.Go, res.Image, res.ImageID)

	w("| Target | Measured | Target | Result |\n|---|---|---|---|\n")
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

	w("\n| Build | Rounds | smol: median (min–max) | GoReleaser: median (min–max) | smol ÷ GoReleaser per round: median (min–max) |\n|---|---|---|---|---|\n")
	for _, c := range res.Cases {
		st, pt := summarize(c.Smol), summarize(c.GoReleaser)
		ratios := "n/a"
		if n, lo, mid, hi := ratioSpread(c.Smol, c.GoReleaser); n > 0 {
			ratios = fmt.Sprintf("%.2fx (%.2f–%.2f)", mid, lo, hi)
		}
		w("| %s | %d | %s | %s | %s |\n", c.Name, min(st.N, pt.N), cell(st), cell(pt), ratios)
	}
	if len(res.ColdSmolDeps) > 0 {
		w("\nsmol's cold builds, as smol timed its steps: dependency step %s, beside it the standard library's compile (all platforms in one container) %s, then the compile step (all platforms in one container) %s.\n",
			cell(summarize(res.ColdSmolDeps)), cell(summarize(res.ColdSmolStd)), cell(summarize(res.ColdSmolBuild)))
	}
	if res.SmolModCache > 0 || res.GoReleaserModCache > 0 {
		w("Module cache after a cold build: smol %s, GoReleaser %s (smol's dependency step fetches only the modules the package needs for these platforms).\n", mib(res.SmolModCache), mib(res.GoReleaserModCache))
	}
	if c := res.get(caseCold); len(c.Smol) > 0 {
		if res.SameBytes {
			w("The two tools' outputs were byte-identical for every platform in every cold round.\n")
		} else {
			w("**The two tools' outputs differed** (the same flags were meant to give the same bytes).\n")
		}
	}

	w("\n### Method\n\n")
	for _, c := range res.Cases {
		w("- %s: smol %s; GoReleaser %s.\n", c.Name, tidy(c.SmolCmd, res), tidy(c.PeerCmd, res))
	}
	w("- Cold rounds use a fresh smol `--cache-dir` and fresh GOCACHE and GOMODCACHE for GoReleaser; the last round's caches, after one warm-up build of each case, serve the warm rounds. GoReleaser runs with the host's go command, GOFLAGS, GOAMD64 and GOARM64 cleared and GOTOOLCHAIN=local. The toolchains are kept from round to round, as a user's would be: the host's Go for GoReleaser; for smol its builder image and, where the engine's storage driver is fuse-overlayfs, the image's GOROOT copied to a volume (each made by the first smol build that needs it, if not there already), and the host go command's build cache, which holds what smol's runner is compiled and linked from (smol builds the runner into each fresh --cache-dir with go run, which that cache serves).\n")
	w("- One-line change: `%s` appended to `%s` in the scratch clone before each round's pair of builds (N unique, so no cache entry can match; a variable, so the package's object changes and both tools link again).\n", res.EditLine, res.EditFile)
	w("- Host platform, no change: smol writes to its own output directory (`%s`), and builds once, untimed, before each timed pair, since the round's edit was built only for every platform.\n", hostOut)
	w("- GoReleaser's configuration, written to the scratch clone as .goreleaser.yaml:\n\n```yaml\n%s```\n", res.GoReleaserConfig)
	w("\nRaw runs (seconds, smol / GoReleaser, in round order):\n\n")
	for _, c := range res.Cases {
		w("- %s: %s / %s\n", c.Name, list(c.Smol), list(c.GoReleaser))
	}
	w("%s\n", section.End())
	return b.Bytes()
}

// tidy prepares a recorded command for the report: the scratch clone
// becomes $PWD, the rest of the scratch directory $SCRATCH, and paths in the
// measured repository (the GoReleaser binary) relative ones.
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
	if res.Repo != "" {
		cmd = strings.ReplaceAll(cmd, res.Repo+"/", "")
	}
	return "`" + cmd + "`"
}

func cell(s spread) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f s (%.2f–%.2f)", s.Median.Seconds(), s.Min.Seconds(), s.Max.Seconds())
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

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

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
	return fmt.Sprintf("%.2fx (median of per-round ratios)", r)
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
