package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
	"github.com/gohttp-smol/gohttp-smol/internal/verify"
)

// gitModule is helloModule committed to a new git repository.
func gitModule(t *testing.T) string {
	t.Helper()
	return gitModuleWith(t, goMod)
}

// gitModuleWith is gitModule with another go.mod.
func gitModuleWith(t *testing.T, gomod string) string {
	t.Helper()
	dir := helloModule(t)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("/dist/\n"), 0o644)
	gitCommit(t, dir, "v0.1.0")
	return dir
}

// gitCommit makes dir a git repository with one commit of everything in
// it, tagged tag unless tag is "".
func gitCommit(t *testing.T, dir, tag string) {
	t.Helper()
	cmds := [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-qm", "commit"}}
	if tag != "" {
		cmds = append(cmds, []string{"tag", tag})
	}
	for _, args := range cmds {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestVerify builds a module, verifies it (PASS, with the JSON report), then
// tampers with the output and its records consistently so that only a
// rebuild can tell: verify must FAIL, name both hashes, keep the rebuild.
func TestVerify(t *testing.T) {
	needDocker(t)
	dir := gitModule(t)
	mustOK(t, smol(t, dir, nil, "build", "--platform", "linux/amd64,linux/arm64", "./cmd/hello"), "build")

	r := smol(t, dir, nil, "verify", "--json")
	mustOK(t, r, "verify")
	var rep verify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	// Each output twice: the file in dist/, then its rebuild.
	if len(rep.Outputs) != 4 || !rep.OK() || len(rep.Variations) != 2 || rep.Variations[0].Name != verify.Shipped {
		t.Fatalf("report %+v, want 2 outputs passing in dist and in the container", rep)
	}
	for _, o := range rep.Outputs {
		if o.Status != verify.Pass || o.Expected != o.Got || o.Expected == "" {
			t.Errorf("record %+v", o)
		}
	}
	if !strings.Contains(r.stderr, "PASS hello_linux_arm64 [container]") {
		t.Errorf("no PASS line in the log:\n%s", r.stderr)
	}
	if os.Getuid() == 0 && !strings.Contains(r.stderr, "as uid 12345") {
		t.Errorf("verify as root did not rebuild as another uid:\n%s", r.stderr)
	}

	// A variation that cannot run is SKIP with its reason, never a pass;
	// another image of the same Go version gives the same bytes.
	tag := "smol-test/verify-image:1"
	if out, err := exec.Command("docker", "tag", imageFor(t, dir), tag).CombinedOutput(); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", tag).Run()
	r = smol(t, dir, nil, "verify", "--image", "smol-test/absent:1", "--image", tag)
	mustOK(t, r, "verify with an absent and a present extra image")
	for _, want := range []string{"SKIP image:smol-test/absent:1: ", "cannot be pulled", "PASS hello_linux_amd64 [image:" + tag + "]"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stderr)
		}
	}

	// Replace the amd64 binary by a different (valid) program and rewrite
	// SHA256SUMS and the manifest to match, as an attacker would.
	dist := filepath.Join(dir, "dist")
	name := "hello_linux_amd64"
	fake := []byte("\x7fELF not the real thing")
	os.WriteFile(filepath.Join(dist, name), fake, 0o755)
	m, err := manifest.Read(filepath.Join(dist, manifest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	sum, size, _ := manifest.HashFile(filepath.Join(dist, name))
	for i := range m.Outputs {
		if m.Outputs[i].Name == name {
			m.Outputs[i].SHA256, m.Outputs[i].Size = sum, size
		}
	}
	os.WriteFile(filepath.Join(dist, manifest.ManifestFile), m.Marshal(), 0o644)
	os.WriteFile(filepath.Join(dist, manifest.SumsFile), m.Sums(), 0o644)

	r = smol(t, dir, nil, "verify")
	if r.code != 1 {
		t.Fatalf("verify of a tampered output: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"FAIL " + name + " [container] expected sha256 " + sum, "PASS hello_linux_arm64", "diffoscope "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stderr)
		}
	}
	// The kept rebuild is the real program.
	for _, line := range strings.Split(r.stderr, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "diffoscope" {
			if runtime.GOARCH == "amd64" {
				if out, err := exec.Command(f[2]).Output(); err != nil || !strings.HasPrefix(string(out), "hello ") {
					t.Errorf("kept rebuild %s: %q %v", f[2], out, err)
				}
			}
			tree.RemoveAll(filepath.Dir(filepath.Dir(filepath.Dir(f[2]))))
		}
	}
}

// TestVerifyRefuses checks the bad inputs verify must refuse before it
// rebuilds anything.
func TestVerifyRefuses(t *testing.T) {
	needDocker(t)
	dir := gitModule(t)
	mustOK(t, smol(t, dir, nil, "build", "./cmd/hello"), "build")
	dist := filepath.Join(dir, "dist")
	good := readFile(t, filepath.Join(dist, manifest.ManifestFile))
	goodSums := readFile(t, filepath.Join(dist, manifest.SumsFile))
	restore := func() {
		os.WriteFile(filepath.Join(dist, manifest.ManifestFile), []byte(good), 0o644)
		os.WriteFile(filepath.Join(dist, manifest.SumsFile), []byte(goodSums), 0o644)
	}
	edit := func(f func(m *manifest.Manifest)) {
		m, err := manifest.Parse([]byte(good))
		if err != nil {
			t.Fatal(err)
		}
		f(&m)
		os.WriteFile(filepath.Join(dist, manifest.ManifestFile), m.Marshal(), 0o644)
	}
	tests := []struct {
		name  string
		setup func()
		want  string
	}{
		{"no manifest", func() { os.Remove(filepath.Join(dist, manifest.ManifestFile)) }, `run "smol build" first`},
		{"other smol version", func() { edit(func(m *manifest.Manifest) { m.Tool.Version = "v0.0.1-other" }) }, "written by smol v0.0.1-other"},
		{"other schema", func() {
			os.WriteFile(filepath.Join(dist, manifest.ManifestFile), []byte(strings.Replace(good, manifest.Schema, "smol.manifest/v0", 1)), 0o644)
		}, `schema "smol.manifest/v0"`},
		{"hand-edited", func() {
			os.WriteFile(filepath.Join(dist, manifest.ManifestFile), []byte(strings.Replace(good, "\n  ", "\n   ", 1)), 0o644)
		}, "not in the form smol writes"},
		{"sums disagree", func() {
			os.WriteFile(filepath.Join(dist, manifest.SumsFile), []byte(strings.Repeat("0", 64)+"  hello_"+runtime.GOOS+"_"+runtime.GOARCH+"\n"), 0o644)
		}, "disagree"},
		{"flags edited", func() { edit(func(m *manifest.Manifest) { m.Flags = append(m.Flags, "-race") }) }, "not what smol plans"},
		{"source changed", func() {
			os.WriteFile(filepath.Join(dir, "NEWS"), []byte("x"), 0o644)
			for _, args := range [][]string{{"add", "NEWS"}, {"commit", "-qm", "news"}} {
				cmd := exec.Command("git", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
				cmd.Run()
			}
		}, "source changed since the build"},
		{"no room", func() {}, "no room for the scratch copy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore()
			tt.setup()
			env := []string(nil)
			if tt.name == "no room" {
				// A tiny tmpfs is the honest way to be out of space.
				small := t.TempDir()
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
					t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
				}
				defer exec.Command("umount", small).Run()
				env = []string{"TMPDIR=" + small}
				exec.Command("git", "-C", dir, "reset", "-q", "--hard", "HEAD~1").Run()
			}
			r := smol(t, dir, env, "verify")
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want non-zero and %q in:\n%s", r.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "smol: build ") {
				t.Errorf("verify rebuilt before refusing:\n%s", r.stderr)
			}
		})
	}
}

// TestVerifyShippedFiles builds a module that has only a go 1.21 line with
// --go, so that verify must rebuild with the recorded pin, then checks that
// verify judges the files in dist/ as well as the rebuild: a flipped byte
// fails the file by name, a deleted one is reported missing.
func TestVerifyShippedFiles(t *testing.T) {
	needDocker(t)
	dir := gitModuleWith(t, "module example.com/hello\n\ngo 1.21\n")
	mustOK(t, smol(t, dir, nil, "build", "--go", "1.26.8", "--platform", "linux/amd64,linux/arm64", "./cmd/hello"), "build --go")
	dist := filepath.Join(dir, "dist")
	m, err := manifest.Read(filepath.Join(dist, manifest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.GoPin != "1.26.8" || m.GoVersion != "1.26.8" {
		t.Errorf("manifest go_version %q go_pin %q, want both 1.26.8", m.GoVersion, m.GoPin)
	}

	// Another pin is refused before anything is rebuilt.
	r := smol(t, dir, nil, "verify", "--go", "1.26.7")
	if r.code != 1 || !strings.Contains(r.stderr, "--go (or SMOL_GO) asks for 1.26.7, but the build used go1.26.8") || strings.Contains(r.stderr, "smol: build ") {
		t.Errorf("verify --go 1.26.7: exit %d\n%s", r.code, r.stderr)
	}

	// Flip one byte of the arm64 binary and delete the amd64 one.
	arm := filepath.Join(dist, "hello_linux_arm64")
	b, err := os.ReadFile(arm)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	os.WriteFile(arm, b, 0o755)
	os.Remove(filepath.Join(dist, "hello_linux_amd64"))

	r = smol(t, dir, nil, "verify", "--json")
	if r.code != 1 {
		t.Fatalf("verify of a tampered dist/: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"FAIL hello_linux_arm64 [dist] dist/hello_linux_arm64 has sha256 ",
		"FAIL hello_linux_amd64 [dist] missing from dist, which SHA256SUMS and the manifest list",
		// The rebuild, with the recorded pin and no --go, matches
		// SHA256SUMS, and still does not pass the shipped files.
		"FAIL hello_linux_arm64 [container] rebuilt sha256 " + m.Outputs[1].SHA256 + " matches SHA256SUMS, but dist/hello_linux_arm64 differs",
		"FAIL hello_linux_amd64 [container] rebuilt sha256 " + m.Outputs[0].SHA256 + " matches SHA256SUMS, but dist/hello_linux_amd64 is missing",
		"go1.26.8",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("log lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "PASS hello_linux_arm64") || strings.Contains(r.stderr, "PASS hello_linux_amd64") {
		t.Errorf("a tampered or missing output passed:\n%s", r.stderr)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if rep.OK() || len(rep.Variations) != 2 || rep.Variations[0].Name != verify.Shipped || rep.Variations[0].Status != verify.Fail {
		t.Errorf("report variations %+v", rep.Variations)
	}
}
