package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

// This file is the one place that maps a Plan to the manifest that records
// it and a manifest back to the Options that plan the same build again
// (smol verify). Whatever Manifest writes, OptionsFrom must read back.

// ldflagsPrefix is smol's own part of -ldflags; the user's extra flags
// follow it after a space.
// With --cgo the C compiler links, statically.
func ldflagsPrefix(versionVar, version, cgo string) string {
	if cgo == CgoOn {
		return "-s -w -buildid= " + cgoLDFlags + " -X " + versionVar + "=" + version
	}
	return "-s -w -buildid= -X " + versionVar + "=" + version
}

// Manifest returns the manifest of a build of p, without its outputs: tool
// and image say who built, engineName with which executor.
func (p Plan) Manifest(tool manifest.Tool, engineName string, image manifest.Image) manifest.Manifest {
	m := manifest.Manifest{
		Schema:     manifest.Schema,
		Tool:       tool,
		Engine:     engineName,
		Image:      image,
		GoVersion:  p.GoVersion,
		GoPin:      p.GoPin,
		Module:     p.Module.Path,
		Source:     p.Source,
		Packages:   p.Packages,
		Version:    p.Version,
		VersionVar: p.VersionVar,
		Tags:       p.Tags,
		LDFlags:    p.LDFlags,
		Flags:      p.Flags(),
		Env:        p.Env(),
		Cgo:        p.Cgo,
	}
	if p.Cgo == CgoOn {
		m.CEnv = map[string][]string{}
		for _, pl := range p.Platforms {
			m.CEnv[pl.String()] = p.cgoPlatformEnv(pl)
		}
	}
	for _, pl := range p.Platforms {
		m.Platforms = append(m.Platforms, pl.String())
	}
	return m
}

// OptionsFrom recovers the user's build options from a manifest written by
// Manifest. The directories, the user and the proxy settings are not
// recorded (they do not change the bytes): the caller sets them.
func OptionsFrom(m manifest.Manifest) (Options, error) {
	prefix := ldflagsPrefix(m.VersionVar, m.Version, m.Cgo)
	if m.LDFlags != prefix && !strings.HasPrefix(m.LDFlags, prefix+" ") {
		return Options{}, fmt.Errorf("%w: ldflags %q do not start with smol's %q", manifest.ErrInvalid, m.LDFlags, prefix)
	}
	var knobs []string
	for _, kv := range m.Env {
		k, v, _ := strings.Cut(kv, "=")
		if v != "" && slices.Contains(Knobs, k) {
			knobs = append(knobs, kv)
		}
	}
	return Options{
		Packages:   m.Packages,
		Platforms:  strings.Join(m.Platforms, ","),
		VersionVar: m.VersionVar,
		Version:    m.Version,
		Tags:       strings.Join(m.Tags, ","),
		LDFlags:    strings.TrimPrefix(strings.TrimPrefix(m.LDFlags, prefix), " "),
		Env:        knobs,
		GoPin:      m.GoPin,
		Cgo:        m.Cgo,
	}, nil
}
