package build

import (
	"slices"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

func TestStdImports(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":                 "module example.com/m\n",
		"main.go":                "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/m/internal/a\"\n\t_ \"example.com/dep\"\n)\n",
		"main_linux.go":          "package main\n\nimport \"os/signal\"\n",
		"main_windows.go":        "package main\n\nimport \"golang.org/x/sys/windows\"\n\nimport \"syscall\"\n",
		"arm.go":                 "//go:build arm64\n\npackage main\n\nimport \"math/bits\"\n",
		"tagged.go":              "//go:build special\n\npackage main\n\nimport \"expvar\"\n",
		"notag.go":               "//go:build !special\n\npackage main\n\nimport \"log\"\n",
		"newgo.go":               "//go:build go1.99\n\npackage main\n\nimport \"iter\"\n",
		"cgo.go":                 "package main\n\n// int x;\nimport \"C\"\n\nimport \"os/user\"\n",
		"main_test.go":           "package main\n\nimport \"testing\"\n",
		"ignored.go":             "//go:build ignore\n\npackage main\n\nimport \"net/http\"\n",
		"internal/a/a.go":        "package a\n\nimport (\n\t\"strings\"\n\t\"example.com/m/internal/b\"\n)\n",
		"internal/b/b.go":        "package b\n\nimport (\n\t\"sort\"\n\t\"example.com/m/internal/a\"\n)\n",
		"internal/unused/u.go":   "package unused\n\nimport \"net/http\"\n",
		"cmd/x/x.go":             "package main\n\nimport \"bufio\"\n",
		"cmd/x/testdata/t.go":    "package t\n\nimport \"net/http\"\n",
		"cmd/y/y.go":             "package main\n\nimport \"bytes\"\n",
		"cmd/y/vendor/v/v.go":    "package v\n\nimport \"net/http\"\n",
		"cmd/nested/go.mod":      "module example.com/m/cmd/nested\n",
		"cmd/nested/n.go":        "package main\n\nimport \"net/http\"\n",
		"cmd/broken/broken.go":   "package main\n\nimport \"unicode\"\n\nfunc (\n", // its imports are read
		"cmd/broken/fine.go":     "package main\n\nimport \"crypto/sha256\"\n",
		"cmd/twopkgs/a.go":       "package a\n\nimport \"io\"\n",
		"cmd/twopkgs/b.go":       "package b\n\nimport \"errors\"\n",
		"internal/nogo/README":   "no Go here\n",
		"cmd/x/nogo/doc.go":      "//go:build ignore\n\npackage nogo\n",
		"cmd/x/deeper/d.go":      "package deeper\n\nimport \"hash/crc32\"\n",
		"_skipped/s.go":          "package s\n\nimport \"net/http\"\n",
		"cmd/x/deeper/d_test.go": "package deeper\n\nimport \"net/http\"\n",
	})
	mod := gomod.Module{Dir: dir, Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}
	linux := plan.Platform{OS: "linux", Arch: "amd64"}
	tests := []struct {
		name     string
		packages []string
		pl       plan.Platform
		tags     []string
		cgo      string
		want     []string
	}{
		{"root, linux/amd64", []string{"."}, linux, nil, "",
			[]string{"fmt", "log", "os/signal", "runtime", "sort", "strings"}},
		{"root, linux/arm64", []string{"."}, plan.Platform{OS: "linux", Arch: "arm64"}, nil, "",
			[]string{"fmt", "log", "math/bits", "os/signal", "runtime", "sort", "strings"}},
		{"root, windows", []string{"."}, plan.Platform{OS: "windows", Arch: "amd64"}, nil, "",
			[]string{"fmt", "log", "runtime", "sort", "strings", "syscall"}},
		{"tags", []string{"."}, linux, []string{"special"}, "",
			[]string{"expvar", "fmt", "os/signal", "runtime", "sort", "strings"}},
		{"cgo", []string{"."}, linux, nil, plan.CgoOn,
			[]string{"fmt", "log", "os/signal", "os/user", "runtime", "sort", "strings"}},
		{"module path pattern", []string{"example.com/m/cmd/x"}, linux, nil, "",
			[]string{"bufio", "runtime"}},
		{"wildcard", []string{"./cmd/..."}, linux, nil, "",
			[]string{"bufio", "bytes", "crypto/sha256", "errors", "hash/crc32", "io", "runtime", "unicode"}},
		{"wildcard in the middle", []string{"./cmd/.../deeper"}, linux, nil, "",
			[]string{"bufio", "bytes", "crypto/sha256", "errors", "hash/crc32", "io", "runtime", "unicode"}},
		{"several", []string{"./cmd/x", "./cmd/y"}, linux, nil, "",
			[]string{"bufio", "bytes", "runtime"}},
		{"not the module's", []string{"std", "example.com/other/cmd"}, linux, nil, "", nil},
		{"missing", []string{"./missing"}, linux, nil, "", []string{"runtime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan.Plan{Module: mod, GoVersion: "1.26.8", Packages: tt.packages, Platforms: []plan.Platform{tt.pl}, Tags: tt.tags, Cgo: tt.cgo}
			got, err := StdImports(p, tt.pl)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("StdImports = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStdStepsPGO: a profile beside a main package changes how its standard
// library compiles, so there are no std steps to run.
func TestStdStepsPGO(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":            "module example.com/m\n",
		"cmd/a/main.go":     "package main\n\nimport \"fmt\"\n",
		"cmd/b/main.go":     "package main\n\nimport \"fmt\"\n",
		"cmd/b/default.pgo": "",
	})
	mod := gomod.Module{Dir: dir, Path: "example.com/m", Go: "1.26", Toolchain: "1.26.8"}
	for _, tt := range []struct {
		packages []string
		want     int
	}{
		{[]string{"./cmd/a"}, 1},
		{[]string{"./cmd/b"}, 0},
		{[]string{"./cmd/..."}, 0},
	} {
		p := plan.Plan{Module: mod, GoVersion: "1.26.8", Packages: tt.packages, Platforms: []plan.Platform{{OS: "linux", Arch: "amd64"}}, ModMode: "readonly"}
		steps, err := StdSteps(p, plan.ContainerLayout)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != tt.want {
			t.Errorf("%v: %d std steps, want %d", tt.packages, len(steps), tt.want)
		}
	}
}

func TestReleaseTags(t *testing.T) {
	for _, tt := range []struct {
		version string
		last    string
		n       int
	}{
		{"1.26.8", "go1.26", 26},
		{"1.27rc1", "go1.27", 27},
		{"1.3beta2", "go1.3", 3},
		{"junk", "", 0},
	} {
		got := releaseTags(tt.version)
		if len(got) != tt.n || (tt.n > 0 && (got[0] != "go1.1" || got[len(got)-1] != tt.last)) {
			t.Errorf("releaseTags(%q) = %q, want go1.1 ... %s", tt.version, got, tt.last)
		}
	}
}
