package main

// The parser of smol's progress lines, which time its steps.

import (
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
	Steps   []stepLine    // "smol: deps ...", "smol: std OS/ARCH ..." and "smol: build OS/ARCH ..." lines
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
	imageRE = regexp.MustCompile(`^smol: image (\S+) ([0-9a-f]+), go\S+, engine \S+(?:, transfer .*)?$`)
	// smol: build linux/amd64        49.4s  gohttp-smol_linux_amd64 6.7 MiB
	// smol: std linux/amd64          9.8s  go build, 49 standard packages into the build cache
	stepRE = regexp.MustCompile(`^smol: (deps|std \S+|build \S+)\s+([0-9]+(?:\.[0-9]+)?)s(?:\s|$)`)
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
