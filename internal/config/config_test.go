package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// env returns a Lookup over the given NAME=value pairs.
func env(pairs ...string) Lookup {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ flag, env string }{
		{"addr", "GOHTTP_SMOL_ADDR"},
		{"shutdown-timeout", "GOHTTP_SMOL_SHUTDOWN_TIMEOUT"},
		{"cache-control-immutable", "GOHTTP_SMOL_CACHE_CONTROL_IMMUTABLE"},
		{"tls-cert", "GOHTTP_SMOL_TLS_CERT"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			if got := EnvName(tc.flag); got != tc.env {
				t.Errorf("EnvName(%q) = %q, want %q", tc.flag, got, tc.env)
			}
			if got, ok := FlagName(tc.env); !ok || got != tc.flag {
				t.Errorf("FlagName(%q) = %q, %v; want %q, true", tc.env, got, ok, tc.flag)
			}
		})
	}
	for _, bad := range []string{"PORT", "GOHTTP_SMOL_", "gohttp_smol_addr"} {
		if got, ok := FlagName(bad); ok {
			t.Errorf("FlagName(%q) = %q, true; want false", bad, got)
		}
	}
}

// TestEveryFlagHasAVariable checks the mapping over the real flag set, so
// that a flag added later cannot miss its variable.
func TestEveryFlagHasAVariable(t *testing.T) {
	var c Config
	fs := newFlagSet(&c, &bytes.Buffer{})
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if noEnv[f.Name] {
			return
		}
		n++
		name, ok := FlagName(EnvName(f.Name))
		if !ok || name != f.Name {
			t.Errorf("flag %q: variable %q maps back to %q", f.Name, EnvName(f.Name), name)
		}
	})
	if n != 30 {
		t.Errorf("%d flags with a variable, want 30 (the contract's list)", n)
	}
}

func TestParse(t *testing.T) {
	defaults, err := Parse(nil, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want func(c *Config)
	}{
		{"defaults", nil, nil, func(c *Config) {}},
		{"positional dir", []string{"/srv/www"}, nil, func(c *Config) { c.Root = "/srv/www" }},
		{"root flag", []string{"--root", "/srv/www"}, nil, func(c *Config) { c.Root = "/srv/www" }},
		{"root flag and same dir", []string{"--root=/a", "/a"}, nil, func(c *Config) { c.Root = "/a" }},
		{"env sets", nil, []string{"GOHTTP_SMOL_SHUTDOWN_TIMEOUT=5s", "GOHTTP_SMOL_LISTING=true", "GOHTTP_SMOL_ROOT=/e"},
			func(c *Config) { c.ShutdownTimeout = 5 * time.Second; c.Listing = true; c.Root = "/e" }},
		{"flag wins over env", []string{"--shutdown-timeout=3s"}, []string{"GOHTTP_SMOL_SHUTDOWN_TIMEOUT=5s"},
			func(c *Config) { c.ShutdownTimeout = 3 * time.Second }},
		{"positional wins over env root", []string{"/cli"}, []string{"GOHTTP_SMOL_ROOT=/env"}, func(c *Config) { c.Root = "/cli" }},
		{"PORT", nil, []string{"PORT=9000"}, func(c *Config) { c.Addr = ":9000" }},
		{"addr flag beats PORT", []string{"--addr", "127.0.0.1:1"}, []string{"PORT=9000"}, func(c *Config) { c.Addr = "127.0.0.1:1" }},
		{"addr env beats PORT", nil, []string{"PORT=9000", "GOHTTP_SMOL_ADDR=:7"}, func(c *Config) { c.Addr = ":7" }},
		{"empty PORT ignored", nil, []string{"PORT="}, func(c *Config) {}},
		{"empty string variable", nil, []string{"GOHTTP_SMOL_METRICS_PATH="}, func(c *Config) { c.MetricsPath = "" }},
		{"sizes", []string{"--max-file-size", "2MiB", "--max-header-bytes=8KiB"}, nil,
			func(c *Config) { c.MaxFileSize = 2 << 20; c.MaxHeaderBytes = 8 << 10 }},
		{"stream everything", []string{"--max-file-size=-1"}, nil, func(c *Config) { c.MaxFileSize = -1 }},
		{"limits", []string{"--max-memory", "64MiB"}, []string{"GOHTTP_SMOL_MAX_CONNS=100"},
			func(c *Config) { c.MaxMemory = 64 << 20; c.MaxConns = 100 }},
		{"metrics opt-in", []string{"--metrics-path", "/metrics"}, nil, func(c *Config) { c.MetricsPath = "/metrics" }},
		{"headers repeat", []string{"--header", "X-A: 1", "--header=X-B:two words "}, nil,
			func(c *Config) { c.Headers = []Header{{"X-A", "1"}, {"X-B", "two words"}} }},
		{"headers from env, one per line", nil, []string{"GOHTTP_SMOL_HEADER=X-A: 1\n\nX-B: 2\n"},
			func(c *Config) { c.Headers = []Header{{"X-A", "1"}, {"X-B", "2"}} }},
		{"header flag replaces env", []string{"--header", "X-C: 3"}, []string{"GOHTTP_SMOL_HEADER=X-A: 1"},
			func(c *Config) { c.Headers = []Header{{"X-C", "3"}} }},
		{"version has no variable", nil, []string{"GOHTTP_SMOL_VERSION=1.2.3"}, func(c *Config) {}},
		{"version flag", []string{"--version"}, nil, func(c *Config) { c.Version = true }},
		{"single dash", []string{"-listing"}, nil, func(c *Config) { c.Listing = true }},
		{"tls", []string{"--tls-cert=c.pem", "--tls-key=k.pem", "--redirect-addr=:80"}, nil,
			func(c *Config) { c.TLSCert, c.TLSKey, c.RedirectAddr = "c.pem", "k.pem", ":80" }},
		{"acme defaults", []string{"--acme-domain", " example.com, www.example.com,", "--acme-agree"}, nil,
			func(c *Config) {
				c.Addr, c.RedirectAddr = ":443", ":80"
				c.ACME = ACME{Domains: []string{"example.com", "www.example.com"}, CA: LetsEncrypt, Agree: true, Dir: DefaultACMEDir}
			}},
		{"acme from env, systemd state directory", nil,
			[]string{"GOHTTP_SMOL_ACME_DOMAIN=example.com", "GOHTTP_SMOL_ACME_AGREE=true", "GOHTTP_SMOL_ACME_CA=staging",
				"GOHTTP_SMOL_ACME_EMAIL=ops@example.com", "STATE_DIRECTORY=/var/lib/site:/var/lib/other"},
			func(c *Config) {
				c.Addr, c.RedirectAddr = ":443", ":80"
				c.ACME = ACME{Domains: []string{"example.com"}, CA: LetsEncryptStaging, Email: "ops@example.com", Agree: true, Dir: "/var/lib/site/acme"}
			}},
		{"acme with addresses, no port 80, private CA", []string{"--acme-domain=a.test", "--acme-agree", "--addr=127.0.0.1:8443",
			"--redirect-addr=", "--acme-ca=https://ca.internal/acme/directory", "--acme-ca-root=root.pem", "--acme-dir=/d"}, nil,
			func(c *Config) {
				c.Addr = "127.0.0.1:8443"
				c.ACME = ACME{Domains: []string{"a.test"}, CA: "https://ca.internal/acme/directory", Agree: true, Dir: "/d", CARoot: "root.pem"}
			}},
		{"acme keeps PORT", []string{"--acme-domain=a.test", "--acme-agree"}, []string{"PORT=8443"},
			func(c *Config) {
				c.Addr, c.RedirectAddr = ":8443", ":80"
				c.ACME = ACME{Domains: []string{"a.test"}, CA: LetsEncrypt, Agree: true, Dir: DefaultACMEDir}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.args, env(tc.env...), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := defaults
			want.Headers = nil
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q, %q)\n got %+v\nwant %+v", tc.args, tc.env, got, want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr: ":8080", MaxFileSize: 1 << 20, LogFormat: "text", MaxMemory: 512 << 20,
		ShutdownTimeout: 10 * time.Second, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", c, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string // substring of the message
	}{
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined: -nope"},
		{"two dirs", []string{"a", "b"}, nil, "at most one directory"},
		{"dir twice", []string{"--root", "a", "b"}, nil, "directory given twice"},
		{"bad env duration", nil, []string{"GOHTTP_SMOL_SHUTDOWN_TIMEOUT=soon"}, `GOHTTP_SMOL_SHUTDOWN_TIMEOUT="soon"`},
		{"empty env bool", nil, []string{"GOHTTP_SMOL_LISTING="}, `GOHTTP_SMOL_LISTING=""`},
		{"bad size", []string{"--max-file-size", "1 potato"}, nil, "whole number of bytes"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "want text, json or off"},
		{"cert without key", []string{"--tls-cert", "c"}, nil, "go together"},
		{"redirect without tls", []string{"--redirect-addr", ":80"}, nil, "needs --tls-cert"},
		{"acme without agreement", []string{"--acme-domain", "example.com"}, nil, "add --acme-agree"},
		{"acme flag without domain", []string{"--acme-agree"}, nil, "need --acme-domain"},
		{"acme and tls cert", []string{"--acme-domain=a.test", "--acme-agree", "--tls-cert=c", "--tls-key=k"}, nil, "choose one"},
		{"acme plain http CA", []string{"--acme-domain=a.test", "--acme-agree", "--acme-ca=http://ca/dir"}, nil, "https:// URL"},
		{"relative fallback", []string{"--fallback", "index.html"}, nil, "starting with /"},
		{"metrics on healthz", []string{"--metrics-path", "/healthz"}, nil, "--metrics-path"},
		{"bad addr", []string{"--addr", "8080"}, nil, "want host:port"},
		{"bad port env", nil, []string{"PORT=x:y"}, "--addr"},
		{"negative timeout", []string{"--idle-timeout=-1s"}, nil, "negative"},
		{"tiny header limit", []string{"--max-header-bytes=10"}, nil, "between 1KiB and 16MiB"},
		{"no memory", []string{"--max-memory", "0"}, nil, "--max-memory 0: want a positive size"},
		{"bad memory env", nil, []string{"GOHTTP_SMOL_MAX_MEMORY=lots"}, `GOHTTP_SMOL_MAX_MEMORY="lots"`},
		{"negative conns", []string{"--max-conns=-1"}, nil, "--max-conns -1: want 0 (no limit)"},
		{"header without colon", []string{"--header", "X-A"}, nil, `want "Name: value"`},
		{"header bad name", []string{"--header", "X A: 1"}, nil, "must be a token"},
		{"header control char", nil, []string{"GOHTTP_SMOL_HEADER=X-A: a\rb"}, "control character"},
		{"header content-length", []string{"--header", "Content-Length: 1"}, nil, "cannot be overridden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, env(tc.env...), &bytes.Buffer{})
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("Parse(%q, %q) = %v, want an ErrUsage", tc.args, tc.env, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1048576", 1 << 20}, {"1MiB", 1 << 20}, {"64KiB", 64 << 10}, {"2 GiB", 2 << 30},
		{"1MB", 1e6}, {"10KB", 1e4}, {"5B", 5}, {"-1", -1},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "MiB", "1.5MiB", "1TiB", "9999999999GiB", "0x10"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
	for _, n := range []int64{0, 1, 1 << 20, 64 << 10, 3 << 30, 1000} {
		if back, err := parseSize(formatSize(n)); err != nil || back != n {
			t.Errorf("formatSize(%d) = %q does not parse back: %d, %v", n, formatSize(n), back, err)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"-h"}, env(), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("Parse(-h) = %v, want ErrHelp", err)
	}
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("usage differs from %s (go test -update to accept):\n%s", golden, out.String())
	}
}
