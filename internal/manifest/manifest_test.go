package manifest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sample() Manifest {
	return Manifest{
		Schema: Schema, Tool: Tool{"smol", "v1"}, Engine: "docker",
		Image: Image{Ref: "golang:1.26.8", ID: "sha256:" + strings.Repeat("1", 64)}, GoVersion: "1.26.8", Module: "example.com/m",
		Packages: []string{"./cmd/..."}, Platforms: []string{"linux/amd64", "linux/arm64"}, Version: "v1", VersionVar: "main.version",
		LDFlags: "-s -w -buildid= -X main.version=v1", Flags: []string{"-trimpath"}, Env: []string{"CGO_ENABLED=0"},
		Outputs: []Output{
			{Name: "b_linux_arm64", Package: "b", Platform: "linux/arm64", Size: 2, SHA256: strings.Repeat("b", 64)},
			{Name: "a_linux_amd64", Package: "a", Platform: "linux/amd64", Size: 1, SHA256: strings.Repeat("a", 64)},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	data := sample().Marshal()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Outputs[0].Name != "a_linux_amd64" {
		t.Errorf("outputs not sorted: %v", m.Outputs)
	}
	if string(m.Marshal()) != string(data) {
		t.Error("marshal is not stable")
	}
	sums, err := ParseSums(m.Sums())
	if err != nil || len(sums) != 2 || sums["b_linux_arm64"] != strings.Repeat("b", 64) {
		t.Errorf("ParseSums(Sums()) = %v, %v", sums, err)
	}
}

// TestSumsWithSha256sum checks the format against the real tool.
func TestSumsWithSha256sum(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x_linux_amd64"), []byte("hello\n"), 0o644)
	sum, size, err := HashFile(filepath.Join(dir, "x_linux_amd64"))
	if err != nil || size != 6 {
		t.Fatal(size, err)
	}
	m := Manifest{Outputs: []Output{{Name: "x_linux_amd64", SHA256: sum}}}
	os.WriteFile(filepath.Join(dir, SumsFile), m.Sums(), 0o644)
	cmd := exec.Command("sha256sum", "-c", SumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}

func TestParseRefuses(t *testing.T) {
	good := string(sample().Marshal())
	tests := []struct{ name, data, want string }{
		{"not json", "{", "unexpected EOF"},
		{"unknown field", strings.Replace(good, `"engine"`, `"engin"`, 1), "unknown field"},
		{"other schema", strings.Replace(good, Schema, "smol.manifest/v9", 1), "schema"},
		{"path in name", strings.Replace(good, `"name": "a_linux_amd64"`, `"name": "../a_linux_amd64"`, 1), "bad or repeated output name"},
		{"bad digest", strings.Replace(good, strings.Repeat("a", 64), strings.Repeat("g", 64), 1), "bad sha256"},
		{"foreign platform", strings.Replace(good, `"platform": "linux/amd64"`, `"platform": "plan9/386"`, 1), "not among the built platforms"},
		{"reformatted", strings.Replace(good, "\n  ", "\n    ", 1), "not in the form smol writes"},
		{"trailing data", good + "{}", "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

func TestParseSumsRefuses(t *testing.T) {
	for _, in := range []string{"abc  x\n", strings.Repeat("a", 64) + " x\n", strings.Repeat("a", 64) + "  x\n" + strings.Repeat("b", 64) + "  x\n"} {
		if _, err := ParseSums([]byte(in)); err == nil {
			t.Errorf("ParseSums(%q) accepted", in)
		}
	}
	if s, err := ParseSums([]byte(strings.Repeat("a", 64) + " *bin\n")); err != nil || s["bin"] == "" {
		t.Errorf("binary-mode line: %v %v", s, err)
	}
}
