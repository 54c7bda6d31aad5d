package main

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	// GOHTTP_SMOL_VERSION is not --version's variable: it must not turn the
	// server into a command that prints and exits, so here --version does.
	code, out, errOut := runExit(t, []string{"GOHTTP_SMOL_VERSION=1"}, "--version")
	if code != 0 {
		t.Fatalf("--version exited %d: %s", code, errOut)
	}
	for _, want := range []string{
		"gohttp-smol " + testVersion + "\n",
		"\ngo\tgo1.",
		"\npath\tgithub.com/gohttp-smol/gohttp-smol/cmd/gohttp-smol\n",
		"\nbuild\tCGO_ENABLED=0\n",
		"\nbuild\t-trimpath=true\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--version output lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      []string
		args     []string
		code     int
		contains string
	}{
		{"help", nil, []string{"-h"}, 0, "GOHTTP_SMOL_SHUTDOWN_TIMEOUT"},
		{"unknown flag", nil, []string{"--nope"}, 2, "flag provided but not defined"},
		{"bad log format", nil, []string{"--log-format", "xml"}, 2, "want text, json or off"},
		{"bad variable", []string{"GOHTTP_SMOL_SHUTDOWN_TIMEOUT=soon"}, nil, 2, `GOHTTP_SMOL_SHUTDOWN_TIMEOUT="soon"`},
		{"missing root", nil, []string{"--addr", "127.0.0.1:0", "/nonexistent/site"}, 1, "/nonexistent/site"},
		{"bad basic auth file", nil, []string{"--addr", "127.0.0.1:0", "--basic-auth-file", "/nonexistent/htpasswd"}, 1, "basicauth: open /nonexistent/htpasswd"},
		{"missing cert", nil, []string{"--addr", "127.0.0.1:0", "--tls-cert", "/nonexistent/c", "--tls-key", "/nonexistent/k"}, 1, "tls: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runExit(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and a message with %q", code, errOut, tc.code, tc.contains)
			}
		})
	}
}

func TestListenBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, errOut := runExit(t, nil, "--addr", l.Addr().String())
	if code != 1 || !strings.Contains(errOut, "listen: ") || !strings.Contains(errOut, "address already in use") {
		t.Errorf("exit %d, stderr %q; want 1 and the listen error", code, errOut)
	}
}

// TestDefaultSite checks the built-in page and that the working directory
// is never served when no directory is given.
func TestDefaultSite(t *testing.T) {
	wd := t.TempDir()
	writeFile(t, filepath.Join(wd, "secret.txt"), "do not serve")
	p := start(t, startOpts{dir: wd}, "--addr", "127.0.0.1:0")

	resp, body := get(t, nil, p.url("/"))
	if resp.StatusCode != 200 || !strings.Contains(body, "<code>"+testVersion+"</code>") || !strings.Contains(body, "gohttp-smol /srv/www") {
		t.Errorf("GET / = %d:\n%s", resp.StatusCode, body)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Content-Type":            "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(name); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, path := range []string{"/style.css", "/favicon.svg"} {
		if resp, _ := get(t, nil, p.url(path)); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	if resp, body := get(t, nil, p.url("/secret.txt")); resp.StatusCode != 404 || strings.Contains(body, "do not serve") {
		t.Errorf("GET /secret.txt from the working directory = %d %q, want 404", resp.StatusCode, body)
	}
}

// TestEnvironment checks that variables set flags, that the command line
// wins, and PORT.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "env site")

	t.Run("variables", func(t *testing.T) {
		p := start(t, startOpts{env: []string{
			"GOHTTP_SMOL_ROOT=" + dir,
			"GOHTTP_SMOL_ADDR=127.0.0.1:0",
			"GOHTTP_SMOL_HEADER=X-One: 1\nX-Two: 2",
			"GOHTTP_SMOL_LOG_FORMAT=json",
		}})
		_, _ = get(t, nil, p.url("/"))
		resp, body := get(t, nil, p.url("/"))
		if body != "env site" || resp.Header.Get("X-One") != "1" || resp.Header.Get("X-Two") != "2" {
			t.Errorf("GET / = %q with X-One %q, X-Two %q", body, resp.Header.Get("X-One"), resp.Header.Get("X-Two"))
		}
		p.waitLog(`^\{.*"msg":"request".*"uri":"/"`, 5*time.Second)
	})

	t.Run("command line wins", func(t *testing.T) {
		p := start(t, startOpts{env: []string{
			"GOHTTP_SMOL_ROOT=/nonexistent",
			"GOHTTP_SMOL_ADDR=127.0.0.1:1",
			"GOHTTP_SMOL_HEADER=X-One: env",
		}}, "--addr", "127.0.0.1:0", "--header", "X-One: flag", dir)
		resp, body := get(t, nil, p.url("/"))
		if body != "env site" || resp.Header.Get("X-One") != "flag" {
			t.Errorf("GET / = %q with X-One %q, want the flag's", body, resp.Header.Get("X-One"))
		}
	})

	t.Run("PORT", func(t *testing.T) {
		port := freePort(t)
		p := start(t, startOpts{env: []string{"PORT=" + port}}, dir)
		if !strings.HasSuffix(p.addr, ":"+port) {
			t.Errorf("PORT=%s: serving on %q", port, p.addr)
		}
		p.addr = "127.0.0.1:" + port
		if _, body := get(t, nil, p.url("/")); body != "env site" {
			t.Errorf("GET / on PORT = %q", body)
		}
	})

	t.Run("GOHTTP_SMOL_ADDR beats PORT", func(t *testing.T) {
		p := start(t, startOpts{env: []string{"PORT=1", "GOHTTP_SMOL_ADDR=127.0.0.1:0"}}, dir)
		if strings.HasSuffix(p.addr, ":1") {
			t.Errorf("serving on %q, want GOHTTP_SMOL_ADDR's port", p.addr)
		}
	})
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
