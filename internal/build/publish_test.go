package build

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// publishFixture is a module directory with an output directory and a way
// to publish a set of fake binaries into it as a build would.
type publishFixture struct {
	t *testing.T
	p plan.Plan
	n int // scratch directories made so far
}

func newPublishFixture(t *testing.T) *publishFixture {
	root := t.TempDir()
	p := plan.Plan{
		Module:    gomod.Module{Dir: root, Path: "example.com/m"},
		GoVersion: "1.26.8",
		Platforms: []plan.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}},
		OutDir:    filepath.Join(root, "dist"),
		ModMode:   "readonly",
	}
	if err := os.MkdirAll(p.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &publishFixture{t: t, p: p}
}

// publish writes each name (NAME_OS_ARCH) with content into a fresh scratch
// directory and publishes them; it returns publish's error and log.
func (f *publishFixture) publish(files map[string]string) (string, error) {
	f.t.Helper()
	f.n++
	scratch := filepath.Join(f.p.OutDir, fmt.Sprintf(".smol-%d", f.n))
	var outs []built
	for name, content := range files {
		dir := filepath.Join(scratch, "linux_amd64")
		os.MkdirAll(dir, 0o755)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			f.t.Fatal(err)
		}
		sum, n, err := manifest.HashFile(path)
		if err != nil {
			f.t.Fatal(err)
		}
		parts := strings.Split(name, "_")
		outs = append(outs, built{path, manifest.Output{Name: name, Package: parts[0], Platform: parts[1] + "/" + parts[2], Size: n, SHA256: sum}})
	}
	var log bytes.Buffer
	_, err := publish(f.p, Record{ToolVersion: "test"}, "docker", outs, scratch, &log)
	os.RemoveAll(scratch)
	return log.String(), err
}

// snapshot returns every entry of the output directory: file contents, and
// "<dir>" for directories.
func (f *publishFixture) snapshot() map[string]string {
	f.t.Helper()
	entries, err := os.ReadDir(f.p.OutDir)
	if err != nil {
		f.t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			m[e.Name()] = "<dir>"
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.p.OutDir, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func sameSnapshot(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %.40q, want %.40q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: there, and was not", k)
		}
	}
}

var firstSet = map[string]string{
	"hello_linux_amd64": "hello amd64 v1",
	"hello_linux_arm64": "hello arm64 v1",
	"bye_linux_amd64":   "bye amd64 v1",
}

// TestPublishRemovesStale: a build with fewer outputs than the last removes
// the outputs the last one wrote, keeps those changed since and files smol
// never wrote, and leaves SHA256SUMS listing exactly the outputs present.
func TestPublishRemovesStale(t *testing.T) {
	f := newPublishFixture(t)
	if _, err := f.publish(firstSet); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(f.p.OutDir, "notes.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(f.p.OutDir, "bye_linux_amd64"), []byte("edited by hand"), 0o755)

	log, err := f.publish(map[string]string{"hello_linux_amd64": "hello amd64 v2"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.snapshot()
	sameSnapshot(t, got, map[string]string{
		"hello_linux_amd64":   "hello amd64 v2",
		"bye_linux_amd64":     "edited by hand",
		"notes.txt":           "mine",
		manifest.SumsFile:     got[manifest.SumsFile],
		manifest.ManifestFile: got[manifest.ManifestFile],
	})
	sums, err := manifest.ParseSums([]byte(got[manifest.SumsFile]))
	if err != nil || len(sums) != 1 || sums["hello_linux_amd64"] == "" {
		t.Errorf("SHA256SUMS = %q (%v), want only hello_linux_amd64", got[manifest.SumsFile], err)
	}
	for _, want := range []string{
		"smol: removed dist/hello_linux_arm64: the previous build wrote it and this one did not",
		"smol: kept bye_linux_amd64: the previous manifest lists it, but it has changed since",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestPublishRollbackOnRealFailure: a directory where a new output must go
// makes the rename fail after others have been replaced; everything goes
// back as it was.
func TestPublishRollbackOnRealFailure(t *testing.T) {
	f := newPublishFixture(t)
	if _, err := f.publish(firstSet); err != nil {
		t.Fatal(err)
	}
	// Sorted by name, zzz_linux_amd64 is published after both others.
	os.MkdirAll(filepath.Join(f.p.OutDir, "zzz_linux_amd64", "x"), 0o755)
	before := f.snapshot()
	_, err := f.publish(map[string]string{
		"bye_linux_amd64":   "bye amd64 v2",
		"hello_linux_amd64": "hello amd64 v2",
		"zzz_linux_amd64":   "zzz v2",
	})
	if err == nil || !strings.Contains(err.Error(), "publish zzz_linux_amd64") || !strings.Contains(err.Error(), "is unchanged") {
		t.Fatalf("err = %v, want the failed rename and that nothing changed", err)
	}
	sameSnapshot(t, f.snapshot(), before)
}

// TestPublishRollbackEachStep makes every rename of a publish fail in turn
// (outputs replaced, new, and removed, then SHA256SUMS and the manifest):
// whichever fails, the output directory is as it was.
func TestPublishRollbackEachStep(t *testing.T) {
	next := map[string]string{
		"hello_linux_amd64": "hello amd64 v2", // replaces
		"new_linux_amd64":   "new v2",         // is new
	} // and bye_linux_amd64, hello_linux_arm64 are removed
	for _, noLinks := range []bool{false, true} {
		for k := 1; ; k++ {
			f := newPublishFixture(t)
			if _, err := f.publish(firstSet); err != nil {
				t.Fatal(err)
			}
			before := f.snapshot()
			calls := 0
			rename = func(from, to string) error {
				calls++
				if calls == k {
					return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("injected failure")}
				}
				return os.Rename(from, to)
			}
			if noLinks {
				link = func(string, string) error { return errors.New("no links here") }
			}
			_, err := f.publish(next)
			rename, link = os.Rename, os.Link
			if err == nil {
				if k < 4 {
					t.Fatalf("publish made only %d renames", k-1)
				}
				break // every rename has been made to fail once
			}
			if !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("rename %d: %v", k, err)
			}
			t.Run(fmt.Sprintf("links=%v/rename%d", !noLinks, k), func(t *testing.T) {
				sameSnapshot(t, f.snapshot(), before)
			})
		}
	}
}
