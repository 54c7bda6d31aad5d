package staticbin

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck builds real binaries with the host toolchain: a pure-Go static
// one, and a cgo one that links libc dynamically.
func TestCheck(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	write("go.mod", "module x\ngo 1.26\n")
	os.MkdirAll(filepath.Join(dir, "pure"), 0o755)
	os.MkdirAll(filepath.Join(dir, "cgo"), 0o755)
	write("pure/main.go", "package main\nfunc main() { println(1) }\n")
	write("cgo/main.go", "package main\n// #include <stdlib.h>\nimport \"C\"\nfunc main() { C.abs(1) }\n")
	build := func(pkg, cgo string) string {
		out := filepath.Join(dir, pkg+".bin")
		cmd := exec.Command(gobin, "build", "-o", out, "./"+pkg)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("cannot build %s (cgo=%s): %v\n%s", pkg, cgo, err, b)
		}
		return out
	}
	if err := Check(build("pure", "0")); err != nil {
		t.Errorf("pure Go binary: %v", err)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc for the cgo case")
	}
	err = Check(build("cgo", "1"))
	if !errors.Is(err, ErrDynamic) || !strings.Contains(err.Error(), "dynamic loader") {
		t.Errorf("cgo binary: error %v, want ErrDynamic naming the loader", err)
	}
	notELF := filepath.Join(dir, "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if err := Check(notELF); err != nil {
		t.Errorf("non-ELF file: %v", err)
	}
}
