package build

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// ModuleImports returns, sorted and without repeats, every import path named
// by a non-test .go file of the module rooted at dir, whatever its build
// constraints, skipping what the go command skips (vendor, testdata, names
// starting with . or _, nested modules). It is a superset of what the
// module's own packages can need from other modules: the dependency steps
// fetch only the modules those imports lead to, so their stamp must change
// when the imports do, even with go.mod untouched. Files that do not parse are
// left to the compiler to report.
func ModuleImports(dir string) ([]string, error) {
	seen := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == dir {
				return nil
			}
			if skipDir(p, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return nil
		}
		for _, imp := range f.Imports {
			seen[strings.Trim(imp.Path.Value, "`\"")] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, nil
}
