package debpkg

import (
	"fmt"
	"regexp"
	"strings"
)

// describeRE splits `git describe --tags --always --dirty` output: a tag,
// optionally followed by -<commits since>-g<hash>, optionally -dirty.
var describeRE = regexp.MustCompile(`^(.+?)(?:-([0-9]+)-g([0-9a-f]{4,64}))?(-dirty)?$`)

// debVersionRE is an upstream version without a Debian revision: it starts
// with a digit and holds only alphanumerics and . + ~ (deb-version(7); a
// hyphen is allowed only when a revision follows, and none does here).
var debVersionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// Version turns the version smol stamps (git describe --tags --always
// --dirty) into a Debian version that sorts the way releases do:
//
//	v1.2.3                 1.2.3
//	v1.2.3-rc.1            1.2.3~rc.1          (a pre-release sorts before 1.2.3)
//	v1.2.3-4-gabc1234      1.2.3+4.gabc1234    (later commits sort after the tag)
//	v1.2.3-dirty           1.2.3+dirty
//	abc1234                0.0.0~git.abc1234   (no tag yet: before every release)
//
// revision is the full commit hash when known; it tells an untagged
// describe (an abbreviated hash) from a tag that happens to look like one.
func Version(describe, revision string) (string, error) {
	m := describeRE.FindStringSubmatch(describe)
	if m == nil {
		return "", fmt.Errorf("version %q: not git describe output; pass a Debian version with -version", describe)
	}
	base, commits, hash, dirty := m[1], m[2], m[3], m[4] != ""
	var v string
	switch {
	case commits == "" && isAbbrev(base, revision):
		v = "0.0.0~git." + base
	default:
		v = strings.ReplaceAll(strings.TrimPrefix(base, "v"), "-", "~")
		if commits != "" {
			v += "+" + commits + ".g" + hash
		}
	}
	if dirty {
		if strings.Contains(v, "+") {
			v += ".dirty"
		} else {
			v += "+dirty"
		}
	}
	if err := checkVersion(v); err != nil {
		return "", fmt.Errorf("version %q: %w", describe, err)
	}
	return v, nil
}

// isAbbrev reports whether s is an abbreviated commit hash: a prefix of
// revision when that is known, else at least 7 hex digits with a letter
// among them (an all-digit string is more likely a tag).
func isAbbrev(s, revision string) bool {
	if revision != "" {
		return len(s) >= 4 && strings.HasPrefix(revision, s)
	}
	return regexp.MustCompile(`^[0-9a-f]{7,64}$`).MatchString(s) && strings.ContainsAny(s, "abcdef")
}

func checkVersion(v string) error {
	if !debVersionRE.MatchString(v) {
		return fmt.Errorf("%q is not a Debian version (must start with a digit and hold only letters, digits and . + ~)", v)
	}
	return nil
}

// debArch maps GOARCH to Debian's architecture names (dpkg-architecture -L).
var debArch = map[string]string{
	"amd64":    "amd64",
	"arm64":    "arm64",
	"386":      "i386",
	"arm":      "armhf", // smol's default GOARM=7 build
	"ppc64le":  "ppc64el",
	"riscv64":  "riscv64",
	"s390x":    "s390x",
	"mips64le": "mips64el",
	"loong64":  "loong64",
}

// Arch returns Debian's name for a Go architecture.
func Arch(goarch string) (string, error) {
	if a, ok := debArch[goarch]; ok {
		return a, nil
	}
	return "", fmt.Errorf("GOARCH %q has no Debian architecture this tool knows", goarch)
}
