package build

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModuleImports(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":             "module example.com/m\n",
		"main.go":            "package main\n\nimport (\n\t\"fmt\"\n\t_ \"example.com/dep/a\"\n)\n",
		"cmd/x/x_windows.go": "//go:build windows\n\npackage main\n\nimport \"golang.org/x/sys/windows\"\n",
		"cmd/x/x_test.go":    "package main\n\nimport \"example.com/testonly\"\n",
		"testdata/t.go":      "package t\n\nimport \"example.com/skipped/testdata\"\n",
		"vendor/v/v.go":      "package v\n\nimport \"example.com/skipped/vendor\"\n",
		".hidden/h.go":       "package h\n\nimport \"example.com/skipped/hidden\"\n",
		"nested/go.mod":      "module example.com/m/nested\n",
		"nested/n.go":        "package n\n\nimport \"example.com/skipped/nested\"\n",
		"broken/broken.go":   "package broken\n\nimport (\n",
		"cmd/x/raw.go":       "package main\n\nimport `example.com/raw`\n",
	})
	got, err := ModuleImports(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.com/dep/a", "example.com/raw", "fmt", "golang.org/x/sys/windows"}
	if !slices.Equal(got, want) {
		t.Errorf("ModuleImports = %q, want %q", got, want)
	}
}

// TestDepsStamp: the stamp changes with anything that changes what the
// dependency steps fetch, and with nothing else.
func TestDepsStamp(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":          "module example.com/m\n\ngo 1.26\n\ntoolchain go1.26.8\n",
		"cmd/a/main.go":   "package main\n\nfunc main() {}\n",
		"cmd/a/helper.go": "package main\n",
	})
	mod := gomod.Module{Dir: dir, Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}
	stamp := func(o plan.Options) string {
		t.Helper()
		o.CacheDir = "/c"
		if o.Packages == nil {
			o.Packages = []string{"./cmd/a"}
		}
		if o.Platforms == "" {
			o.Platforms = "linux/amd64"
		}
		p, err := plan.New(mod, source.Info{Describe: "v1"}, o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := depsStamp(p, p.BuildDepsSteps(plan.ContainerLayout), "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := stamp(plan.Options{})
	if again := stamp(plan.Options{Version: "v2", LDFlags: "-X main.x=y"}); again != base {
		t.Error("the stamp changed with the version and linker flags, which fetch nothing")
	}
	for name, o := range map[string]plan.Options{
		"platforms": {Platforms: "linux/amd64,linux/arm64"},
		"packages":  {Packages: []string{"./cmd/a", "./cmd/b"}},
		"tags":      {Tags: "netgo"},
		"proxy":     {Proxy: map[string]string{"GOPROXY": "http://proxy.internal"}},
	} {
		if stamp(o) == base {
			t.Errorf("the stamp ignores the %s", name)
		}
	}
	writeTree(t, dir, map[string]string{"cmd/a/helper.go": "package main\n\nimport _ \"example.com/dep\"\n"})
	if stamp(plan.Options{}) == base {
		t.Error("the stamp ignores a new import with go.mod unchanged")
	}
}
