package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// TestStamp: a saved stamp is current until an input, the record or an
// output changes; a file's time is not an input.
func TestStamp(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755)
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.26.8\n")
	write("main.go", "package main\n\nfunc main() {}\n")
	write("vendor/modules.txt", "# none\n")
	p := plan.Plan{
		Module:    gomod.Module{Dir: root, Path: "example.com/m"},
		GoVersion: "1.26.8",
		Platforms: []plan.Platform{{OS: "linux", Arch: "amd64"}},
		CacheDir:  filepath.Join(t.TempDir(), "go1.26.8"),
		OutDir:    filepath.Join(root, "dist"),
		ModMode:   "readonly",
	}
	rec := Record{ToolVersion: "v1", ImageRef: "golang:1.26.8", ImageID: "sha256:aa"}
	ctx := context.Background()
	stampOf := func(p plan.Plan, rec Record) stamp {
		t.Helper()
		st, err := newStamp(ctx, p, rec, "docker")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// A build: one output, its SHA256SUMS and manifest, then the stamp.
	write("dist/m_linux_amd64", "binary")
	sum, n, _ := manifest.HashFile(filepath.Join(p.OutDir, "m_linux_amd64"))
	m := record(p, rec, "docker")
	m.Outputs = []manifest.Output{{Name: "m_linux_amd64", Package: "m", Platform: "linux/amd64", Size: n, SHA256: sum}}
	write("dist/"+manifest.SumsFile, string(m.Sums()))
	write("dist/"+manifest.ManifestFile, string(m.Marshal()))
	st := stampOf(p, rec)
	if st.current() {
		t.Fatal("current before it was saved")
	}
	if err := st.save(m); err != nil {
		t.Fatal(err)
	}
	if !stampOf(p, rec).current() {
		t.Fatal("not current right after save")
	}

	os.Chtimes(filepath.Join(root, "main.go"), st0, st0)
	if !stampOf(p, rec).current() {
		t.Error("a new mtime made it stale")
	}
	changes := []struct {
		name   string
		change func() (undo func())
		p      func(plan.Plan) plan.Plan
		rec    func(Record) Record
	}{
		{name: "source edited", change: func() func() {
			write("main.go", "package main\n\nfunc main() { println() }\n")
			return func() { write("main.go", "package main\n\nfunc main() {}\n") }
		}},
		{name: "file added", change: func() func() {
			write("extra.go", "package main\n")
			return func() { os.Remove(filepath.Join(root, "extra.go")) }
		}},
		{name: "vendor edited", change: func() func() {
			write("vendor/modules.txt", "# one\n")
			return func() { write("vendor/modules.txt", "# none\n") }
		}},
		{name: "output damaged", change: func() func() {
			write("dist/m_linux_amd64", "damaged")
			return func() { write("dist/m_linux_amd64", "binary") }
		}},
		{name: "SHA256SUMS edited", change: func() func() {
			write("dist/"+manifest.SumsFile, string(m.Sums())+"\n")
			return func() { write("dist/"+manifest.SumsFile, string(m.Sums())) }
		}},
		{name: "version", p: func(p plan.Plan) plan.Plan { p.Version = "v2"; return p }},
		{name: "platforms", p: func(p plan.Plan) plan.Plan {
			p.Platforms = append(p.Platforms, plan.Platform{OS: "linux", Arch: "arm64"})
			return p
		}},
		{name: "tags", p: func(p plan.Plan) plan.Plan { p.Tags = []string{"x"}; return p }},
		{name: "knobs", p: func(p plan.Plan) plan.Plan { p.Knobs = []string{"GOAMD64=v3"}; return p }},
		{name: "packages", p: func(p plan.Plan) plan.Plan { p.Packages = []string{"./cmd/..."}; return p }},
		{name: "source revision", p: func(p plan.Plan) plan.Plan { p.Source.Describe = "v1.0.0"; return p }},
		{name: "image", rec: func(r Record) Record { r.ImageID = "sha256:bb"; return r }},
		{name: "tool", rec: func(r Record) Record { r.ToolVersion = "v2"; return r }},
	}
	for _, c := range changes {
		p2, rec2 := p, rec
		undo := func() {}
		if c.change != nil {
			undo = c.change()
		}
		if c.p != nil {
			p2 = c.p(p)
		}
		if c.rec != nil {
			rec2 = c.rec(rec)
		}
		if stampOf(p2, rec2).current() {
			t.Errorf("%s: still current", c.name)
		}
		undo()
		if !stampOf(p, rec).current() {
			t.Fatalf("%s undone: not current", c.name)
		}
	}
}

var st0 = mustTime("2030-01-01T00:00:00Z")

// BenchmarkSourceDigest hashes this repository's source set, the part of
// an up-to-date check that grows with the module.
func BenchmarkSourceDigest(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	p := plan.Plan{Module: gomod.Module{Dir: root}, OutDir: filepath.Join(root, "dist")}
	for b.Loop() {
		if _, err := sourceDigest(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
