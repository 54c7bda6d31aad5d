// Package nomadjob fills in the gohttp-smol Nomad job template: the version,
// the architecture and the binary's sha256 that the artifact block checks.
//
// The template marks each value with a placeholder, @NAME@, placed inside an
// HCL string so that the template itself stays valid HCL.
package nomadjob

import (
	"bytes"
	"fmt"
	"regexp"
)

// Values are what the template is filled in with.
type Values struct {
	Version string // as stamped by smol (git describe), used in the download URL
	Arch    string // GOARCH, which is also Nomad's ${attr.cpu.arch}
	SHA256  string // hex digest of the binary, as in SHA256SUMS
}

var (
	// The version goes into a URL path and an HCL string: no quote, no
	// slash, no ${ ... } interpolation.
	versionRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]*$`)
	archRE        = regexp.MustCompile(`^[a-z0-9]+$`)
	sha256RE      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	placeholderRE = regexp.MustCompile(`@[A-Z0-9_]+@`)
)

// Render returns tmpl with every placeholder replaced. Each of @VERSION@,
// @ARCH@ and @SHA256@ must occur at least once, and no other @NAME@ may:
// a template that drifted from this program fails here, not in Nomad.
func Render(tmpl []byte, v Values) ([]byte, error) {
	for _, c := range []struct {
		name, value string
		re          *regexp.Regexp
	}{
		{"version", v.Version, versionRE},
		{"arch", v.Arch, archRE},
		{"sha256", v.SHA256, sha256RE},
	} {
		if !c.re.MatchString(c.value) {
			return nil, fmt.Errorf("render nomad job: %s %q does not match %s", c.name, c.value, c.re)
		}
	}
	out := tmpl
	for _, r := range []struct{ placeholder, value string }{
		{"@VERSION@", v.Version},
		{"@ARCH@", v.Arch},
		{"@SHA256@", v.SHA256},
	} {
		if !bytes.Contains(out, []byte(r.placeholder)) {
			return nil, fmt.Errorf("render nomad job: the template has no %s", r.placeholder)
		}
		out = bytes.ReplaceAll(out, []byte(r.placeholder), []byte(r.value))
	}
	if left := placeholderRE.FindAll(out, -1); len(left) > 0 {
		return nil, fmt.Errorf("render nomad job: the template has unknown placeholders %q", left)
	}
	return out, nil
}
