// Package gomod reads the facts smol needs from a module's go.mod: the module
// path, the pinned Go toolchain and whether the module is vendored.
//
// It understands only the directives it needs (module, go, toolchain) and
// treats everything else as opaque, so it does not depend on x/mod.
package gomod

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoGoMod is returned by Read when the directory holds no go.mod.
var ErrNoGoMod = errors.New("no go.mod")

// Module is what smol knows about a Go module.
type Module struct {
	Dir       string // absolute directory holding go.mod
	Path      string // module path from the module directive
	Go        string // value of the go directive, e.g. "1.26" or "1.26.8"
	Toolchain string // value of the toolchain directive without "go", e.g. "1.26.8"; "" when absent
	Vendored  bool   // vendor/modules.txt exists: build with -mod=vendor, download nothing
}

// fullVersion matches a complete Go release version: 1.x.y. Prereleases
// (1.27rc1, 1.27beta1) are exact too; "1.26" alone is not, since since Go 1.21
// it names the language version, not a toolchain.
var fullVersion = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+|(rc|beta)[1-9][0-9]*)$`)

// Pin returns the exact Go toolchain version the module asks for, without the
// "go" prefix: the toolchain directive when present, else a go directive that
// names a full version. Anything vaguer is an error that says which line to
// add, or how to pin a toolchain without editing go.mod (PinWith).
func (m Module) Pin() (string, error) {
	return m.PinWith("")
}

// PinWith is Pin with the version the user pinned outside go.mod (smol's
// --go flag or SMOL_GO), which wins over the toolchain and go directives
// when not empty. It must be an exact release (1.26.8, 1.27rc1): a language
// version such as 1.26 names no toolchain. It must also be at least the go
// directive, the oldest Go the module's code is written for: with
// GOTOOLCHAIN=local an older toolchain refuses to build it, and the error
// says so before anything runs. The toolchain directive only suggests a
// release, so a pin older than it is accepted.
func (m Module) PinWith(pin string) (string, error) {
	gomod := filepath.Join(m.Dir, "go.mod")
	if pin != "" {
		if !fullVersion.MatchString(pin) {
			return "", fmt.Errorf("--go %q: want an exact Go release such as 1.26.8 (no \"go\" prefix; a language version such as 1.26 names no toolchain)", pin)
		}
		if m.Go == "" {
			return pin, nil
		}
		lang, ok := parseVersion(m.Go)
		if !ok {
			return "", fmt.Errorf("%s: \"go %s\" is not a Go version", gomod, m.Go)
		}
		if have, _ := parseVersion(pin); lang.compare(have) > 0 {
			return "", fmt.Errorf("go.mod says go %s but --go pins %s: the module needs Go %s or newer: pin a release at least that new (--go or SMOL_GO), e.g. --go %s", m.Go, pin, m.Go, lang.example())
		}
		return pin, nil
	}
	if m.Toolchain != "" {
		if !fullVersion.MatchString(m.Toolchain) {
			return "", fmt.Errorf("%s: toolchain go%s is not an exact release: write e.g. \"toolchain go1.26.8\", or pin one with --go 1.26.8", gomod, m.Toolchain)
		}
		return m.Toolchain, nil
	}
	if fullVersion.MatchString(m.Go) {
		return m.Go, nil
	}
	if m.Go == "" {
		return "", fmt.Errorf("%s: no go directive, so no toolchain to pin: add \"go 1.26\" and \"toolchain go1.26.8\" (or the release you build with), or pin one without editing go.mod: --go 1.26.8", gomod)
	}
	return "", fmt.Errorf("%s: \"go %s\" does not name an exact toolchain: add a line \"toolchain go%s.N\" naming the release to build with (e.g. toolchain go1.26.8), or pin one without editing go.mod: --go %s.N (or SMOL_GO)", gomod, m.Go, m.Go, m.Go)
}

// version is a parsed Go version: a language version (1.26), a prerelease
// (1.27rc1, 1.27beta1) or a release (1.26.8). Language versions sort before
// the prereleases of the same minor version, which sort before its
// releases, as the go command orders them: go 1.27 in go.mod accepts
// go1.27rc1.
type version struct {
	minor int
	kind  int // kindLang, kindBeta, kindRC or kindRelease
	n     int // beta or rc number, or patch
}

const (
	kindLang = iota
	kindBeta
	kindRC
	kindRelease
)

var versionRE = regexp.MustCompile(`^1\.([0-9]+)(?:\.([0-9]+)|(rc|beta)([0-9]+))?$`)

func parseVersion(s string) (version, bool) {
	sm := versionRE.FindStringSubmatch(s)
	if sm == nil {
		return version{}, false
	}
	var v version
	v.minor, _ = strconv.Atoi(sm[1])
	switch {
	case sm[2] != "":
		v.kind = kindRelease
		v.n, _ = strconv.Atoi(sm[2])
	case sm[3] == "rc":
		v.kind = kindRC
		v.n, _ = strconv.Atoi(sm[4])
	case sm[3] == "beta":
		v.kind = kindBeta
		v.n, _ = strconv.Atoi(sm[4])
	}
	return v, true
}

func (v version) compare(w version) int {
	for _, d := range [][2]int{{v.minor, w.minor}, {v.kind, w.kind}, {v.n, w.n}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// example is the first release that satisfies v, to suggest as a pin.
func (v version) example() string {
	if v.kind == kindRelease {
		return fmt.Sprintf("1.%d.%d", v.minor, v.n)
	}
	return fmt.Sprintf("1.%d.0", v.minor)
}

// Read parses dir/go.mod. dir is made absolute.
func Read(dir string) (Module, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Module{}, fmt.Errorf("read go.mod: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if errors.Is(err, os.ErrNotExist) {
		return Module{}, fmt.Errorf("%s: %w: run smol from a module's root directory (or pass -C DIR), or create one with \"go mod init\"", abs, ErrNoGoMod)
	}
	if err != nil {
		return Module{}, fmt.Errorf("read go.mod: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return Module{}, fmt.Errorf("%s: %w", filepath.Join(abs, "go.mod"), err)
	}
	m.Dir = abs
	if _, err := os.Stat(filepath.Join(abs, "vendor", "modules.txt")); err == nil {
		m.Vendored = true
	}
	return m, nil
}

// Parse extracts the module, go and toolchain directives from go.mod text.
// Other directives, blocks and comments are skipped.
func Parse(data []byte) (Module, error) {
	var m Module
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	depth := 0 // inside a require ( ... ) style block
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if depth > 0 {
			if fields[0] == ")" {
				depth--
			}
			continue
		}
		if fields[len(fields)-1] == "(" {
			depth++
			continue
		}
		switch fields[0] {
		case "module":
			if len(fields) != 2 {
				return Module{}, fmt.Errorf("line %d: malformed module directive", n)
			}
			p := fields[1]
			if uq, err := strconv.Unquote(p); err == nil {
				p = uq
			}
			m.Path = p
		case "go":
			if len(fields) != 2 {
				return Module{}, fmt.Errorf("line %d: malformed go directive", n)
			}
			m.Go = fields[1]
		case "toolchain":
			if len(fields) != 2 || !strings.HasPrefix(fields[1], "go") {
				return Module{}, fmt.Errorf("line %d: malformed toolchain directive: want \"toolchain go1.N.M\"", n)
			}
			m.Toolchain = strings.TrimPrefix(fields[1], "go")
		}
	}
	if err := sc.Err(); err != nil {
		return Module{}, err
	}
	if m.Path == "" {
		return Module{}, errors.New("no module directive")
	}
	return m, nil
}
