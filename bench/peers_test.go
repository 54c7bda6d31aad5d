package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needPeer returns the named Debian-packaged server, skipping the test when it
// is not installed (failing under CI=true, where .ci/run installs it).
func needPeer(t *testing.T, name string) peer {
	t.Helper()
	p, err := lookupPeer(name, "", "")
	if errors.Is(err, errMissing) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildSeed builds bench/seedserver into a temporary directory.
func buildSeed(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "seedserver")
	cmd := exec.Command("go", "build", "-o", bin, "./seedserver")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build seedserver: %v\n%s", err, out)
	}
	return bin
}

// TestConfigsAccepted has each server check the configuration generated for
// it with its own configuration test.
func TestConfigsAccepted(t *testing.T) {
	tests := []struct {
		name string
		test func(c instanceConfig, args []string) []string
	}{
		{nameNginx, func(c instanceConfig, args []string) []string { return append([]string{"-t", "-q"}, args...) }},
		{nameCaddy, func(c instanceConfig, args []string) []string {
			return []string{"validate", "--config", filepath.Join(c.Dir, "Caddyfile"), "--adapter", "caddyfile"}
		}},
		{nameLighttpd, func(c instanceConfig, args []string) []string {
			return []string{"-tt", "-f", filepath.Join(c.Dir, "lighttpd.conf")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := needPeer(t, tt.name)
			c := instanceConfig{Dir: t.TempDir(), Docroot: t.TempDir(), Port: 1}
			args, env, err := p.setup(c)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(p.Exe, tt.test(c, args)...)
			cmd.Env = append(baseEnv(c.Dir), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s rejects its generated configuration: %v\n%s", tt.name, err, out)
			}
		})
	}
}

// TestServe starts every server that is installed, plus the seed server, on
// a real docroot and checks what each sends for every file, then that stop
// leaves none of its processes behind.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	seed := buildSeed(t)
	docroot := t.TempDir()
	// t.TempDir's parent is 0700; nginx's workers (nobody, when the test
	// runs as root) must be able to reach the docroot, as the harness
	// arranges for its own scratch directory.
	if err := os.Chmod(filepath.Dir(docroot), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := writeDocroot(docroot, benchFiles())
	if err != nil {
		t.Fatal(err)
	}
	// wantSibling: whether the gzip answer must be the .gz file itself.
	tests := []struct {
		name        string
		wantGzip    bool
		wantSibling bool
	}{
		{nameNginx, true, true},
		{nameCaddy, true, true},
		{nameLighttpd, true, false},
		{nameSeed, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p peer
			if tt.name == nameSeed {
				if p, err = lookupPeer(nameSeed, "", seed); err != nil {
					t.Fatal(err)
				}
			} else {
				p = needPeer(t, tt.name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			in, err := startInstance(p, t.TempDir(), docroot, "")
			if err != nil {
				t.Fatal(err)
			}
			d, err := in.waitReady(ctx, "/hello.html", 20*time.Second)
			if err != nil {
				in.stop(stopTimeout)
				t.Fatal(err)
			}
			if d <= 0 {
				t.Errorf("start-up %v, want > 0", d)
			}
			s, err := procTree(in.Pid())
			if err != nil || s.RSS == 0 {
				t.Errorf("procTree = %+v, %v; want a resident process", s, err)
			}
			for _, f := range files {
				c := checkFile(ctx, in.URL(f.Path()), f)
				if c.Problem != "" {
					t.Errorf("%s: %s", f.Name, c.Problem)
				}
				if f.Gzip {
					if got := c.ContentEncoding == "gzip"; got != tt.wantGzip {
						t.Errorf("%s: Content-Encoding %q, want gzip %v", f.Name, c.ContentEncoding, tt.wantGzip)
					}
					if c.Sibling != tt.wantSibling {
						t.Errorf("%s: served the .gz sibling %v, want %v", f.Name, c.Sibling, tt.wantSibling)
					}
				} else if c.ContentEncoding != "" {
					t.Errorf("%s: Content-Encoding %q without Accept-Encoding", f.Name, c.ContentEncoding)
				}
			}
			pgid := in.Pid()
			in.stop(stopTimeout)
			if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("after stop, signalling the process group gives %v, want ESRCH (a process survived)", err)
			}
			if _, err := probe(in.Port, "/hello.html"); err == nil {
				t.Error("the server still answers after stop")
			}
		})
	}
}

func TestWaitReadyFailures(t *testing.T) {
	seed := buildSeed(t)
	tests := []struct {
		name    string
		peer    peer
		docroot string
		wantErr string
	}{
		{
			name:    "exits at once",
			peer:    peer{Name: "false", Exe: "/bin/false", setup: func(instanceConfig) ([]string, []string, error) { return nil, nil, nil }},
			wantErr: "false exited before answering (exit status 1)",
		},
		{
			// An empty docroot: the seed server answers 404, which waiting
			// will not fix.
			name:    "answers 404",
			peer:    peer{Name: nameSeed, Exe: seed, setup: seedSetup},
			docroot: t.TempDir(),
			wantErr: "seed answered GET /hello.html with status 404, want 200",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := startInstance(tt.peer, t.TempDir(), tt.docroot, "")
			if err != nil {
				t.Fatal(err)
			}
			defer in.stop(stopTimeout)
			start := time.Now()
			_, err = in.waitReady(context.Background(), "/hello.html", 20*time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("waitReady error = %v, want one containing %q", err, tt.wantErr)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("waitReady took %v to give up on a final answer", time.Since(start))
			}
		})
	}
}

func TestLookupPeerErrors(t *testing.T) {
	_, err := systemPeer(peer{Name: "x", Package: "some-package"}, "no-such-server-gohttp-smol-bench")
	if !errors.Is(err, errMissing) {
		t.Errorf("missing executable: error %v is not errMissing", err)
	}
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y some-package") || !strings.Contains(err.Error(), "-skip-missing") {
		t.Errorf("missing executable: error %q does not name the package and -skip-missing", err)
	}
	tests := []struct {
		name, smol, seed, server, wantErr string
	}{
		{"no gohttp-smol binary", "", "", nameSmol, "pass -gohttp-smol PATH"},
		{"gohttp-smol binary absent", "/nonexistent/gohttp-smol", "", nameSmol, "-gohttp-smol /nonexistent/gohttp-smol"},
		{"no seed binary", "", "", nameSeed, "pass -seed PATH"},
		{"unknown server", "", "", "apache", `unknown server "apache" (known: gohttp-smol, nginx, caddy, lighttpd, seed)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lookupPeer(tt.server, tt.smol, tt.seed)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("lookupPeer error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCleanVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nginx version: nginx/1.22.1\n", "1.22.1"},
		{"lighttpd/1.4.69 (ssl) - a light and fast webserver\n", "1.4.69"},
		{"2.6.2\n", "2.6.2"},
		{"v2.7.6 h1:w0NymbG2m9PcvKWsrXO6EEkY9Ru4FJK8uQbYcev1p3A=\n", "v2.7.6"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := cleanVersion(tt.in); got != tt.want {
				t.Errorf("cleanVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	if got, want := commandLine("", "/usr/sbin/nginx", []string{"-p", "/x"}), []string{"/usr/sbin/nginx", "-p", "/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unpinned: %q, want %q", got, want)
	}
	if got, want := commandLine("0", "/usr/sbin/nginx", []string{"-p", "/x"}), []string{"taskset", "-c", "0", "/usr/sbin/nginx", "-p", "/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pinned: %q, want %q", got, want)
	}
}
