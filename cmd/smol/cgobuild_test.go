package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// The cgo builder image is made once per test binary (smol image --cgo),
// or taken as it is when an earlier run left it.
var cgoImage struct {
	once sync.Once
	ref  string
	skip string // why the image cannot be made here
	err  string
}

func needCgoImage(t *testing.T) string {
	t.Helper()
	needDocker(t)
	cgoImage.once.Do(func() {
		ref := plan.CgoImageTag("1.26.8")
		if exec.Command("docker", "image", "inspect", ref).Run() == nil {
			cgoImage.ref = ref
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			cgoImage.skip = "no apt-get to download the cgo image's packages"
			return
		}
		r := smol(t, t.TempDir(), nil, "image", "--cgo", "--go", "1.26.8")
		if r.code != 0 {
			cgoImage.err = r.stderr
			return
		}
		cgoImage.ref = ref
	})
	if cgoImage.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", cgoImage.skip)
		}
		t.Skip(cgoImage.skip)
	}
	if cgoImage.err != "" {
		t.Fatalf("smol image --cgo failed:\n%s", cgoImage.err)
	}
	return cgoImage.ref
}

// cgoLookupModule is cgoModule's shape with a command that also resolves a
// host name and the current user, which a static binary must do without
// NSS; its pure-Go stub returns -1 instead of failing.
func cgoLookupModule(t *testing.T) string {
	dir := writeModule(t, map[string]string{
		"go.mod":       "module example.com/cgoapp\n\ngo 1.26\n\ntoolchain go1.26.8\n",
		".gitignore":   "/dist/\n/dist-pure/\n/dist-warn/\n",
		"csum/csum.go": "package csum\n\n// static int twice(int x) { return 2 * x; }\nimport \"C\"\n\nfunc Twice(x int) int { return int(C.twice(C.int(x))) }\n",
		"csum/stub.go": "//go:build !cgo\n\npackage csum\n\nfunc Twice(x int) int { return -1 }\n",
		// The linker warns when anything refers to smol_old.
		"cmd/warn/old.c":   "__attribute__((section(\".gnu.warning.smol_old\"), used)) static const char w[] = \"smol_old is deprecated: a link-time warning\";\nint smol_old(void) { return 7; }\n",
		"cmd/warn/main.go": "package main\n\n// int smol_old(void);\nimport \"C\"\n\nfunc main() { println(C.smol_old()) }\n",
		"cmd/app/main.go": `package main

import (
	"fmt"
	"net"
	"os/user"

	"example.com/cgoapp/csum"
)

func main() {
	addrs, err := net.LookupHost("localhost")
	fmt.Println("localhost:", addrs, err)
	u, err := user.Current()
	if err == nil {
		fmt.Println("user:", u.Uid, u.Username)
	} else {
		fmt.Println("user:", err)
	}
	_, err = user.LookupId("0")
	fmt.Println("uid 0:", err)
	fmt.Println("twice:", csum.Twice(21))
}
`,
	})
	gitCommit(t, dir, "")
	return dir
}

// runAlone runs the linux/amd64 binary bin in a container whose file
// system holds that one file and nothing else (no C library, no
// /etc/passwd), and returns its output.
func runAlone(t *testing.T, bin string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	ref := "smol-test-alone:" + strings.ToLower(filepath.Base(bin))
	imp := exec.Command("docker", "import", "-", ref)
	imp.Stdin = &b
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", "-f", ref).Run()
	out, err := exec.Command("docker", "run", "--rm", ref, "/app").CombinedOutput()
	if err != nil {
		t.Fatalf("%s in an empty container: %v\n%s", filepath.Base(bin), err, out)
	}
	return string(out)
}

// TestCgoBuild builds a module with C code for linux/amd64 and
// linux/arm64 with --cgo: static binaries that run with no C library
// (amd64 in an empty container, arm64 under qemu), whose host and user
// lookups answer as the pure-Go build's do, recorded in the manifest, and
// proved by smol verify. A C compile error and a missing C library fail
// with the C toolchain's words and leave dist/ as it was.
func TestCgoBuild(t *testing.T) {
	image := needCgoImage(t)
	dir := cgoLookupModule(t)
	r := smol(t, dir, nil, "build", "--cgo", "--platform", "linux/amd64,linux/arm64", "./cmd/app")
	mustOK(t, r, "build --cgo")
	mustOK(t, smol(t, dir, nil, "build", "--cgo=off", "--out", "dist-pure", "--platform", "linux/amd64", "./cmd/app"), "build --cgo=off")

	withC := runAlone(t, filepath.Join(dir, "dist", "app_linux_amd64"))
	pure := runAlone(t, filepath.Join(dir, "dist-pure", "app_linux_amd64"))
	if !strings.Contains(withC, "twice: 42\n") || !strings.Contains(pure, "twice: -1\n") {
		t.Errorf("C code did not run in the cgo build, or ran in the pure one:\ncgo:\n%s\npure:\n%s", withC, pure)
	}
	if !strings.Contains(withC, "localhost: [127.0.0.1") {
		t.Errorf("cgo build cannot resolve localhost in an empty container:\n%s", withC)
	}
	if a, b := strings.TrimSuffix(withC, "twice: 42\n"), strings.TrimSuffix(pure, "twice: -1\n"); a != b {
		t.Errorf("lookups differ from the pure-Go build's:\ncgo:\n%s\npure:\n%s", a, b)
	}

	if qemu, err := exec.LookPath("qemu-aarch64-static"); err == nil {
		out, err := exec.Command(qemu, filepath.Join(dir, "dist", "app_linux_arm64")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "twice: 42\n") {
			t.Errorf("arm64 build under qemu: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Errorf("CI=true and no qemu-aarch64-static (Debian qemu-user-static) to run the arm64 build")
	} else {
		t.Log("SKIP arm64 run: no qemu-aarch64-static")
	}

	m, err := manifest.Parse([]byte(readFile(t, filepath.Join(dir, "dist", "manifest.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if m.Cgo != "on" || m.Image.Ref != image || !strings.Contains(strings.Join(m.CToolchain, " "), "gcc-12:amd64=") ||
		!strings.Contains(strings.Join(m.CToolchain, " "), "musl-dev:arm64=") || !strings.Contains(strings.Join(m.CEnv["linux/arm64"], " "), "CC=aarch64-linux-gnu-gcc") {
		b, _ := json.MarshalIndent(m, "", "  ")
		t.Errorf("manifest does not record the cgo build:\n%s", b)
	}

	r = smol(t, dir, nil, "verify")
	mustOK(t, r, "verify of a cgo build")
	if strings.Count(r.stderr, "] sha256 ") != 2 || !strings.Contains(r.stderr, "PASS app_linux_arm64 [container]") || !strings.Contains(r.stderr, "PASS app_linux_amd64 [container]") {
		t.Errorf("verify did not pass both outputs:\n%s", r.stderr)
	}

	// A warning of the C linker reaches the user of a successful build.
	r = smol(t, dir, nil, "build", "--cgo", "--out", "dist-warn", "--platform", "linux/amd64", "./cmd/warn")
	mustOK(t, r, "build with a linker warning")
	if !strings.Contains(r.stderr, "warning: smol_old is deprecated: a link-time warning") {
		t.Errorf("the linker's warning did not reach the user:\n%s", r.stderr)
	}

	sums := readFile(t, filepath.Join(dir, "dist", "SHA256SUMS"))
	for _, bad := range []struct{ name, src, want string }{
		{"compile error", "package csum\n\n// static int broken(void) { return undeclared_thing; }\nimport \"C\"\n", "undeclared_thing"},
		{"missing library", "package csum\n\n// #cgo LDFLAGS: -lrocksdb\nimport \"C\"\n", "the C library rocksdb (-lrocksdb) is not in the builder image"},
	} {
		os.WriteFile(filepath.Join(dir, "csum", "bad.go"), []byte(bad.src), 0o644)
		r := smol(t, dir, nil, "build", "--cgo", "--platform", "linux/amd64", "./cmd/app")
		if r.code != 1 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", bad.name, r.code, bad.want, r.stderr)
		}
		if got := readFile(t, filepath.Join(dir, "dist", "SHA256SUMS")); got != sums {
			t.Errorf("%s: dist/ changed", bad.name)
		}
	}
}

// TestCgoImage: the image without C toolchains is refused for --cgo,
// naming it and smol image --cgo; and the cgo image, made again under
// another tag from the same package versions, has the same ID.
func TestCgoImage(t *testing.T) {
	image := needCgoImage(t)
	dir := cgoModule(t)
	r := smol(t, dir, nil, "build", "--cgo", "--image", "smol/go:1.26.8", "--platform", "linux/amd64", "./cmd/app")
	if r.code != 1 || !strings.Contains(r.stderr, "image smol/go:1.26.8 has no C toolchain") || !strings.Contains(r.stderr, `"smol image --cgo"`) {
		t.Errorf("--cgo with the plain builder image: exit %d\n%s", r.code, r.stderr)
	}

	// smol shell --cgo opens sh in the image, with the C settings of the
	// host's platform.
	sh := exec.Command(smolBin, "shell", "--cgo")
	sh.Dir = dir
	sh.Env = smolEnv("SMOL_CACHE_DIR=" + warmCache)
	sh.Stdin = strings.NewReader("echo \"CC is $CC\"\n")
	if out, err := sh.Output(); err != nil || !strings.Contains(string(out), "CC is x86_64-linux-gnu-gcc-12 -specs=") {
		t.Errorf("smol shell --cgo: %v\n%s", err, out)
	}

	want, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	again := "smol-test/go-cgo:again"
	r = smol(t, t.TempDir(), nil, "image", "--cgo", "--go", "1.26.8", "--tag", again)
	mustOK(t, r, "smol image --cgo again")
	defer exec.Command("docker", "rmi", again).Run()
	if got := strings.Fields(r.stdout); len(got) != 2 || got[1] != strings.TrimSpace(string(want)) {
		t.Errorf("made again: %q, want the ID %s", r.stdout, want)
	}
}

// TestCgoSQLite builds the most used cgo package, mattn/go-sqlite3, for the
// host's platform (the slice of make proof's go-sqlite3 subject that make
// test keeps): without a choice smol refuses and names it; with --cgo the
// binary writes and reads a row of a database file in an empty container. Its pure-Go stub
// would build as well and fail only when run, which is what the refusal is
// for.
func TestCgoSQLite(t *testing.T) {
	needCgoImage(t)
	dir := writeModule(t, map[string]string{
		"go.mod": "module example.com/sqlapp\n\ngo 1.26\n\ntoolchain go1.26.8\n\nrequire github.com/mattn/go-sqlite3 v1.14.53\n",
		"go.sum": "github.com/mattn/go-sqlite3 v1.14.53 h1:mnTM0owzUMrKuLo+0w51NUiB0ir2Fo7kFXlPt/l3BGs=\n" +
			"github.com/mattn/go-sqlite3 v1.14.53/go.mod h1:6JTjA44L93a0QCyJef5YvlPoKXntQPjzWv5gtm9sB6w=\n",
		".gitignore": "/dist/\n",
		"main.go": `package main

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	db, err := sql.Open("sqlite3", "app.db")
	if err == nil {
		_, err = db.Exec("create table t (v text); insert into t values ('written and read')")
	}
	if err == nil {
		var v string
		err = db.QueryRow("select sqlite_version() || ': ' || v from t").Scan(&v)
		fmt.Println("sqlite", v)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
`,
	})
	gitCommit(t, dir, "")

	r := smol(t, dir, nil, "build", "--platform", "linux/amd64", ".")
	if r.code == 0 || !strings.Contains(r.stderr, "github.com/mattn/go-sqlite3") || !strings.Contains(r.stderr, "--cgo=off") {
		t.Fatalf("a go-sqlite3 program without --cgo: exit %d, want a refusal naming the package and the choices:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); err == nil {
		t.Errorf("the refused build wrote dist/")
	}

	mustOK(t, smol(t, dir, nil, "build", "--cgo", "--platform", "linux/amd64", "."), "build --cgo of go-sqlite3")
	if out := runAlone(t, filepath.Join(dir, "dist", "sqlapp_linux_amd64")); !strings.HasPrefix(out, "sqlite 3.") || !strings.HasSuffix(out, ": written and read\n") {
		t.Errorf("the go-sqlite3 build in an empty container printed:\n%s", out)
	}
}
