package benchdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplace(t *testing.T) {
	s := Section("build")
	sec := s.Begin() + "\nnew\n" + s.End() + "\n"
	other := "<!-- bench:server:begin -->\nserver\n<!-- bench:server:end -->\n"
	tests := []struct {
		name, doc, want, err string
	}{
		{"empty file", "", "# Benchmarks\n\nEach section is written by the program named in it; edit the program, not the section.\n\n" + sec, ""},
		{"appended", "# B\n\n" + other, "# B\n\n" + other + "\n" + sec, ""},
		{"replaced, others kept", "# B\n\n" + s.Begin() + "\nold\n" + s.End() + "\n\n" + other, "# B\n\n" + sec + "\n" + other, ""},
		{"end marker at EOF", "x\n" + s.Begin() + "\nold\n" + s.End(), "x\n" + sec, ""},
		{"half", "# B\n" + s.Begin() + "\n", "", "want one of each"},
		{"repeated", s.Begin() + s.End() + s.Begin() + s.End(), "", "want one of each"},
		{"out of order", s.End() + "\n" + s.Begin() + "\n", "", "comes before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Replace([]byte(tt.doc), s, []byte(sec))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
	if _, err := Replace(nil, s, []byte("no markers")); err == nil {
		t.Error("text without markers accepted")
	}
}

func TestWriteKeepsFileOnError(t *testing.T) {
	s := Section("repro")
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	bad := "# B\n" + s.Begin() + "\n"
	os.WriteFile(path, []byte(bad), 0o644)
	if err := Write(path, s, []byte(s.Begin()+"\nx\n"+s.End()+"\n")); err == nil {
		t.Fatal("write over a half section succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != bad {
		t.Errorf("file changed to %q", b)
	}
	os.WriteFile(path, []byte("# B\n"), 0o644)
	if err := Write(path, s, []byte(s.Begin()+"\nx\n"+s.End()+"\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "\nx\n") {
		t.Errorf("file is %q", b)
	}
}
