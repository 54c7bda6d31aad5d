package main

// Parsers for what the measured programs print: smol's progress lines, the
// go command's -debug-trace file, and the shell-quoted commands of
// `smol build --dry-run`.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// line is one line a child process wrote to stderr, with the time since the
// process started at which it arrived.
type line struct {
	At   time.Duration
	Text string
}

// progress is what one `smol build` said about itself.
type progress struct {
	Image   string        // image reference smol resolved ("" when not said)
	ImageID string        // its short ID
	Ready   time.Duration // when the "smol: image ..." line arrived: planning and image lookups done
	Steps   []stepLine    // "smol: deps ..." and "smol: build OS/ARCH ..." lines
	Wrote   time.Duration // when the "smol: wrote ..." line arrived: outputs published
}

// stepLine is one step smol timed itself.
type stepLine struct {
	Name string        // "deps", "build linux/amd64"
	Took time.Duration // as smol printed it (0.1 s resolution)
	At   time.Duration // when the line arrived
}

var (
	// smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker
	imageRE = regexp.MustCompile(`^smol: image (\S+) ([0-9a-f]+), go\S+, engine \S+$`)
	// smol: build linux/amd64        49.4s  gohttp-smol_linux_amd64 6.7 MiB
	stepRE = regexp.MustCompile(`^smol: (deps|build \S+)\s+([0-9]+(?:\.[0-9]+)?)s(?:\s|$)`)
)

// parseProgress reads smol's progress lines. Lines it does not know (the go
// command's own output, notes about image fallback) are ignored; a build
// that printed none of the lines it expects is an error, since the timings
// taken from it would be meaningless.
func parseProgress(lines []line) (progress, error) {
	var p progress
	for _, l := range lines {
		t := strings.TrimSpace(l.Text)
		if m := imageRE.FindStringSubmatch(t); m != nil {
			p.Image, p.ImageID, p.Ready = m[1], m[2], l.At
			continue
		}
		if m := stepRE.FindStringSubmatch(t); m != nil {
			secs, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				return progress{}, fmt.Errorf("smol progress %q: %w", t, err)
			}
			p.Steps = append(p.Steps, stepLine{Name: m[1], Took: time.Duration(secs * float64(time.Second)), At: l.At})
			continue
		}
		if strings.HasPrefix(t, "smol: wrote ") {
			p.Wrote = l.At
		}
	}
	if p.Wrote == 0 || len(p.Steps) == 0 {
		return progress{}, fmt.Errorf("smol progress: no step and \"wrote\" lines among %d lines: has smol's output format changed?", len(lines))
	}
	return p, nil
}

// step returns the step line named name.
func (p progress) step(name string) (stepLine, bool) {
	for _, s := range p.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return stepLine{}, false
}

// goTrace is what a go command's -debug-trace file says about one build.
type goTrace struct {
	Total time.Duration // first event to last
	Load  time.Duration // loading packages (and the module graph)
	Link  time.Duration // the link action of the main package
}

// traceEvent is one event of the Chrome trace format the go command writes.
type traceEvent struct {
	Name  string  `json:"name"`
	Phase string  `json:"ph"`
	TS    float64 `json:"ts"` // microseconds
}

// parseTrace reads a -debug-trace file of `go build PKG` and finds the
// whole command's span, its package loading, and the link action of
// importPath.
func parseTrace(data []byte, importPath string) (goTrace, error) {
	var evs []traceEvent
	if err := json.Unmarshal(data, &evs); err != nil {
		return goTrace{}, fmt.Errorf("go trace: %w", err)
	}
	if len(evs) == 0 {
		return goTrace{}, fmt.Errorf("go trace: no events")
	}
	first, last := evs[0].TS, evs[0].TS
	spans := map[string]*[2]float64{
		"Executing action (link " + importPath + ")": {},
		"load.PackagesAndErrors":                     {},
	}
	for _, e := range evs {
		first, last = min(first, e.TS), max(last, e.TS)
		sp := spans[e.Name]
		if sp == nil {
			continue
		}
		switch e.Phase {
		case "B":
			if sp[0] == 0 { // the first load is the build's; later ones are not
				sp[0] = e.TS
			}
		case "E":
			if sp[1] == 0 {
				sp[1] = e.TS
			}
		}
	}
	us := func(f float64) time.Duration { return time.Duration(f * float64(time.Microsecond)) }
	var t goTrace
	t.Total = us(last - first)
	for name, sp := range spans {
		if sp[0] == 0 || sp[1] < sp[0] {
			return goTrace{}, fmt.Errorf("go trace: no complete %q span", name)
		}
		if name == "load.PackagesAndErrors" {
			t.Load = us(sp[1] - sp[0])
		} else {
			t.Link = us(sp[1] - sp[0])
		}
	}
	return t, nil
}

// splitShell splits a command line written by smol's shell quoting (words
// separated by spaces; single quotes; '\” for a quote inside quotes) back
// into words. It accepts the POSIX subset that quoting produces, plus
// backslash escapes outside quotes, and rejects anything it cannot read
// exactly.
func splitShell(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			} else {
				w.WriteByte(c)
			}
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("split command: trailing backslash")
			}
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case isSafe(c):
			w.WriteByte(c)
			inWord = true
		default:
			return nil, fmt.Errorf("split command: unquoted %q at offset %d: only a real shell can read that", c, i)
		}
	}
	if quoted {
		return nil, fmt.Errorf("split command: unterminated single quote")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// buildCommand finds the command of the step named "build OS/ARCH" in the
// output of `smol build --dry-run`: a "# NAME" line, then the command.
func buildCommand(dryRun, step string) ([]string, error) {
	lines := strings.Split(dryRun, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "# "+step && i+1 < len(lines) {
			return splitShell(strings.TrimSpace(lines[i+1]))
		}
	}
	return nil, fmt.Errorf("smol --dry-run printed no %q step", step)
}

// isSafe reports whether c may appear unquoted in smol's quoting.
func isSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0
}
