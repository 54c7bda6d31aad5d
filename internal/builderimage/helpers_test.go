package builderimage

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testDir holds what the tests share across one run of the test binary:
// the host GOROOT's archive (about 270 MB) is written once.
var testDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "builderimage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testGoVersion is the version the tests make images of: the toolchain
// running them, which the project pins.
func testGoVersion() string {
	v, _, _ := strings.Cut(strings.TrimPrefix(runtime.Version(), "go"), " ")
	return v
}

// need skips the test for a missing tool, or fails it when CI=true: in CI a
// missing tool is a broken set-up, never a pass.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requireEngine returns the path of the docker or podman command after
// checking that it can run containers (docker: the daemon answers).
func requireEngine(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		need(t, "%s not installed: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, p, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); name == "docker" && err != nil {
		need(t, "docker daemon not reachable: %v: %s", err, out)
	}
	return p
}

var host struct {
	once   sync.Once
	goroot string
	path   string // the archive
	info   ImageInfo
	err    error
}

// hostArchive writes the archive of the host's GOROOT once per test binary
// run and returns its path. The host's go must be the tests' Go version.
func hostArchive(t *testing.T) (goroot, archive string, info ImageInfo) {
	t.Helper()
	host.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		goCmd, err := exec.LookPath("go")
		if err != nil {
			host.err = err
			return
		}
		v, err := toolchain.HostGo(ctx, goCmd)
		if err != nil {
			host.err = err
			return
		}
		if v.GOVERSION != "go"+testGoVersion() {
			host.err = fmt.Errorf("go on PATH is %s, tests run with go%s", v.GOVERSION, testGoVersion())
			return
		}
		host.goroot = v.GOROOT
		host.path = filepath.Join(testDir, "host.tar")
		f, err := os.Create(host.path)
		if err != nil {
			host.err = err
			return
		}
		start := time.Now()
		host.info, host.err = WriteArchive(f, v.GOROOT, Spec{GoVersion: testGoVersion()})
		if err := f.Close(); host.err == nil {
			host.err = err
		}
		fi, _ := os.Stat(host.path)
		t.Logf("host GOROOT %s: archive %d bytes in %v, image %s", v.GOROOT, fi.Size(), time.Since(start).Round(time.Millisecond), host.info.ID)
	})
	if host.err != nil {
		t.Fatalf("write host GOROOT archive: %v", host.err)
	}
	return host.goroot, host.path, host.info
}

// layerFile is one member of an image's layer as read back.
type layerFile struct {
	hdr *tar.Header
	sum [sha256.Size]byte // of a regular file's content
}

// archiveContents is a docker-archive as read back, with the digests
// computed here from the bytes.
type archiveContents struct {
	names          []string // of the outer tar, in order
	outer          []*tar.Header
	manifest       []manifestEntry
	configName     string
	config         []byte
	configDigest   string
	layerName      string
	layerDigest    string
	layer          []layerFile
	layerTrailing0 bool // the layer ends with tar's two zero blocks
}

// readArchive parses a docker-archive, streaming the layer.
func readArchive(t *testing.T, r io.Reader) archiveContents {
	t.Helper()
	var c archiveContents
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		c.names = append(c.names, hdr.Name)
		c.outer = append(c.outer, hdr)
		switch {
		case hdr.Name == "manifest.json":
			if err := json.NewDecoder(tr).Decode(&c.manifest); err != nil {
				t.Fatalf("read manifest.json: %v", err)
			}
		case strings.HasSuffix(hdr.Name, ".json"):
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			c.configName, c.config = hdr.Name, data
			s := sha256.Sum256(data)
			c.configDigest = "sha256:" + hex.EncodeToString(s[:])
		case strings.HasSuffix(hdr.Name, "/layer.tar"):
			c.layerName = hdr.Name
			h := sha256.New()
			tail := &tailWriter{}
			lr := tar.NewReader(io.TeeReader(tr, io.MultiWriter(h, tail)))
			for {
				lh, err := lr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read layer: %v", err)
				}
				fh := sha256.New()
				if _, err := io.Copy(fh, lr); err != nil {
					t.Fatal(err)
				}
				f := layerFile{hdr: lh}
				copy(f.sum[:], fh.Sum(nil))
				c.layer = append(c.layer, f)
			}
			rest, err := io.ReadAll(tr) // what the tar reader did not need
			if err != nil {
				t.Fatal(err)
			}
			h.Write(rest)
			tail.Write(rest)
			c.layerDigest = "sha256:" + hex.EncodeToString(h.Sum(nil))
			c.layerTrailing0 = len(tail.b) == 1024 && strings.Trim(string(tail.b), "\x00") == ""
		default:
			t.Fatalf("archive member %q is none of manifest.json, a config or a layer", hdr.Name)
		}
	}
	return c
}

func readArchiveFile(t *testing.T, name string) archiveContents {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readArchive(t, f)
}

// removeAllWritable removes a tree whose directories may be read-only, as
// the module cache makes them.
func removeAllWritable(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("clean up %s: %v", dir, err)
	}
}

// tailWriter keeps the last 1024 bytes written to it.
type tailWriter struct{ b []byte }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > 1024 {
		w.b = append(w.b[:0], w.b[len(w.b)-1024:]...)
	}
	return len(p), nil
}

// tlog is an io.Writer that sends each write to t.Log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
