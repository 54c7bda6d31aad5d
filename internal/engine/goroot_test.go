package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is the go command of the test images: "go version" fails when
// GOROOT holds a file named FAIL, and "go cat FILE" prints FILE, so that a
// container can show what a volume holds in an image without a shell.
const fakeGo = `package main

import (
	"fmt"
	"os"
)

func main() {
	switch os.Args[1] {
	case "version":
		if _, err := os.Stat("/usr/local/go/FAIL"); err == nil {
			os.Exit(3)
		}
		fmt.Println("go version go1.99.9 linux/test")
	case "cat":
		b, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
	}
}
`

// gorootImage imports an image whose GOROOTDir holds the fake go command
// and the files named, and returns its ID; it is removed when t ends.
func gorootImage(t *testing.T, goBin []byte, files map[string]string) string {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/go/", "usr/local/go/bin/"} {
		tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir})
	}
	tw.WriteHeader(&tar.Header{Name: "usr/local/go/bin/go", Mode: 0o755, Size: int64(len(goBin)), Typeflag: tar.TypeReg})
	tw.Write(goBin)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: "usr/local/go/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	tag := fmt.Sprintf("smol-test/goroot:%d-%d", os.Getpid(), len(files))
	imp := exec.Command("docker", "import", "-", tag)
	imp.Stdin = &layer
	if out, err := imp.CombinedOutput(); err != nil {
		t.Skipf("docker import: %v: %s", err, out)
	}
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.ID}}", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		exec.Command("docker", "volume", "rm", "--force", GOROOTVolumeName(id)).Run()
		exec.Command("docker", "rmi", "--force", tag).Run()
	})
	return id
}

// TestFillGOROOTDocker fills GOROOT volumes with the real docker CLI: the
// volume holds the image's files, it and its mark carry the image's ID, a
// second fill runs no container, an unmarked volume is filled again, a
// build's mount of a removed volume fails rather than fill it, a failed
// fill leaves no volume, and a volume of the same name that smol did not
// make is refused and left alone.
func TestFillGOROOTDocker(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker on PATH")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH to build the test image's go command")
	}
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(fakeGo), 0o644)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module fakego\n\ngo 1.22\n"), 0o644)
	build := exec.Command("go", "build", "-o", "go.bin", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	goBin, err := os.ReadFile(filepath.Join(dir, "go.bin"))
	if err != nil {
		t.Fatal(err)
	}
	good := gorootImage(t, goBin, map[string]string{"VERSION": "from the image\n"})
	failing := gorootImage(t, goBin, map[string]string{"VERSION": "x\n", "FAIL": ""})

	calls := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$1\" >> " + calls + "\nexec docker \"$@\"\n"
	os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755)
	c := &Container{Kind: "docker", Bin: filepath.Join(dir, "docker"), Image: good, UID: os.Getuid(), GID: os.Getgid(), Prefix: fmt.Sprintf("smol-test-%d", os.Getpid())}
	name := GOROOTVolumeName(good)
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "--force", GOROOTDone(name)).Run() })
	// labels returns the LabelGOROOT of the volume and its mark, "-" for
	// one that is missing.
	labels := func(name string) [2]string {
		var l [2]string
		for i, v := range []string{name, GOROOTDone(name)} {
			out, err := exec.Command("docker", "volume", "inspect", "--format", `{{index .Labels "`+LabelGOROOT+`"}}`, v).Output()
			l[i] = strings.TrimSpace(string(out))
			if err != nil {
				l[i] = "-"
			}
		}
		return l
	}
	fill := func(c *Container, name string) (string, error) {
		var log strings.Builder
		err := c.FillGOROOT(ctx, name, &log)
		return log.String(), err
	}
	// content is what the volume holds as VERSION, read through another
	// mount point, where the image has nothing to show instead.
	content := func() string {
		out, err := exec.Command("docker", "run", "--rm", "--network=none", "-v", name+":/v:ro", good, "/usr/local/go/bin/go", "cat", "/v/VERSION").CombinedOutput()
		if err != nil {
			return err.Error() + ": " + string(out)
		}
		return string(out)
	}

	log, err := fill(c, name)
	if err != nil {
		t.Fatalf("FillGOROOT: %v", err)
	}
	if got := labels(name); got != [2]string{good, good} || !strings.Contains(log, "copying the GOROOT") || content() != "from the image\n" {
		t.Errorf("after a fill: labels %q, log %q, VERSION %q; want both labelled, a line, the image's file", got, log, content())
	}
	os.Remove(calls)
	if log, err := fill(c, name); err != nil || log != "" {
		t.Fatalf("FillGOROOT again: %v, log %q", err, log)
	}
	if b, _ := os.ReadFile(calls); string(b) != "volume\n" {
		t.Errorf("FillGOROOT of a filled volume ran %q, want only the volume inspect", b)
	}

	// A volume without its mark (a fill cut short) is filled again; so is
	// the empty one a build's mount makes after the volume was removed.
	exec.Command("docker", "volume", "rm", GOROOTDone(name)).Run()
	if _, err := fill(c, name); err != nil || labels(name) != [2]string{good, good} || content() != "from the image\n" {
		t.Errorf("refill of an unmarked volume: %v, labels %q, VERSION %q", err, labels(name), content())
	}
	exec.Command("docker", "volume", "rm", name, GOROOTDone(name)).Run()
	if out, err := exec.Command("docker", "run", "--rm", "--network=none", "--mount", gorootMount(name, good, true), good, "/usr/local/go/bin/go", "version").CombinedOutput(); err == nil {
		t.Errorf("a build's mount of a removed volume ran the go command: %s", out)
	}
	if _, err := fill(c, name); err != nil || labels(name) != [2]string{good, good} || content() != "from the image\n" {
		t.Errorf("refill of the volume a build's mount made: %v, labels %q, VERSION %q", err, labels(name), content())
	}

	f := &Container{Kind: c.Kind, Bin: c.Bin, Image: failing, UID: c.UID, GID: c.GID, Prefix: c.Prefix}
	fname := GOROOTVolumeName(failing)
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "--force", GOROOTDone(fname)).Run() })
	if _, err := fill(f, fname); err == nil {
		t.Error("FillGOROOT succeeded where go version fails")
	}
	if got := labels(fname); got != [2]string{"-", "-"} {
		t.Errorf("a failed fill left volumes: %q", got)
	}

	// A volume of that name that smol did not make: refused, kept.
	if out, err := exec.Command("docker", "volume", "create", fname).CombinedOutput(); err != nil {
		t.Fatalf("docker volume create: %v: %s", err, out)
	}
	_, err = fill(f, fname)
	if err == nil || !strings.Contains(err.Error(), "not labelled") {
		t.Errorf("FillGOROOT over an unlabelled volume: %v, want a refusal", err)
	}
	if got := labels(fname); got[0] == "-" {
		t.Errorf("FillGOROOT removed a volume it did not make")
	}
}
