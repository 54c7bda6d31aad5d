package gomod

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPin(t *testing.T) {
	tests := []struct {
		name    string
		gomod   string
		want    string
		wantErr string // substring of the error; "" means success
	}{
		{"toolchain wins", "module x\ngo 1.26\ntoolchain go1.26.8\n", "1.26.8", ""},
		{"full go line", "module x\n\ngo 1.25.3\n", "1.25.3", ""},
		{"toolchain over full go", "module x\ngo 1.25.0\ntoolchain go1.26.1\n", "1.26.1", ""},
		{"release candidate", "module x\ngo 1.27rc1\n", "1.27rc1", ""},
		{"comments ignored", "module x // c\ngo 1.26 // lang\ntoolchain go1.26.8 // pin\n", "1.26.8", ""},
		{"directives in blocks ignored", "module x\ngo 1.26.2\nrequire (\n\tgo 1.1\n\ttoolchain go9\n)\n", "1.26.2", ""},
		{"vague go line", "module x\ngo 1.26\n", "", `add a line "toolchain go1.26.N"`},
		{"no go line", "module x\n", "", "no go directive"},
		{"vague toolchain", "module x\ngo 1.26\ntoolchain go1.26\n", "", "not an exact release"},
		{"toolchain default", "module x\ngo 1.26\ntoolchain default\n", "", "malformed toolchain"},
		{"no module", "go 1.26.8\n", "", "no module directive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tt.gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := Read(dir)
			var got string
			if err == nil {
				got, err = m.Pin()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("Pin() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPinWith is the rule for a version pinned outside go.mod (--go,
// SMOL_GO): exact releases only, never older than the go directive, and
// winning over the toolchain directive.
func TestPinWith(t *testing.T) {
	tests := []struct {
		name    string
		gomod   string
		pin     string
		want    string
		wantErr string
	}{
		{"library with only a language version", "module x\ngo 1.21\n", "1.26.8", "1.26.8", ""},
		{"same minor as the language version", "module x\ngo 1.26\n", "1.26.0", "1.26.0", ""},
		{"prerelease of the language version", "module x\ngo 1.27\n", "1.27rc1", "1.27rc1", ""},
		{"over the toolchain directive", "module x\ngo 1.25\ntoolchain go1.26.1\n", "1.25.7", "1.25.7", ""},
		{"exact go line equal", "module x\ngo 1.26.8\n", "1.26.8", "1.26.8", ""},
		{"no go directive", "module x\n", "1.26.8", "1.26.8", ""},
		{"no pin keeps go.mod's", "module x\ngo 1.26\ntoolchain go1.26.8\n", "", "1.26.8", ""},
		{"language version newer than the pin", "module x\ngo 1.27\n", "1.26.8", "", "go.mod says go 1.27 but --go pins 1.26.8: the module needs Go 1.27 or newer"},
		{"exact go line newer by a patch", "module x\ngo 1.26.9\n", "1.26.8", "", "go.mod says go 1.26.9 but --go pins 1.26.8"},
		{"release candidate older than the release", "module x\ngo 1.27.0\n", "1.27rc2", "", "go.mod says go 1.27.0 but --go pins 1.27rc2"},
		{"language version as pin", "module x\ngo 1.21\n", "1.26", "", `--go "1.26": want an exact Go release such as 1.26.8`},
		{"go prefix", "module x\ngo 1.21\n", "go1.26.8", "", `--go "go1.26.8": want an exact Go release`},
		{"garbage", "module x\ngo 1.21\n", "latest", "", `--go "latest"`},
		{"vague go line without a pin mentions --go", "module x\ngo 1.21\n", "", "", "--go 1.21.N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.gomod))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.PinWith(tt.pin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PinWith(%q) = %q, %v; want an error containing %q", tt.pin, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PinWith(%q) = %q, %v; want %q", tt.pin, got, err, tt.want)
			}
		})
	}
}

func TestReadModule(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module \"example.com/a/v2\"\ngo 1.26.8\n"), 0o644)
	m, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != "example.com/a/v2" || m.Dir != dir || m.Vendored {
		t.Errorf("Read = %+v", m)
	}
	os.MkdirAll(filepath.Join(dir, "vendor"), 0o755)
	os.WriteFile(filepath.Join(dir, "vendor", "modules.txt"), nil, 0o644)
	if m, _ = Read(dir); !m.Vendored {
		t.Error("vendor/modules.txt present but Vendored = false")
	}
}

func TestReadNoGoMod(t *testing.T) {
	_, err := Read(t.TempDir())
	if !errors.Is(err, ErrNoGoMod) {
		t.Fatalf("error = %v, want ErrNoGoMod", err)
	}
	if !strings.Contains(err.Error(), "go mod init") {
		t.Errorf("error %q does not say how to fix it", err)
	}
}
