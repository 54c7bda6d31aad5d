package builderimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// TestMakeDocker makes the builder image with docker from the host GOROOT
// and uses it as smol does. It leaves smol/go:<version> loaded.
func TestMakeDocker(t *testing.T) {
	docker := requireEngine(t, "docker")
	_, _, want := hostArchive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	start := time.Now()
	info, err := Make(ctx, docker, Spec{GoVersion: testGoVersion()}, tlog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Make (warm: host GOROOT) took %v", time.Since(start).Round(time.Millisecond))
	if info.ID != want.ID || info.LayerDigest != want.LayerDigest || info.Tag != DefaultTag(testGoVersion()) {
		t.Errorf("Make = %+v, want the archive's %+v", info, want)
	}
	if !strings.HasPrefix(info.Source, "host GOROOT /") {
		t.Errorf("Source = %q, want the host GOROOT", info.Source)
	}
	checkImage(t, ctx, docker, info, nil)
}

// TestMakeDockerOtherArch makes the image of another architecture, which
// takes the download path (into an empty module cache: a cold start), and
// loads it under a test tag that it removes afterwards.
func TestMakeDockerOtherArch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipped the cold toolchain download")
	}
	docker := requireEngine(t, "docker")
	modcache := t.TempDir()
	t.Cleanup(func() { removeAllWritable(t, modcache) })
	t.Setenv("GOMODCACHE", modcache)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	arch, v := otherArch(), testGoVersion()
	spec := Spec{GoVersion: v, Arch: arch, Tag: "smol-test/go:" + v + "-" + arch}
	start := time.Now()
	info, err := Make(ctx, docker, spec, tlog{t})
	t.Cleanup(func() {
		if out, err := exec.Command(docker, "image", "rm", spec.Tag).CombinedOutput(); err != nil {
			t.Errorf("remove test image: %v: %s", err, out)
		}
	})
	if err != nil {
		need(t, "module proxy unreachable? %v", err)
	}
	t.Logf("Make (cold: download into an empty module cache) took %v", time.Since(start).Round(time.Millisecond))
	if want := toolchain.Module(v, "linux", arch) + " h1:"; !strings.HasPrefix(info.Source, want) {
		t.Errorf("Source = %q, want %q...", info.Source, want)
	}
	out, err := exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", spec.Tag).CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "linux/"+arch {
		t.Errorf("image platform %q, %v; want linux/%s", got, err, arch)
	}
}

// TestLoadPodman loads the same archive with podman.
func TestLoadPodman(t *testing.T) {
	podman := requireEngine(t, "podman")
	_, archive, info := hostArchive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	if err := loadArchive(ctx, podman, archive, info); err != nil {
		t.Fatal(err)
	}
	t.Logf("podman load took %v", time.Since(start).Round(time.Millisecond))
	// Podman raises RLIMIT_NOFILE and RLIMIT_NPROC in the container by
	// default (nofile 1048576), above the hard limits of sandboxed hosts
	// such as this project's machines, where runc then fails with "error
	// setting rlimit type 7: operation not permitted". Docker leaves them.
	checkImage(t, ctx, podman, info, []string{"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"})
}

func TestMakeErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Make(ctx, "docker", Spec{GoVersion: "1.26"}, tlog{t}); !errors.Is(err, ErrSpec) {
		t.Errorf("Make with a language version: error %v, want ErrSpec", err)
	}
	hostArchive(t) // the host go must be the pinned one for what follows
	missing := filepath.Join(t.TempDir(), "docker")
	_, err := Make(ctx, missing, Spec{GoVersion: testGoVersion()}, tlog{t})
	if err == nil || !strings.Contains(err.Error(), "load image smol/go:"+testGoVersion()+": "+missing+" load -i ") {
		t.Errorf("Make with a missing engine: error %v, want it to name the tag and the failed load", err)
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "smol-image-*.tar")); len(m) > 0 {
		t.Logf("note: temporary archives present (maybe another run's): %q", m)
	}
}

// checkImage runs the image as smol does: as an unprivileged uid with HOME
// in /tmp, and without network for the build. runArgs go into every run.
func checkImage(t *testing.T, ctx context.Context, engine string, info ImageInfo, runArgs []string) {
	runCmd := func(extra ...string) []string {
		return append(append([]string{"run", "--rm"}, runArgs...), extra...)
	}
	run := func(t *testing.T, extra ...string) string {
		t.Helper()
		args := runCmd(append([]string{"--user", "12345:12345", "-e", "HOME=/tmp"}, extra...)...)
		// Stdout only: podman may warn on stderr about cgroups it cannot
		// create on a locked-down host, which says nothing about the image.
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, engine, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s%s", engine, strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	v := testGoVersion()

	t.Run("go version", func(t *testing.T) {
		want := "go version go" + v + " linux/" + runtime.GOARCH + "\n"
		if got := run(t, "--network", "none", info.Tag, "go", "version"); got != want {
			t.Errorf("go version = %q, want %q", got, want)
		}
		// The image's default command is the same.
		out, err := exec.CommandContext(ctx, engine, runCmd("--network", "none", info.Tag)...).Output()
		if err != nil || string(out) != want {
			t.Errorf("default command: %q, %v; want %q", out, err, want)
		}
	})

	t.Run("go env", func(t *testing.T) {
		got := run(t, "--network", "none", info.Tag, "go", "env", "GOROOT", "GOPATH", "GOTOOLCHAIN", "GOPROXY", "CGO_ENABLED")
		// No C compiler in the image, so the go command turns cgo off.
		want := "/usr/local/go\n/go\nlocal\nhttps://proxy.golang.org,direct\n0\n"
		if got != want {
			t.Errorf("go env = %q, want %q", got, want)
		}
	})

	t.Run("build matches native", func(t *testing.T) {
		src, out := t.TempDir(), t.TempDir()
		files := map[string]string{
			"go.mod":  "module example.com/hello\n\ngo 1.26\n",
			"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// The container's uid reads the source and writes the output.
		if err := os.Chmod(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(out, 0o777); err != nil {
			t.Fatal(err)
		}
		flags := []string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o"}
		start := time.Now()
		run(t, append([]string{"--network", "none", "-e", "CGO_ENABLED=0",
			"-v", src + ":/src:ro", "-v", out + ":/out", "-w", "/src", info.Tag, "go"},
			append(flags, "/out/hello", ".")...)...)
		t.Logf("build in the image (cold cache): %v", time.Since(start).Round(time.Millisecond))

		native := filepath.Join(t.TempDir(), "hello")
		cmd := exec.CommandContext(ctx, "go", append(flags, native, ".")...)
		cmd.Dir = src
		cmd.Env = append(toolchain.Env(os.Environ()), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("native go build: %v\n%s", err, b)
		}
		a, err := os.ReadFile(filepath.Join(out, "hello"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(native)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("image build (%d bytes, %x) differs from native build (%d bytes, %x)",
				len(a), sha256.Sum256(a), len(b), sha256.Sum256(b))
		}
		t.Logf("both builds: %d bytes, sha256 %x", len(a), sha256.Sum256(a))
	})

	t.Run("module proxy over TLS", func(t *testing.T) {
		// The dependency step downloads with network: the go command in the
		// image must reach the module proxy and the checksum database.
		intercepted := proxyIntercepted(t, ctx)
		download := func(t *testing.T, extra ...string) (string, error) {
			args := runCmd(append([]string{"--user", "12345:12345", "-e", "HOME=/tmp"}, extra...)...)
			args = append(args, info.Tag, "go", "mod", "download", "-json", "rsc.io/quote@v1.5.2")
			out, err := exec.CommandContext(ctx, engine, args...).CombinedOutput()
			return string(out), err
		}
		t.Run("image roots", func(t *testing.T) {
			out, err := download(t)
			if intercepted != "" {
				// The image trusts only its own roots, not the host's.
				if err == nil || !strings.Contains(out, "x509: certificate signed by unknown authority") {
					t.Errorf("TLS is intercepted by %s here, yet the download did not fail on it: %v\n%s", intercepted, err, out)
				}
				t.Skipf("TLS to the proxy is intercepted here (issuer %s), which only a host CA bundle trusts", intercepted)
			}
			if err != nil {
				t.Fatalf("go mod download in the image: %v\n%s", err, out)
			}
		})
		t.Run("host roots mounted", func(t *testing.T) {
			if _, err := os.Stat(CABundle); err != nil {
				t.Skipf("no host CA bundle: %v", err)
			}
			out, err := download(t, "-v", CABundle+":"+CABundle+":ro")
			if err != nil {
				t.Fatalf("go mod download in the image with the host's %s: %v\n%s", CABundle, err, out)
			}
			if !strings.Contains(out, `"Sum": "h1:`) {
				t.Errorf("go mod download printed no checksum:\n%s", out)
			}
		})
	})
}

// proxyIntercepted reports the issuer of the module proxy's certificate when
// the image's roots do not verify it (a TLS-inspecting proxy, as on this
// project's machines and many corporate networks), or "" when they do. It
// skips the test when the proxy is unreachable.
func proxyIntercepted(t *testing.T, ctx context.Context) string {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caBundle()) {
		t.Fatal("CA bundle does not parse")
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: "proxy.golang.org", RootCAs: roots}}
	conn, err := d.DialContext(ctx, "tcp", "proxy.golang.org:443")
	var unknown x509.UnknownAuthorityError
	switch {
	case err == nil:
		conn.Close()
		return ""
	case errors.As(err, &unknown) && unknown.Cert != nil:
		return unknown.Cert.Issuer.String()
	default:
		t.Skipf("module proxy unreachable: %v", err)
		return ""
	}
}
