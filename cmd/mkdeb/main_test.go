package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	deploytest.Cleanup()
	os.Exit(code)
}

const (
	deployDir = "../../deploy"
	// debVersion is deploytest.Version the way Debian spells it.
	debVersion = "0.0.0~deploytest"
)

var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]

func newDist(t *testing.T) string {
	t.Helper()
	if debArch == "" {
		t.Skipf("no .deb test expectations for GOARCH=%s", runtime.GOARCH)
	}
	return deploytest.Dist(t)
}

func mkdeb(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func debPath(dist string) string {
	return filepath.Join(dist, "gohttp-smol_"+debVersion+"_"+debArch+".deb")
}

// TestReproducible builds the package twice: once from the repository's
// deploy/ and once from a copy with fresh file times, under another umask.
// Both must have the same sha256, and -check must agree.
func TestReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	dist := newDist(t)
	out, _, err := mkdeb(t, "-dist", dist, "-deploy", deployDir)
	if err != nil {
		t.Fatal(err)
	}
	want := debPath(dist)
	if !strings.Contains(out, "wrote "+want) {
		t.Errorf("stdout %q does not name %s", out, want)
	}
	first, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}

	copyDir := filepath.Join(t.TempDir(), "deploy")
	if out, err := exec.Command("cp", "-r", deployDir, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	old := syscallUmask(0o077)
	second := filepath.Join(t.TempDir(), "second.deb")
	_, _, err = mkdeb(t, "-dist", dist, "-deploy", copyDir, "-o", second)
	syscallUmask(old)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := sha256.Sum256(first), sha256.Sum256(b)
	if s1 != s2 {
		t.Fatalf("two builds differ: %x and %x", s1, s2)
	}
	t.Logf("both builds: sha256 %x, %d bytes", s1, len(first))

	if out, _, err := mkdeb(t, "-dist", dist, "-deploy", deployDir, "-check"); err != nil || !strings.Contains(out, "reproduced") {
		t.Errorf("mkdeb -check = %q, %v; want success", out, err)
	}
	if err := os.WriteFile(want, append(first, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mkdeb(t, "-dist", dist, "-deploy", deployDir, "-check"); err == nil || !strings.Contains(err.Error(), "not reproducible") {
		t.Errorf("mkdeb -check on an altered package: %v, want a \"not reproducible\" error", err)
	}
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(deploytest.NeedTool(t, "dpkg-deb"), args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestContents reads the package with dpkg-deb: the control fields, the
// conffile, the maintainer scripts, and each file with its owner and mode.
func TestContents(t *testing.T) {
	deploytest.NeedTool(t, "dpkg-deb")
	dist := newDist(t)
	if _, _, err := mkdeb(t, "-dist", dist, "-deploy", deployDir); err != nil {
		t.Fatal(err)
	}
	deb := debPath(dist)

	info := dpkgDeb(t, "--info", deb)
	for _, re := range []string{
		`(?m)^ Package: gohttp-smol$`,
		`(?m)^ Version: ` + regexp.QuoteMeta(debVersion) + `$`,
		`(?m)^ Architecture: ` + debArch + `$`,
		`(?m)^ Maintainer: .+<.+@.+>$`,
		`(?m)^ Installed-Size: [0-9]+$`,
		`(?m)^ Section: httpd$`,
		`(?m)^ Depends: procps$`,
		`(?m)^ Homepage: https://`,
		`(?m)^ Description: static web server`,
		// "*" marks an executable control member.
		`(?m)^ +[0-9]+ bytes, +[0-9]+ lines +\* +postinst +#!/bin/sh$`,
		`(?m)^ +[0-9]+ bytes, +[0-9]+ lines +\* +prerm +#!/bin/sh$`,
		`(?m)^ +[0-9]+ bytes, +[0-9]+ lines +\* +postrm +#!/bin/sh$`,
	} {
		if !regexp.MustCompile(re).MatchString(info) {
			t.Errorf("dpkg-deb --info: no line matching %s in:\n%s", re, info)
		}
	}
	if got := strings.TrimSpace(dpkgDeb(t, "--info", deb, "conffiles")); got != "/etc/default/gohttp-smol" {
		t.Errorf("conffiles = %q, want /etc/default/gohttp-smol", got)
	}

	contents := dpkgDeb(t, "--contents", deb)
	for _, want := range []struct{ mode, path string }{
		{"-rwxr-xr-x", "./usr/bin/gohttp-smol"},
		{"-rw-r--r--", "./lib/systemd/system/gohttp-smol.service"},
		{"-rw-r--r--", "./lib/systemd/system/gohttp-smol.socket"},
		{"-rw-r--r--", "./lib/systemd/system/gohttp-smol-https.service"},
		{"-rw-r--r--", "./lib/systemd/system/gohttp-smol-https.socket"},
		{"-rw-r--r--", "./lib/systemd/system/gohttp-smol-http.socket"},
		{"-rw-r--r--", "./etc/default/gohttp-smol"},
		{"-rw-r--r--", "./usr/share/gohttp-smol/index.html"},
		{"drwxr-xr-x", "./lib/systemd/system/"},
	} {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want.mode) + ` root/root +[0-9]+ 2023-11-14 22:13 ` + regexp.QuoteMeta(want.path) + `$`)
		if !re.MatchString(contents) {
			t.Errorf("dpkg-deb --contents: no %s %s owned by root/root dated 2023-11-14 22:13 in:\n%s", want.mode, want.path, contents)
		}
	}
	if n := strings.Count(strings.TrimSpace(contents), "\n") + 1; n > 19 {
		t.Errorf("dpkg-deb --contents: %d entries, expected the eight files and their directories:\n%s", n, contents)
	}
}

// TestUnpackedServes unpacks the package with dpkg -x and runs the binary
// from there, serving the page the package ships.
func TestUnpackedServes(t *testing.T) {
	dpkg := deploytest.NeedTool(t, "dpkg")
	dist := newDist(t)
	if _, _, err := mkdeb(t, "-dist", dist, "-deploy", deployDir); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if out, err := exec.Command(dpkg, "-x", debPath(dist), root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x: %v\n%s", err, out)
	}
	bin := filepath.Join(root, "usr/bin/gohttp-smol")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ver, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(ver), deploytest.Version) {
		t.Errorf("gohttp-smol --version = %q, %v; want it to name %s", ver, err, deploytest.Version)
	}

	addr := deploytest.FreeAddr(t)
	p := deploytest.Start(t, exec.Command(bin, "--addr", addr, filepath.Join(root, "usr/share/gohttp-smol")))
	body := deploytest.WaitOK(t, "http://"+addr+"/", 10*time.Second, p.Done, p.Output)
	if !strings.Contains(body, "gohttp-smol is running") {
		t.Errorf("GET / = %q, want the packaged index.html", body)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name    string
		setup   func(t *testing.T, dist string) []string
		env     string
		wantErr string
	}{
		{"no manifest", func(t *testing.T, dist string) []string {
			os.Remove(filepath.Join(dist, manifest.ManifestFile))
			return nil
		}, "", "run `make build`"},
		{"binary changed since the build", func(t *testing.T, dist string) []string {
			f, err := os.OpenFile(filepath.Join(dist, "gohttp-smol_linux_"+runtime.GOARCH), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("x"))
			f.Close()
			return nil
		}, "", "but the manifest records"},
		{"architecture not built", func(t *testing.T, dist string) []string {
			return []string{"-arch", map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]}
		}, "", "has no linux/"},
		{"unknown architecture", func(t *testing.T, dist string) []string { return []string{"-arch", "wasm"} }, "", "no Debian architecture"},
		{"bad SOURCE_DATE_EPOCH", func(t *testing.T, dist string) []string { return nil }, "yesterday", "SOURCE_DATE_EPOCH"},
		{"bad version", func(t *testing.T, dist string) []string { return []string{"-version", "v1"} }, "", "not a Debian version"},
		{"missing unit file", func(t *testing.T, dist string) []string { return []string{"-deploy", t.TempDir()} }, "", "gohttp-smol.service"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", c.env)
			dist := newDist(t)
			args := append([]string{"-dist", dist, "-deploy", deployDir}, c.setup(t, dist)...)
			_, _, err := mkdeb(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("mkdeb %v: %v, want an error containing %q", args, err, c.wantErr)
			}
			debs, _ := filepath.Glob(filepath.Join(dist, "*.deb*"))
			hidden, _ := filepath.Glob(filepath.Join(dist, ".*"))
			if len(debs)+len(hidden) > 0 {
				t.Errorf("a failed run left files behind: %v %v", debs, hidden)
			}
		})
	}
	t.Run("usage", func(t *testing.T) {
		_, stderr, err := mkdeb(t, "extra")
		if err != cli.ErrUsage || !strings.Contains(stderr, "usage: mkdeb") {
			t.Errorf("mkdeb extra: %v, stderr %q; want cli.ErrUsage and the usage text", err, stderr)
		}
	})
}

// TestBinaryFlag packages a binary named on the command line, with no
// manifest: version and time come from -version and SOURCE_DATE_EPOCH.
func TestBinaryFlag(t *testing.T) {
	dpkgDeb(t, "--version")
	dir := t.TempDir()
	out := filepath.Join(dir, "x.deb")
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if _, _, err := mkdeb(t, "-dist", dir, "-deploy", deployDir, "-binary", deploytest.Server(t), "-o", out); err == nil || !strings.Contains(err.Error(), "-binary needs -version") {
		t.Fatalf("-binary without -version: %v, want an error asking for -version", err)
	}
	if _, _, err := mkdeb(t, "-dist", dir, "-deploy", deployDir, "-binary", deploytest.Server(t), "-version", "2.0.0", "-o", out); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Fatalf("-binary without SOURCE_DATE_EPOCH: %v, want an error asking for it", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if _, _, err := mkdeb(t, "-dist", dir, "-deploy", deployDir, "-binary", deploytest.Server(t), "-version", "2.0.0", "-o", out); err != nil {
		t.Fatal(err)
	}
	if info := dpkgDeb(t, "--field", out, "Version"); strings.TrimSpace(info) != "2.0.0" {
		t.Errorf("Version = %q, want 2.0.0", info)
	}
}
