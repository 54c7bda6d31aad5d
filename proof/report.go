package main

import (
	"fmt"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
)

// The section of BENCHMARKS.md this program owns; other benchmarks own
// other marked sections.
var (
	section     = benchdoc.Section("repro")
	beginMarker = section.Begin()
	endMarker   = section.End()
)

// Report is one run of the proof.
type Report struct {
	Date      string // UTC, YYYY-MM-DD
	Revision  string // the commit of this repository the server was built from
	GoVersion string
	Platforms string
	Command   string // what reproduces it
	Results   []Result
	CPUs      int
	Minutes   float64 // whole run
}

// AllIdentical reports whether every subject's outputs are identical in
// every build.
func (r Report) AllIdentical() bool {
	if len(r.Results) == 0 {
		return false
	}
	for _, res := range r.Results {
		if !res.AllIdentical() {
			return false
		}
	}
	return true
}

var buildOrder = []string{BuildCold, BuildWarm, BuildUID, BuildContainer, BuildNative}

// Markdown renders the report as the bench:repro section, markers included.
func (r Report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("%s\n## Reproducibility proof: smol on this server and on third-party code\n\n", beginMarker)
	p("Reproduce with `%s` (`go run ./proof`; not part of `make test`, which runs one module on one platform).\n", r.Command)
	p("Run %s on this repository at %s, %s, platforms %s, %d CPUs shared with other work; the whole run took %.1f min.\n\n",
		r.Date, r.Revision, r.GoVersion, r.Platforms, r.CPUs, r.Minutes)

	total, same := 0, 0
	for _, res := range r.Results {
		for _, o := range res.Outputs {
			total++
			if res.Identical(o) {
				same++
			}
		}
	}
	verdict := "**100%: every output is byte-identical in every build.**"
	if same != total || total == 0 {
		verdict = fmt.Sprintf("**NOT REPRODUCIBLE: %d of %d outputs identical in every build** (details below).", same, total)
	}
	p("%s\n\n", verdict)

	p("Each output is built five ways, each a separate smol command:\n\n| build | source path, user, cache, toolchain |\n|---|---|\n")
	if len(r.Results) > 0 {
		for _, n := range buildOrder {
			if bd, ok := r.Results[0].Build(n); ok {
				p("| %s | %s |\n", n, bd.How)
			}
		}
	}
	p("\n`verify container` and `verify native` are the two variations of one `smol verify --native --json`.\n\n")

	p("### Subjects\n\n| subject | module | shape | changes before building | commit built |\n|---|---|---|---|---|\n")
	for _, res := range r.Results {
		s := res.Subject
		mod := "this repository"
		if s.Module != "" {
			mod = "`" + s.Module + "@" + s.Version + "`"
		}
		notes := strings.Join(res.Checkout.Notes, "; ")
		if notes == "" {
			notes = "none"
		}
		p("| %s | %s | %s | %s | %s |\n", s.Name, mod, s.Shape, notes, res.Checkout.Revision)
	}

	p("\n### Matrix (sha256, first 16 hex digits)\n\n| output |")
	for _, n := range buildOrder {
		p(" %s |", n)
	}
	p(" identical |\n|---|")
	for range buildOrder {
		p("---|")
	}
	p("---|\n")
	for _, res := range r.Results {
		for _, o := range res.Outputs {
			p("| %s |", o)
			for _, n := range buildOrder {
				bd, ok := res.Build(n)
				switch {
				case !ok:
					p(" — |")
				case bd.Skipped != "":
					p(" SKIP |")
				case bd.Sums[o] == "":
					p(" missing |")
				default:
					p(" `%s` |", short16(bd.Sums[o]))
				}
			}
			if res.Identical(o) {
				p(" yes |\n")
			} else {
				p(" **no** |\n")
			}
		}
	}
	p("\nFull sha256 of the cold builds:\n\n```\n")
	for _, res := range r.Results {
		if cold, ok := res.Build(BuildCold); ok {
			for _, o := range res.Outputs {
				p("%s  %s\n", cold.Sums[o], o)
			}
		}
	}
	p("```\n")

	p("\n### Wall times (seconds)\n\n| subject | cold build | warm build | uid build (cold) | verify --native, whole run | verify container | verify native |\n|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		p("| %s |", res.Subject.Name)
		for _, n := range []string{BuildCold, BuildWarm, BuildUID} {
			bd, _ := res.Build(n)
			p(" %.1f |", bd.Seconds)
		}
		p(" %.1f |", res.VerifySeconds)
		for _, n := range []string{BuildContainer, BuildNative} {
			if bd, ok := res.Build(n); ok && bd.Skipped == "" {
				p(" %.1f |", bd.Seconds)
			} else {
				p(" — |") // not applicable to this subject
			}
		}
		p("\n")
	}
	for _, res := range r.Results {
		if res.Subject.Module != "" {
			continue
		}
		cold, _ := res.Build(BuildCold)
		native, _ := res.Build(BuildNative)
		if cold.Seconds <= 0 {
			continue
		}
		plain := res.VerifySeconds - native.Seconds
		p("\n`smol verify` for the server (%s, every platform above): %.1f s against a cold `smol build` of the same targets in the same run: %.1f s, **ratio %.2f** (target ≤ 1.5). ",
			res.Subject.Packages[0], plain, cold.Seconds, plain/cold.Seconds)
		p("`smol verify` rebuilds in the image only; the figure is the `--native` run less its native variation, which plain `smol verify` does not run. With `--native` the whole run took %.1f s (%.2fx).\n",
			res.VerifySeconds, res.VerifySeconds/cold.Seconds)
	}

	p("\n### Notes\n\n")
	for _, res := range r.Results {
		if res.Smoke != "" {
			p("- %s: `%s`\n", res.Subject.Name, res.Smoke)
		}
	}
	p("- `verify native` runs the host's go command as the user who ran smol verify, not as the second uid smol verify reports (smol's native executor has no way to switch users); the second uid is covered by the `uid` and `verify container` builds.\n")
	for _, res := range r.Results {
		for _, d := range res.Diffs {
			p("- %s: %s\n", res.Subject.Name, d)
		}
	}
	p("%s\n", endMarker)
	return b.String()
}

func short16(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return sum
}
