// Package config turns gohttp-smol's command line and environment into a
// validated [Config].
//
// Every flag --some-name may also be given as the environment variable
// GOHTTP_SMOL_SOME_NAME ([EnvName]); a flag on the command line wins over its
// variable. PORT, when set, stands for --addr :$PORT unless --addr or
// GOHTTP_SMOL_ADDR is given, so that platforms which assign a port (Nomad,
// Heroku-style runners) work without a wrapper.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// EnvPrefix is the prefix of the environment variable of every flag.
const EnvPrefix = "GOHTTP_SMOL_"

// Config is what the server is asked to do. Parse fills every field, with
// the defaults below when neither a flag nor a variable sets it.
type Config struct {
	Addr        string // --addr, default ":8080" (or ":$PORT")
	Root        string // --root or the positional DIR; "" is the embedded default site
	Fallback    string // --fallback, URL path of the SPA entry point
	Listing     bool   // --listing
	MaxFileSize int64  // --max-file-size, bytes, default 1 MiB

	CacheControlHTML      string // --cache-control-html, "" keeps site's default
	CacheControlImmutable string // --cache-control-immutable
	CacheControlDefault   string // --cache-control-default

	Headers       []Header // --header, in the order given
	BasicAuthFile string   // --basic-auth-file

	TLSCert      string // --tls-cert
	TLSKey       string // --tls-key
	RedirectAddr string // --redirect-addr

	ACME ACME // the --acme-* flags

	MetricsAddr string // --metrics-addr
	MetricsPath string // --metrics-path, default "": no metrics on the main listener

	LogFormat string // --log-format: "text" (default), "json" or "off"

	// Limits that bound what a client or a site can cost.
	MaxMemory int64 // --max-memory, bytes of file contents held at once, default 512 MiB
	MaxConns  int   // --max-conns, open connections on the main listeners; 0: no limit

	ShutdownTimeout   time.Duration // --shutdown-timeout, default 10s
	ReadHeaderTimeout time.Duration // --read-header-timeout, default 5s
	ReadTimeout       time.Duration // --read-timeout, default 30s
	WriteTimeout      time.Duration // --write-timeout, default 10m
	IdleTimeout       time.Duration // --idle-timeout, default 2m
	MaxHeaderBytes    int64         // --max-header-bytes, default 64 KiB

	Version bool // --version
}

// ACME is automatic HTTPS: the certificate comes from an ACME CA. It is on
// when Domains is not empty; --addr then defaults to :443 and
// --redirect-addr, which also answers HTTP-01 challenges, to :80.
type ACME struct {
	Domains []string // --acme-domain, comma-separated
	CA      string   // --acme-ca, the directory URL ("production" and "staging" resolved)
	Email   string   // --acme-email
	Agree   bool     // --acme-agree
	Dir     string   // --acme-dir, default $STATE_DIRECTORY/acme, else DefaultACMEDir
	CARoot  string   // --acme-ca-root, PEM file of roots trusted for the CA's own TLS
}

// ACME CA names accepted by --acme-ca besides a URL.
const (
	LetsEncrypt        = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// DefaultACMEDir holds the ACME account and certificates when neither
// --acme-dir nor systemd's STATE_DIRECTORY says where.
const DefaultACMEDir = "/var/lib/gohttp-smol/acme"

// A Header is one --header value.
type Header struct{ Name, Value string }

// ErrUsage wraps every error Parse returns for a bad command line or
// environment; the message says what was wrong.
var ErrUsage = errors.New("usage")

// ErrHelp is returned, after the usage text has been written, for -h and
// --help.
var ErrHelp = flag.ErrHelp

// Lookup reads one environment variable, like os.LookupEnv.
type Lookup func(name string) (string, bool)

// Parse parses args (without the program name) and the environment seen
// through lookup. Usage text for -h goes to out.
func Parse(args []string, lookup Lookup, out io.Writer) (Config, error) {
	var c Config
	fs := newFlagSet(&c, out)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, ErrHelp
		}
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	rootFlag := set(fs, "root") // before ApplyEnv: given on the command line
	if err := ApplyEnv(fs, lookup, noEnv); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	c.Addr = addr(c.Addr, set(fs, "addr"), lookup)
	if err := c.ACME.resolve(lookup); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if len(c.ACME.Domains) > 0 {
		if _, ok := lookup("PORT"); !ok && !set(fs, "addr") {
			c.Addr = ":443"
		}
		if !set(fs, "redirect-addr") {
			c.RedirectAddr = ":80"
		}
	}
	switch rest := fs.Args(); {
	case len(rest) > 1:
		return c, fmt.Errorf("%w: want at most one directory, got %d arguments: %q", ErrUsage, len(rest), rest)
	case len(rest) == 1 && rootFlag && c.Root != rest[0]:
		return c, fmt.Errorf("%w: directory given twice: --root %q and argument %q; give one", ErrUsage, c.Root, rest[0])
	case len(rest) == 1:
		c.Root = rest[0] // the command line wins over GOHTTP_SMOL_ROOT
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return c, nil
}

// noEnv lists the flags that have no environment variable: a variable named
// GOHTTP_SMOL_VERSION is too likely to exist for other reasons (a deploy
// script recording what it installed) to turn the server into a command
// that prints its version and exits.
var noEnv = map[string]bool{"version": true}

func newFlagSet(c *Config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gohttp-smol", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { usage(fs, out) }

	fs.StringVar(&c.Addr, "addr", ":8080", "`addr` to listen on, host:port or :port (ignored when systemd passes sockets)")
	fs.StringVar(&c.Root, "root", "", "the site's root `dir`, same as the DIR argument")
	fs.StringVar(&c.Fallback, "fallback", "", "URL `path` served for extension-less paths that match nothing (SPA), e.g. /index.html")
	fs.BoolVar(&c.Listing, "listing", false, "list directories that have no index.html")
	c.MaxFileSize = 1 << 20
	fs.Var((*sizeValue)(&c.MaxFileSize), "max-file-size", "files up to this many `bytes` are held in memory, larger ones streamed from disk (0: 1MiB, -1: stream all)")
	fs.StringVar(&c.CacheControlHTML, "cache-control-html", "", "Cache-Control `directives` for HTML (default \"no-cache\"; \"private, no-cache\" with --basic-auth-file)")
	fs.StringVar(&c.CacheControlImmutable, "cache-control-immutable", "", "Cache-Control `directives` for fingerprinted files (default \"public, max-age=31536000, immutable\"; private instead of public with --basic-auth-file)")
	fs.StringVar(&c.CacheControlDefault, "cache-control-default", "", "Cache-Control `directives` for other files (default \"public, max-age=3600\"; private instead of public with --basic-auth-file)")
	fs.Var((*headersValue)(&c.Headers), "header", "extra response header `\"Name: value\"`, repeatable; \"Name:\" removes a default one (env: one per line)")
	fs.StringVar(&c.BasicAuthFile, "basic-auth-file", "", "htpasswd `file` of user:bcrypt-hash lines; /healthz and /readyz stay open; answers 503 with Retry-After when every CPU is busy checking new passwords")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate chain `file` (PEM); re-read when it changes")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key `file` (PEM)")
	fs.StringVar(&c.RedirectAddr, "redirect-addr", "", "plain-HTTP `addr` to listen on, redirecting to https (needs --tls-cert or --acme-domain)")
	fs.Func("acme-domain", "automatic HTTPS: get the certificate for these `names` (comma-separated) from an ACME CA", func(v string) error {
		c.ACME.Domains = nil
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.ACME.Domains = append(c.ACME.Domains, d)
			}
		}
		return nil
	})
	fs.StringVar(&c.ACME.CA, "acme-ca", "production", "ACME directory `URL`, or production or staging (Let's Encrypt)")
	fs.StringVar(&c.ACME.Email, "acme-email", "", "contact email `address` for the ACME account (expiry warnings from the CA)")
	fs.BoolVar(&c.ACME.Agree, "acme-agree", false, "agree to the ACME CA's terms of service (required with --acme-domain)")
	fs.StringVar(&c.ACME.Dir, "acme-dir", "", "`directory` for the ACME account key and certificates (default $STATE_DIRECTORY/acme, else "+DefaultACMEDir+")")
	fs.StringVar(&c.ACME.CARoot, "acme-ca-root", "", "PEM `file` of roots to trust for the ACME CA's own https (a private CA such as step-ca)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "separate `addr` to serve /metrics on, e.g. 127.0.0.1:9100; the main listener then never serves them")
	fs.StringVar(&c.MetricsPath, "metrics-path", "", "`path` such as /metrics: serve the metrics there on the main listener, behind basic auth if set (off by default: they tell anyone the version and traffic); with --metrics-addr, their path there")
	fs.StringVar(&c.LogFormat, "log-format", "text", "access and server logs to stdout, in this `format`: text, json or off")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM/SIGINT, the `duration` in-flight requests get to finish")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "`duration` a client has to send the request headers")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 30*time.Second, "`duration` a client has to send a whole request")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 10*time.Minute, "`duration` to send a whole response (0: none); long enough for 10 MiB at 150 kbit/s")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 2*time.Minute, "`duration` an idle keep-alive connection stays open")
	c.MaxHeaderBytes = 64 << 10
	fs.Var((*sizeValue)(&c.MaxHeaderBytes), "max-header-bytes", "largest request head accepted, in `bytes`")
	// Limits.
	c.MaxMemory = 512 << 20
	fs.Var((*sizeValue)(&c.MaxMemory), "max-memory", "most `bytes` of file contents (with compressed variants) held in memory at once, old and new content together during a reload; a site that needs more is refused at start or reload")
	fs.IntVar(&c.MaxConns, "max-conns", 0, "at most this `count` of open connections on the main listener (0: no limit); more wait in the kernel's listen queue until one closes; idle keep-alive connections count")
	fs.BoolVar(&c.Version, "version", false, "print the version and build information, then exit")
	return fs
}

// set reports whether flag name was given on the command line or through
// its environment variable.
func set(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// addr applies PORT: it is used only when neither --addr nor
// GOHTTP_SMOL_ADDR was given.
func addr(current string, given bool, lookup Lookup) string {
	if given {
		return current
	}
	if port, ok := lookup("PORT"); ok && port != "" {
		return ":" + port
	}
	return current
}

// resolve checks the --acme-* flags and fills in their defaults.
func (a *ACME) resolve(lookup Lookup) error {
	if len(a.Domains) == 0 {
		if a.Email != "" || a.Agree || a.Dir != "" || a.CARoot != "" {
			return errors.New("the --acme-* flags need --acme-domain, the names to get a certificate for")
		}
		a.CA = ""
		return nil
	}
	if !a.Agree {
		return errors.New("--acme-domain: the CA's terms of service must be accepted first: read them (Let's Encrypt: https://letsencrypt.org/repository/) and add --acme-agree (GOHTTP_SMOL_ACME_AGREE=true)")
	}
	switch a.CA {
	case "production", "":
		a.CA = LetsEncrypt
	case "staging":
		a.CA = LetsEncryptStaging
	default:
		if !strings.HasPrefix(a.CA, "https://") {
			return fmt.Errorf("--acme-ca %q: want production, staging, or the https:// URL of an ACME directory", a.CA)
		}
	}
	if a.Dir == "" {
		a.Dir = DefaultACMEDir
		// systemd may list several state directories, separated by colons;
		// the first is the unit's own.
		if sd, ok := lookup("STATE_DIRECTORY"); ok && sd != "" {
			first, _, _ := strings.Cut(sd, ":")
			a.Dir = first + "/acme"
		}
	}
	return nil
}

func (c *Config) validate() error {
	switch c.LogFormat {
	case "text", "json", "off":
	default:
		return fmt.Errorf("--log-format %q: want text, json or off", c.LogFormat)
	}
	if len(c.ACME.Domains) > 0 && c.TLSCert != "" {
		return errors.New("--acme-domain and --tls-cert both give the certificate: choose one")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.RedirectAddr != "" && c.TLSCert == "" && len(c.ACME.Domains) == 0 {
		return errors.New("--redirect-addr redirects to https: it needs --tls-cert and --tls-key, or --acme-domain")
	}
	if c.Fallback != "" && !strings.HasPrefix(c.Fallback, "/") {
		return fmt.Errorf("--fallback %q: want a URL path starting with /, e.g. /index.html", c.Fallback)
	}
	if p := c.MetricsPath; p != "" && (!strings.HasPrefix(p, "/") || p == "/" || p == "/healthz" || p == "/readyz") {
		return fmt.Errorf("--metrics-path %q: want a path such as /metrics (not /, /healthz or /readyz), or \"\" to disable", p)
	}
	for _, a := range []struct{ flag, addr string }{{"addr", c.Addr}, {"redirect-addr", c.RedirectAddr}, {"metrics-addr", c.MetricsAddr}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("--%s %q: want host:port or :port: %w", a.flag, a.addr, err)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"shutdown-timeout", c.ShutdownTimeout}, {"read-header-timeout", c.ReadHeaderTimeout},
		{"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"idle-timeout", c.IdleTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("--%s %v: must not be negative", d.flag, d.v)
		}
	}
	if c.MaxMemory <= 0 {
		return fmt.Errorf("--max-memory %d: want a positive size such as 512MiB", c.MaxMemory)
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("--max-conns %d: want 0 (no limit) or a positive count", c.MaxConns)
	}
	if c.MaxHeaderBytes < 1<<10 || c.MaxHeaderBytes > 16<<20 {
		return fmt.Errorf("--max-header-bytes %d: want between 1KiB and 16MiB", c.MaxHeaderBytes)
	}
	return nil
}
