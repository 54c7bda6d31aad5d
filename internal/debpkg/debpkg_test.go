package debpkg

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
)

func TestVersion(t *testing.T) {
	const rev = "a1cca16f00d2b7c1e6e1c4e5b2f7f0a9d8c7b6a5"
	for _, c := range []struct {
		describe, revision, want, wantErr string
	}{
		{"v1.2.3", "", "1.2.3", ""},
		{"1.2.3", "", "1.2.3", ""},
		{"v1.2.3-rc.1", "", "1.2.3~rc.1", ""},
		{"v1.2.3-4-gabc1234", "", "1.2.3+4.gabc1234", ""},
		{"v1.2.3-4-gabc1234-dirty", "", "1.2.3+4.gabc1234.dirty", ""},
		{"v1.2.3-dirty", "", "1.2.3+dirty", ""},
		{"v1.2.3-rc.1-2-g0123abc", "", "1.2.3~rc.1+2.g0123abc", ""},
		{"a1cca16", rev, "0.0.0~git.a1cca16", ""},
		{"a1cca16-dirty", rev, "0.0.0~git.a1cca16+dirty", ""},
		{"a1cca16", "", "0.0.0~git.a1cca16", ""},
		// All digits and no revision to compare with: taken as a tag.
		{"1234567", "", "1234567", ""},
		{"1234567", "1234567" + rev[7:], "0.0.0~git.1234567", ""},
		{"release", "", "", "not a Debian version"},
		{"v1.2_3", "", "", "not a Debian version"},
		{"", "", "", "not git describe output"},
	} {
		t.Run(c.describe, func(t *testing.T) {
			got, err := Version(c.describe, c.revision)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Version(%q) = %q, %v; want error containing %q", c.describe, got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Version(%q, %q) = %q, %v; want %q", c.describe, c.revision, got, err, c.want)
			}
		})
	}
}

// TestVersionOrder checks the mapping against dpkg's own ordering: a
// pre-release before its release, a release before later commits.
func TestVersionOrder(t *testing.T) {
	dpkg := deploytest.NeedTool(t, "dpkg")
	order := []string{"abc1234", "v1.0.0-rc.1", "v1.0.0-rc.1-3-gabc1234", "v1.0.0", "v1.0.0-2-gabc1234", "v1.0.0-2-gabc1234-dirty", "v1.0.1"}
	for i := 1; i < len(order); i++ {
		lo, err := Version(order[i-1], "")
		if err != nil {
			t.Fatal(err)
		}
		hi, err := Version(order[i], "")
		if err != nil {
			t.Fatal(err)
		}
		if err := exec.Command(dpkg, "--compare-versions", lo, "lt", hi).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s lt %s: %v (from %s and %s)", lo, hi, err, order[i-1], order[i])
		}
	}
}

func TestArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "arm": "armhf", "ppc64le": "ppc64el"} {
		if got, err := Arch(goarch); err != nil || got != want {
			t.Errorf("Arch(%q) = %q, %v; want %q", goarch, got, err, want)
		}
	}
	if _, err := Arch("wasm"); err == nil {
		t.Error("Arch(wasm) succeeded, want an error")
	}
}

func fixture(t *testing.T) Package {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Package{
		Name:        "demo",
		Version:     "1.0.0",
		Arch:        "amd64",
		Maintainer:  "Demo <demo@example.invalid>",
		Description: "a demo\n more text",
		Files: []File{
			{Src: write("tool", "#!/bin/sh\necho hi\n"), Dst: "/usr/bin/demo", Mode: 0o755},
			{Src: write("conf", "X=1\n"), Dst: "/etc/default/demo", Mode: 0o644, Conf: true},
			{Src: write("a", "a\n"), Dst: "/usr/share/demo/a.txt", Mode: 0o644},
		},
		Scripts: Scripts{PostInst: write("postinst", "#!/bin/sh\nexit 0\n")},
		MTime:   time.Unix(1700000000, 0),
	}
}

func build(t *testing.T, p Package) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReproducible builds the same package twice, with the source files
// touched and the process umask changed in between: the bytes must not move.
// A different MTime must move them, or the first check proves nothing.
func TestWriteReproducible(t *testing.T) {
	p := fixture(t)
	first := build(t, p)
	for _, f := range p.Files {
		if err := os.Chtimes(f.Src, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if second := build(t, p); !bytes.Equal(first, second) {
		t.Fatalf("two builds differ: %x vs %x", sha256.Sum256(first), sha256.Sum256(second))
	}
	p.MTime = p.MTime.Add(time.Second)
	if bytes.Equal(first, build(t, p)) {
		t.Fatal("changing MTime did not change the package: is MTime applied at all?")
	}
}

// TestWriteContents reads the package back with dpkg-deb.
func TestWriteContents(t *testing.T) {
	dpkgDeb := deploytest.NeedTool(t, "dpkg-deb")
	deb := filepath.Join(t.TempDir(), "demo.deb")
	if err := os.WriteFile(deb, build(t, fixture(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dpkgDeb, "--contents", deb)
	cmd.Env = append(os.Environ(), "TZ=UTC") // dpkg-deb prints times in local time
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v\n%s", err, out)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root        18 2023-11-14 22:13 ./usr/bin/demo",
		"-rw-r--r-- root/root         4 2023-11-14 22:13 ./etc/default/demo",
		"drwxr-xr-x root/root         0 2023-11-14 22:13 ./usr/share/demo/",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dpkg-deb --contents lacks %q:\n%s", want, out)
		}
	}
	conf, err := exec.Command(dpkgDeb, "--info", deb, "conffiles").CombinedOutput()
	if err != nil || strings.TrimSpace(string(conf)) != "/etc/default/demo" {
		t.Errorf("conffiles = %q, %v; want /etc/default/demo", conf, err)
	}
}

func TestWriteBadInput(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(*Package)
		wantErr string
	}{
		{"no version", func(p *Package) { p.Version = "" }, "[version]"},
		{"no maintainer", func(p *Package) { p.Maintainer = "" }, "[maintainer]"},
		{"no mtime", func(p *Package) { p.MTime = time.Time{} }, "SOURCE_DATE_EPOCH"},
		{"bad version", func(p *Package) { p.Version = "v1" }, "not a Debian version"},
		{"relative destination", func(p *Package) { p.Files[0].Dst = "usr/bin/demo" }, "not a clean absolute path"},
		{"missing source", func(p *Package) { p.Files[0].Src = "/nonexistent/demo" }, "/nonexistent/demo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := fixture(t)
			c.edit(&p)
			err := Write(&bytes.Buffer{}, p)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Write: %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}
