package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMissingImages reads the engines' own wording of a missing image.
func TestMissingImages(t *testing.T) {
	refs := []string{"golang:1.26", "golang:1.26.8", "smol/go:1.26.8"}
	tests := []struct {
		name   string
		stderr string
		want   []string
	}{
		{
			name:   "docker 28",
			stderr: "Error response from daemon: no such image: golang:1.26.8: No such image: golang:1.26.8\n",
			want:   []string{"golang:1.26.8"},
		},
		{
			name:   "docker 20.10",
			stderr: "Error: No such image: smol/go:1.26.8\n",
			want:   []string{"smol/go:1.26.8"},
		},
		{
			name:   "podman",
			stderr: "Error: golang:1.26: image not known\n",
			want:   []string{"golang:1.26"},
		},
		{
			name:   "two",
			stderr: "Error: No such image: golang:1.26\r\nError: No such image: smol/go:1.26.8\r\n",
			want:   []string{"golang:1.26", "smol/go:1.26.8"},
		},
		{
			name:   "another error names the image",
			stderr: "permission denied while trying to inspect golang:1.26.8\n",
		},
		{
			name:   "no name",
			stderr: "Error: not every image was found\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for ref := range missingImages(tt.stderr, refs) {
				got = append(got, ref)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing %q, want %q", got, tt.want)
			}
		})
	}
}

// TestImageIDsDocker asks the real docker CLI about two images in one
// call, in both orders, with one of them missing and with both there.
func TestImageIDsDocker(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker on PATH")
	}
	ctx := context.Background()
	tag := fmt.Sprintf("smol-test/imageids:%d", os.Getpid())
	tag2 := tag + "-2"
	missing := tag + "-missing"
	// An image of one empty file, made without a registry.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "empty", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	imp := exec.CommandContext(ctx, "docker", "import", "-", tag)
	imp.Stdin = &layer
	if out, err := imp.CombinedOutput(); err != nil {
		t.Skipf("docker import: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "--force", tag, tag2).Run() })
	if out, err := exec.CommandContext(ctx, "docker", "tag", tag, tag2).CombinedOutput(); err != nil {
		t.Fatalf("docker tag: %v: %s", err, out)
	}
	// The CLI through a script that counts its calls: a wording the
	// parse missed would still give the right IDs, by one call per image.
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho >> " + calls + "\nexec docker \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Container{Kind: "docker", Bin: filepath.Join(dir, "docker")}
	id, err := c.ImageID(ctx, tag)
	if err != nil || !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("ImageID(%s) = %q, %v", tag, id, err)
	}
	for _, refs := range [][]string{{missing, tag}, {tag, missing}, {tag, tag2}, {missing, missing + "2"}} {
		os.Remove(calls)
		got, err := c.ImageIDs(ctx, refs...)
		if b, _ := os.ReadFile(calls); len(b) != 1 {
			t.Errorf("ImageIDs(%q) ran the CLI %d times, want once", refs, len(b))
		}
		if err != nil {
			t.Errorf("ImageIDs(%q): %v", refs, err)
			continue
		}
		want := make([]string, len(refs))
		for i, r := range refs {
			if !strings.Contains(r, "missing") {
				want[i] = id
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("ImageIDs(%q) = %q, want %q", refs, got, want)
		}
	}
}
