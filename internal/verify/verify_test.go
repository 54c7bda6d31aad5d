package verify

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

func tarball(t *testing.T, entries []tar.Header) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		h := h
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "data"
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return &b
}

// TestUntarRefusesEscapes: an archive must not write outside the copy.
func TestUntarRefusesEscapes(t *testing.T) {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"plain", []tar.Header{{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, reg("a/b.go"), reg("go.mod")}, ""},
		{"dot-dot", []tar.Header{reg("../evil")}, "escapes"},
		{"absolute", []tar.Header{reg("/etc/evil")}, "escapes"},
		{"through symlink", []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}, reg("l/evil")}, "through the symlink"},
		{"device", []tar.Header{{Name: "dev", Typeflag: tar.TypeChar}}, "unsupported entry type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			err := untar(tarball(t, tt.entries), dst)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(filepath.Join(dst, "a", "b.go")); string(b) != "data" {
					t.Errorf("a/b.go = %q", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestOptionsFrom(t *testing.T) {
	m := manifest.Manifest{
		Packages: []string{"./cmd/a"}, Platforms: []string{"linux/amd64", "linux/arm64"}, Version: "v1", VersionVar: "main.version",
		Tags: []string{"netgo"}, LDFlags: "-s -w -buildid= -X main.version=v1 -X main.commit=abc",
		Env: []string{"CGO_ENABLED=0", "GOAMD64=v3", "GOARM64="},
	}
	o, err := optionsFrom(m)
	if err != nil {
		t.Fatal(err)
	}
	if o.Platforms != "linux/amd64,linux/arm64" || o.Tags != "netgo" || o.LDFlags != "-X main.commit=abc" || len(o.Env) != 1 || o.Env[0] != "GOAMD64=v3" {
		t.Errorf("optionsFrom = %+v", o)
	}
	m.LDFlags = "-X main.version=v1"
	if _, err := optionsFrom(m); !errors.Is(err, manifest.ErrInvalid) {
		t.Errorf("ldflags without smol's prefix: %v", err)
	}
}

func TestCheckSpace(t *testing.T) {
	err := checkSpace(t.TempDir(), 1<<62)
	if !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("error %v, want ErrNoRoom naming TMPDIR", err)
	}
	if err := checkSpace(t.TempDir(), 0); err != nil && !errors.Is(err, ErrNoRoom) {
		t.Error(err)
	}
}

func TestReportOK(t *testing.T) {
	tests := []struct {
		vs   []string
		want bool
	}{
		{[]string{Pass}, true},
		{[]string{Pass, Skip}, true},
		{[]string{Skip}, false},
		{[]string{Pass, Fail}, false},
		{nil, false},
	}
	for _, tt := range tests {
		var r Report
		for _, s := range tt.vs {
			r.Variations = append(r.Variations, Variation{Status: s})
		}
		if r.OK() != tt.want {
			t.Errorf("OK(%v) = %v", tt.vs, !tt.want)
		}
	}
}
