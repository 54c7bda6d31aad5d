package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestInspect(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()

	info, err := Inspect(ctx, dir, "")
	if err != nil {
		t.Fatalf("outside git: %v", err)
	}
	if info != (Info{}) || info.Version() != "devel" {
		t.Errorf("outside git: %+v version %q, want zero and devel", info, info.Version())
	}

	gitRun(t, dir, "init", "-q")
	if info, err = Inspect(ctx, dir, ""); err != nil || info.Revision != "" {
		t.Fatalf("no commits yet: %+v, %v", info, err)
	}
	os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
	gitRun(t, dir, "add", "a")
	gitRun(t, dir, "commit", "-qm", "a")
	gitRun(t, dir, "tag", "v1.2.3")

	tests := []struct {
		name     string
		sde      string
		dirty    bool
		describe string
		epoch    int64
	}{
		{"clean tag", "", false, "v1.2.3", 1767323045},
		{"SOURCE_DATE_EPOCH wins", "42", false, "v1.2.3", 42},
		{"dirty", "", true, "v1.2.3-dirty", 1767323045},
	}
	// An untracked file dirties the tree, unless it is in an ignored
	// directory (smol's output) or covered by .gitignore.
	t.Run("untracked", func(t *testing.T) {
		gitRun(t, dir, "checkout", "-q", "a")
		os.MkdirAll(filepath.Join(dir, "dist"), 0o755)
		os.WriteFile(filepath.Join(dir, "dist", "bin"), []byte("x"), 0o644)
		if info, err := Inspect(ctx, dir, "", filepath.Join(dir, "dist")); err != nil || info.Dirty {
			t.Errorf("output dir made the tree dirty: %+v %v", info, err)
		}
		os.WriteFile(filepath.Join(dir, "extra.go"), []byte("package main"), 0o644)
		info, err := Inspect(ctx, dir, "", filepath.Join(dir, "dist"))
		if err != nil || !info.Dirty || info.Describe != "v1.2.3-dirty" {
			t.Errorf("untracked extra.go: %+v %v, want dirty", info, err)
		}
		os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("extra.go\n/dist/\n.gitignore\n"), 0o644)
		if info, err := Inspect(ctx, dir, ""); err != nil || info.Dirty {
			t.Errorf("ignored files made the tree dirty: %+v %v", info, err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dirty {
				os.WriteFile(filepath.Join(dir, "a"), []byte("b"), 0o644)
			}
			info, err := Inspect(ctx, dir, tt.sde)
			if err != nil {
				t.Fatal(err)
			}
			if info.Describe != tt.describe || info.Dirty != tt.dirty || info.Epoch != tt.epoch || len(info.Revision) != 40 {
				t.Errorf("Inspect = %+v, want describe %q dirty %v epoch %d", info, tt.describe, tt.dirty, tt.epoch)
			}
		})
	}

	if _, err := Inspect(ctx, dir, "yesterday"); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: error %v", err)
	}
}

// TestFiles lists a git checkout's source set (tracked, deleted and
// untracked files; not ignored ones nor those under ignore) and, outside
// git, every file but those under ignore.
func TestFiles(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, useGit := range []bool{true, false} {
		dir := t.TempDir()
		write := func(name string) {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644)
		}
		for _, f := range []string{".gitignore", "go.mod", "a/main.go", "gone.go", "dist/x_linux_amd64"} {
			write(f)
		}
		os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\n"), 0o644)
		want := []string{".gitignore", "a/main.go", "go.mod", "new.go"}
		if useGit {
			for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"}} {
				if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			write("x.log")
			// Deleted but still tracked: listed, and found missing by
			// whoever reads it.
			os.Remove(filepath.Join(dir, "gone.go"))
			want = []string{".gitignore", "a/main.go", "go.mod", "gone.go", "new.go"}
		} else {
			os.Remove(filepath.Join(dir, "gone.go"))
		}
		write("new.go")
		got, err := Files(context.Background(), dir, filepath.Join(dir, "dist"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("git %v: Files = %q, want %q", useGit, got, want)
		}
	}
}
