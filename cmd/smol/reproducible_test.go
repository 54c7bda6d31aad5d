package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// otherUID is the uid:gid the second checkout is built as.
const otherUID = 12345

// TestReproducible builds this repository's server from two clones at
// different absolute paths, as two different users, with cold and warm
// caches, and requires identical SHA256SUMS from all three builds. It also
// checks that everything smol writes belongs to the user who ran it.
func TestReproducible(t *testing.T) {
	needDocker(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	base, err := os.MkdirTemp("", "smol-repro-")
	if err != nil {
		t.Fatal(err)
	}
	defer tree.RemoveAll(base)
	os.Chmod(base, 0o755) // the other user must reach its clone

	clone := func(dst string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", repoRoot, dst).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
	}
	a := filepath.Join(base, "a", "gohttp-smol")
	b := filepath.Join(base, "somewhere", "else", "entirely", "srv")
	clone(a)
	clone(b)
	cacheA := filepath.Join(base, "cache-a")
	cacheB := filepath.Join(base, "cache-b")
	pkg := "./cmd/gohttp-smol"

	mustOK(t, smol(t, a, nil, "build", "--cache-dir", cacheA, pkg), "cold build in clone A")
	coldA := readFile(t, filepath.Join(a, "dist", "SHA256SUMS"))
	// --force: the warm build must compile again, not find dist/ up to date.
	warm := smol(t, a, nil, "build", "--force", "--cache-dir", cacheA, pkg)
	mustOK(t, warm, "warm build in clone A")
	if strings.Contains(warm.stderr, "up to date") || !strings.Contains(warm.stderr, "smol: build linux/") {
		t.Fatalf("the warm build did not compile:\n%s", warm.stderr)
	}
	warmA := readFile(t, filepath.Join(a, "dist", "SHA256SUMS"))
	if warmA != coldA {
		t.Errorf("cold and warm builds differ:\ncold: %swarm: %s", coldA, warmA)
	}

	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but not root: cannot build as a second uid")
		}
		t.Skip("not root: cannot build as a second uid")
	}
	// The second user reaches the daemon through the socket's group, as a
	// member of the docker group would: the socket DOCKER_HOST names, if it
	// names one. Over TCP (a docker:dind service) it needs none: the dind
	// image's entrypoint makes the client key readable by all.
	sock := "/var/run/docker.sock"
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		sock = h
	}
	var groups []uint32
	if fi, err := os.Stat(sock); err == nil {
		groups = append(groups, fi.Sys().(*syscall.Stat_t).Gid)
	}
	if err := tree.Chown(filepath.Dir(filepath.Dir(filepath.Dir(b))), otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(cacheB, 0o755)
	os.Chown(cacheB, otherUID, otherUID)
	cred := &syscall.Credential{Uid: otherUID, Gid: otherUID, Groups: groups}
	home := filepath.Join(base, "home-b")
	os.MkdirAll(home, 0o755)
	os.Chown(home, otherUID, otherUID)
	r := smolAs(t, b, cred, []string{"HOME=" + home}, "build", "--cache-dir", cacheB, pkg)
	mustOK(t, r, "cold build in clone B as uid "+strconv.Itoa(otherUID))
	sumsB := readFile(t, filepath.Join(b, "dist", "SHA256SUMS"))
	if sumsB != coldA {
		t.Errorf("clone B as uid %d differs from clone A:\nA: %sB: %s", otherUID, coldA, sumsB)
	}
	if ma, mb := readFile(t, filepath.Join(a, "dist", "manifest.json")), readFile(t, filepath.Join(b, "dist", "manifest.json")); ma != mb {
		t.Errorf("manifests differ between the clones:\n%s\n---\n%s", ma, mb)
	}
	// Everything smol wrote for user B, outputs and caches, is B's.
	for _, root := range []string{filepath.Join(b, "dist"), cacheB} {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != otherUID || st.Gid != otherUID {
				t.Errorf("%s owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, otherUID, otherUID)
				return filepath.SkipAll
			}
			return nil
		})
	}
}
