// Package staticbin checks that an executable needs nothing from the host it
// runs on: no dynamic loader, no shared libraries.
package staticbin

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrDynamic is wrapped by Check's error for an ELF file that would need a
// dynamic loader or shared libraries at run time.
var ErrDynamic = errors.New("not statically linked")

// Check inspects the file at path. For an ELF executable it fails when the
// file has a PT_INTERP program header (it asks for a dynamic loader) or
// DT_NEEDED entries (it needs shared libraries), naming them. Files that are
// not ELF (Mach-O, PE, wasm) are not checked and return nil: darwin binaries
// always link libSystem, and Windows has no such notion.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("static check: %w", err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("static check %s: %w", path, err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(io.LimitReader(p.Open(), 4096))
			return fmt.Errorf("%s: %w: it asks for the dynamic loader %s (was cgo on? smol builds with CGO_ENABLED=0; a dependency may force external linking)", path, ErrDynamic, trimNUL(interp))
		}
	}
	libs, err := ef.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return fmt.Errorf("static check %s: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s: %w: it needs shared libraries %v", path, ErrDynamic, libs)
	}
	return nil
}

func trimNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
