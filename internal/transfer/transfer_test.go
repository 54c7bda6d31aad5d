package transfer

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"", Auto, ""},
		{"auto", Auto, ""},
		{"mount", Mount, ""},
		{"copy", Copy, ""},
		{"tar", "", `--transfer "tar": want auto, mount or copy (env SMOL_TRANSFER)`},
		{"Copy", "", `--transfer "Copy"`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if got != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Parse(%q) error %v, want %q", tt.in, err, tt.err)
			}
		})
	}
}

// TestMemoKey: the answer is per daemon, mount namespace and file system,
// not per directory.
func TestMemoKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	d := Dirs{Module: a, Cache: b}
	base := MemoKey("daemon-1", "mnt:[1]", d)
	for _, tt := range []struct {
		name string
		key  string
		same bool
	}{
		{"same inputs", MemoKey("daemon-1", "mnt:[1]", d), true},
		{"other directories on the same file systems", MemoKey("daemon-1", "mnt:[1]", Dirs{Module: b, Cache: a}), true},
		{"other daemon", MemoKey("daemon-2", "mnt:[1]", d), false},
		{"other mount namespace", MemoKey("daemon-1", "mnt:[2]", d), false},
		{"file system unreadable", MemoKey("daemon-1", "mnt:[1]", Dirs{Module: filepath.Join(a, "gone"), Cache: b}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.key == base) != tt.same {
				t.Errorf("key %s vs %s: same = %v, want %v", tt.key, base, tt.key == base, tt.same)
			}
		})
	}
}

func TestRemember(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "transfer")
	if _, ok := Remembered(dir, "k"); ok {
		t.Fatal("an answer before any was kept")
	}
	if err := Remember(dir, "k", Copy); err != nil {
		t.Fatal(err)
	}
	if m, ok := Remembered(dir, "k"); !ok || m != Copy {
		t.Errorf("Remembered = %q, %v; want copy, true", m, ok)
	}
	os.WriteFile(filepath.Join(dir, "bad"), []byte("maybe\n"), 0o644)
	if m, ok := Remembered(dir, "bad"); ok {
		t.Errorf("a file that holds no mode gave %q", m)
	}
}

// TestWriterNormalises: the stream depends on names, content and the
// executable bit only; a deleted tracked file is left out.
func TestWriterNormalises(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "cmd", "x"), 0o700)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "cmd", "x", "main.go"), []byte("package main\n"), 0o664)
	os.WriteFile(filepath.Join(dir, "gen.sh"), []byte("#!/bin/sh\n"), 0o700)
	os.Symlink("go.mod", filepath.Join(dir, "link"))
	os.Chtimes(filepath.Join(dir, "go.mod"), time.Now(), time.Unix(12345, 0))
	files := []string{"cmd/x/main.go", "deleted.go", "gen.sh", "go.mod", "link"}

	type entry struct {
		mode     int64
		uid, gid int
		link     string
	}
	tests := []struct {
		name  string
		owner func(w *Writer)
		want  map[string]entry
	}{
		{"root's, writable", func(*Writer) {}, map[string]entry{
			"out/":              {0o755, 1000, 1000, ""},
			"src/":              {0o755, 0, 0, ""},
			"src/cmd/":          {0o755, 0, 0, ""},
			"src/cmd/x/":        {0o755, 0, 0, ""},
			"src/cmd/x/main.go": {0o644, 0, 0, ""},
			"src/gen.sh":        {0o755, 0, 0, ""},
			"src/go.mod":        {0o644, 0, 0, ""},
			"src/link":          {0o777, 0, 0, "go.mod"},
		}},
		{"the user's, read-only", func(w *Writer) { w.Owner(1000, 1001, true) }, map[string]entry{
			"out/":              {0o755, 1000, 1000, ""},
			"src/":              {0o555, 1000, 1001, ""},
			"src/cmd/":          {0o555, 1000, 1001, ""},
			"src/cmd/x/":        {0o555, 1000, 1001, ""},
			"src/cmd/x/main.go": {0o444, 1000, 1001, ""},
			"src/gen.sh":        {0o555, 1000, 1001, ""},
			"src/go.mod":        {0o444, 1000, 1001, ""},
			"src/link":          {0o555, 1000, 1001, "go.mod"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := func() []byte {
				var buf bytes.Buffer
				w := NewWriter(&buf, time.Unix(1700000000, 0))
				if err := w.Dir("out", 1000, 1000); err != nil {
					t.Fatal(err)
				}
				tt.owner(w)
				if err := w.Tree("src", dir, files); err != nil {
					t.Fatal(err)
				}
				n, err := w.Close()
				if err != nil || n != int64(buf.Len()) {
					t.Fatalf("Close = %d, %v; wrote %d", n, err, buf.Len())
				}
				return buf.Bytes()
			}
			first := stream()
			os.Chtimes(filepath.Join(dir, "go.mod"), time.Now(), time.Now())
			if !bytes.Equal(first, stream()) {
				t.Error("the stream changed with a file's modification time")
			}
			tr := tar.NewReader(bytes.NewReader(first))
			got := map[string]entry{}
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if !h.ModTime.Equal(time.Unix(1700000000, 0)) {
					t.Errorf("%s: mtime %v", h.Name, h.ModTime)
				}
				got[h.Name] = entry{h.Mode, h.Uid, h.Gid, h.Linkname}
			}
			for name, w := range tt.want {
				if got[name] != w {
					t.Errorf("%s: got %+v, want %+v", name, got[name], w)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("entries %v, want %d", got, len(tt.want))
			}
		})
	}
}

func TestTreeRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := mkfifo(filepath.Join(dir, "pipe")); err != nil {
		t.Skip("no named pipes here:", err)
	}
	w := NewWriter(io.Discard, time.Unix(0, 0))
	err := w.Tree("src", dir, []string{"pipe"})
	if err == nil || !strings.Contains(err.Error(), "source pipe") || !strings.Contains(err.Error(), ".gitignore") {
		t.Errorf("error %v, want one naming the file and a way out", err)
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(h.Name))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries []*tar.Header
		files   []string // expected under dst
		err     string
	}{
		{"outputs", []*tar.Header{
			{Typeflag: tar.TypeDir, Name: "out/", Mode: 0o755},
			{Typeflag: tar.TypeDir, Name: "out/linux_amd64/", Mode: 0o755},
			{Typeflag: tar.TypeReg, Name: "out/linux_amd64/hello", Mode: 0o755},
		}, []string{"linux_amd64/hello"}, ""},
		{"escape", []*tar.Header{{Typeflag: tar.TypeReg, Name: "out/../../etc/passwd", Mode: 0o644}}, nil, "not under out/"},
		{"sibling with the same prefix", []*tar.Header{{Typeflag: tar.TypeReg, Name: "outx/hello", Mode: 0o644}}, nil, "not under out/"},
		{"other directory", []*tar.Header{{Typeflag: tar.TypeReg, Name: "src/go.mod", Mode: 0o644}}, nil, "not under out/"},
		{"symlink", []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "out/x", Linkname: "/etc/passwd"}}, nil, "only files and directories"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			data := tarOf(t, tt.entries...)
			n, err := Extract(bytes.NewReader(data), dst, "out")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(data)) {
				t.Errorf("read %d bytes of %d", n, len(data))
			}
			for _, f := range tt.files {
				b, err := os.ReadFile(filepath.Join(dst, f))
				if err != nil || string(b) != "out/"+f {
					t.Errorf("%s: %q, %v", f, b, err)
				}
				if fi, _ := os.Stat(filepath.Join(dst, f)); fi == nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("%s: mode not kept", f)
				}
			}
		})
	}
}
