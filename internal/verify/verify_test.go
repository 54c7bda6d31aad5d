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

// TestCheckShipped: every output in the output directory is hashed and
// compared with SHA256SUMS; a changed or missing file fails by name.
func TestCheckShipped(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	os.MkdirAll(dist, 0o755)
	files := map[string]string{"a_linux_amd64": "binary a", "b_linux_arm64": "binary b", "c_linux_amd64": "binary c"}
	var m manifest.Manifest
	sums := map[string]string{}
	for _, name := range []string{"a_linux_amd64", "b_linux_arm64", "c_linux_amd64"} {
		p := filepath.Join(dist, name)
		os.WriteFile(p, []byte(files[name]), 0o755)
		sum, size, err := manifest.HashFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m.Outputs = append(m.Outputs, manifest.Output{Name: name, SHA256: sum, Size: size})
		sums[name] = sum
	}
	// Flip one byte of b; remove c.
	os.WriteFile(filepath.Join(dist, "b_linux_arm64"), []byte("binary B"), 0o755)
	os.Remove(filepath.Join(dist, "c_linux_amd64"))

	recs := checkShipped(dist, m, sums)
	var log bytes.Buffer
	for _, r := range recs {
		logRecord(&log, dist, r)
	}
	want := map[string]string{"a_linux_amd64": Pass, "b_linux_arm64": Fail, "c_linux_amd64": Fail}
	for _, r := range recs {
		if r.Variation != Shipped || r.Status != want[r.Name] {
			t.Errorf("record %+v, want status %s", r, want[r.Name])
		}
	}
	for _, line := range []string{
		"PASS a_linux_amd64 [dist] dist/a_linux_amd64 matches SHA256SUMS\n",
		"FAIL b_linux_arm64 [dist] dist/b_linux_arm64 has sha256 ",
		"SHA256SUMS says " + sums["b_linux_arm64"],
		"FAIL c_linux_amd64 [dist] missing from dist, which SHA256SUMS and the manifest list",
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log.String())
		}
	}
}

// TestReportOKNeedsARebuild: the check of the shipped files alone proves
// nothing about reproducibility.
func TestReportOKNeedsARebuild(t *testing.T) {
	r := Report{Variations: []Variation{{Name: Shipped, Status: Pass}, {Name: "container", Status: Skip}}}
	if r.OK() {
		t.Error("OK with only the shipped files checked")
	}
	r.Variations[1].Status = Pass
	if !r.OK() {
		t.Error("not OK with the shipped files and a rebuild passing")
	}
	r.Variations[0].Status = Fail
	if r.OK() {
		t.Error("OK with a shipped file failing")
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
