package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// TestManifestRoundTrip plans builds, records them as a manifest, reads
// the options back and plans again: the second plan must be the same build.
func TestManifestRoundTrip(t *testing.T) {
	src := source.Info{Describe: "v1.0.0", Revision: strings.Repeat("b", 40)}
	lang := gomod.Module{Dir: "/work/m", Path: "example.com/m", Go: "1.21"}
	tests := []struct {
		name string
		mod  gomod.Module
		opts Options
	}{
		{"defaults", testMod, Options{}},
		{"everything set", testMod, Options{Packages: []string{"./cmd/a", "./cmd/b"}, Platforms: "linux/arm64,windows/amd64",
			VersionVar: "example.com/m/internal/v.Version", Version: "v2", Tags: "netgo,osusergo",
			LDFlags: "-X main.commit=abc", Env: []string{"GOAMD64=v3", "GOEXPERIMENT=arenas"}}},
		{"pinned outside go.mod", lang, Options{GoPin: "1.26.8"}},
		{"cgo", testMod, Options{Cgo: CgoOn, Platforms: "linux/amd64,linux/arm64", LDFlags: "-X main.commit=abc"}},
		{"cgo off", testMod, Options{Cgo: CgoOff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = "/c"
			p, err := New(tt.mod, src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Manifest(manifest.Tool{Name: "smol", Version: "v1"}, "docker", manifest.Image{Ref: "golang:1.26.8"})
			if m.GoPin != tt.opts.GoPin || m.GoVersion != p.GoVersion {
				t.Errorf("manifest go_version %q go_pin %q, plan %q pinned %q", m.GoVersion, m.GoPin, p.GoVersion, tt.opts.GoPin)
			}
			o, err := OptionsFrom(m)
			if err != nil {
				t.Fatal(err)
			}
			o.CacheDir = "/other"
			q, err := New(tt.mod, src, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(q.Flags(), p.Flags()) || !slices.Equal(q.Env(), p.Env()) || q.GoVersion != p.GoVersion || q.GoPin != p.GoPin ||
				!slices.Equal(q.Packages, p.Packages) || !slices.Equal(q.Platforms, p.Platforms) || q.LDFlags != p.LDFlags || q.Cgo != p.Cgo {
				t.Errorf("replanned from the manifest:\n got %+v\nwant %+v", q, p)
			}
		})
	}
}

func TestOptionsFromRefusesForeignLDFlags(t *testing.T) {
	for _, ld := range []string{"-s -w", "-s -w -buildid= -X main.version=v1x", "-X main.version=v1 -s -w -buildid="} {
		m := manifest.Manifest{VersionVar: "main.version", Version: "v1", LDFlags: ld}
		if _, err := OptionsFrom(m); !errors.Is(err, manifest.ErrInvalid) {
			t.Errorf("OptionsFrom(ldflags %q) error = %v, want ErrInvalid", ld, err)
		}
	}
}
