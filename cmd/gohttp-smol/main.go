// Command gohttp-smol is a static web server in one small static binary,
// for a bare host (systemd), a Nomad exec task or a container.
//
// Usage:
//
//	gohttp-smol [flags] [DIR]
//
// It serves DIR. Without DIR (and without --root) it serves a built-in page
// saying what is running and how to point it at a directory; it never
// serves the working directory by surprise. Files up to --max-file-size are
// loaded into memory at start-up, with their compressed variants, ETags and
// types computed once; larger files are streamed from disk with sendfile.
//
// # Flags and environment
//
// Every flag --some-name can also be set by the environment variable
// GOHTTP_SMOL_SOME_NAME; a flag on the command line wins. An empty variable
// sets its flag to "" (an error for flags that are not strings).
// GOHTTP_SMOL_HEADER holds one header per line. --version has no variable.
// PORT, when set, means --addr :$PORT unless --addr or GOHTTP_SMOL_ADDR is
// given.
//
//	--addr :8080                 listen address (ignored with socket activation)
//	--root DIR                   same as the DIR argument
//	--fallback /index.html       served for extension-less paths that match nothing (SPA)
//	--listing                    list directories that have no index.html
//	--max-file-size 1MiB         larger files are streamed from disk; -1 streams all
//	--max-memory 512MiB          most bytes of held files, old and new content
//	                             together during a reload; more is refused
//	--max-conns 0                most open connections on the main listener (0: no limit)
//	--cache-control-html no-cache
//	--cache-control-immutable "public, max-age=31536000, immutable"  (fingerprinted names)
//	--cache-control-default "public, max-age=3600"
//	--header "Name: value"       extra response header, repeatable; "Name:" removes a default
//	--basic-auth-file FILE       htpasswd file of bcrypt hashes (htpasswd -B)
//	--tls-cert FILE --tls-key FILE   serve TLS with HTTP/2; files re-read when they change
//	--redirect-addr ADDR         plain-HTTP listener redirecting to https
//	--acme-domain a.com,b.com    automatic HTTPS: certificate from an ACME CA (below)
//	--acme-agree                 accept the CA's terms (required with --acme-domain)
//	--acme-email ADDR            account contact
//	--acme-ca production         production, staging (Let's Encrypt) or a directory URL
//	--acme-ca-root FILE          PEM roots for a private CA's own https
//	--acme-dir DIR               account and certificates ($STATE_DIRECTORY/acme,
//	                             else /var/lib/gohttp-smol/acme)
//	--metrics-addr ADDR          separate listener for /metrics
//	--metrics-path PATH          also serve the metrics at PATH on the main listener (off)
//	--log-format text            text, json or off: access and server logs to stdout
//	--shutdown-timeout 10s       drain time on SIGTERM/SIGINT
//	--read-header-timeout 5s --read-timeout 30s --write-timeout 10m --idle-timeout 2m
//	--max-header-bytes 64KiB
//	--version                    print version and build information
//
// With --log-format off there is no access log, and server events (start,
// reload, errors) still go to stderr as text, so that a failure is never
// silent.
//
// # Limits
//
// --max-memory bounds the file contents held in memory (files up to
// --max-file-size, with their compressed variants and listings). A site
// that needs more is refused at start (exit 1) with its largest files
// named; during a reload the content still serving counts too, so a reload
// that would hold old and new beyond the budget is refused and the old
// content keeps serving. --max-conns bounds the connections open at once
// on the main listeners, idle keep-alive ones included: further
// connections wait in the kernel's listen queue until one closes (they are
// not accepted and then dropped). The metrics and redirect listeners are
// not counted.
//
// With --basic-auth-file, at most one bcrypt comparison per CPU runs at a
// time; a request needing one while all are busy gets 503 with
// Retry-After: 1 rather than a place in a queue. Checks already made,
// passed or failed, are remembered (by a salted hash of user and password,
// so a remembered failure never refuses the right password), and no
// comparison is made for a client that has closed its connection.
//
// # Response headers
//
// Every response carries X-Content-Type-Options: nosniff and
// Referrer-Policy: strict-origin-when-cross-origin; TLS responses also
// Strict-Transport-Security: max-age=31536000. The built-in page adds a
// strict Content-Security-Policy and X-Frame-Options: DENY. With
// --basic-auth-file, the default Cache-Control values say "private"
// instead of "public" (and HTML gets "private, no-cache"), so that no shared
// cache keeps a protected file for others (RFC 9111 §3.5); a value given by
// flag is used as given, with a warning in the log when it lets shared
// caches store protected files. TLS is 1.3, or 1.2 with ECDHE and AES-GCM or
// ChaCha20-Poly1305 only (Mozilla's "intermediate").
//
// # Automatic HTTPS
//
// With --acme-domain the server gets and renews its certificate itself from
// an ACME CA (Let's Encrypt by default; RFC 8555). --addr then defaults to
// :443 and --redirect-addr to :80, which answers HTTP-01 challenges and
// redirects everything else; TLS-ALPN-01 is answered on the TLS listener.
// Only the configured names are ever ordered; a TLS client asking for
// another name gets the unrecognized_name alert. The certificate is renewed
// after two thirds of its lifetime without a restart; when that fails, the
// old one keeps serving, the CA's error is logged, retried with backoff and
// reported in the metrics (gohttp_smol_acme_*), and /readyz turns 503 once
// less than a sixth of the lifetime is left. Processes sharing --acme-dir
// take a lock there and make one order between them. DEPLOY.md has the
// details.
//
// # Endpoints
//
//	/healthz   200 "ok" while the process runs
//	/readyz    200 once the content is loaded (and, with --acme-domain, a
//	           certificate not near expiry is served); 503 before, and while
//	           draining
//	/metrics   Prometheus text format, on the --metrics-addr listener (or
//	           the socket named "metrics"), or at --metrics-path
//
// The metrics tell anyone the version and the traffic, so the main
// listener serves them only when --metrics-path is given, and then behind
// basic auth when it is on. /healthz and /readyz are outside basic auth. A
// --redirect-addr listener answers them too.
//
// # Signals
//
//	SIGTERM, SIGINT  stop accepting, /readyz 503, drain for up to
//	                 --shutdown-timeout, exit. A second signal ends the
//	                 process at once.
//	SIGHUP           reload the content (the old content keeps serving if the
//	                 new one fails to load), the TLS certificate and the
//	                 basic auth file.
//
// # systemd
//
// With socket activation (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), the
// passed sockets replace --addr: one named "metrics" serves the metrics,
// one named "redirect" the https redirect (with --acme-domain, one named
// "http" too), and every other one is a main listener; one named "https"
// is refused unless --tls-cert or --acme-domain is set. With NOTIFY_SOCKET set (Type=notify or notify-reload) the server
// sends READY=1 once it serves, RELOADING=1 and READY=1 around a reload,
// STOPPING=1 on shutdown, and WATCHDOG=1 every WATCHDOG_USEC/2.
//
// # Exit status
//
//	0  stopped by SIGTERM or SIGINT after a complete drain; --version; -h
//	1  start-up failed (content, listener, TLS, users, ACME directory), a listener failed,
//	   or the drain was cut short by --shutdown-timeout
//	2  bad flags or environment variables
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/server"
)

// version is stamped at build time by smol with -X main.version=...
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // from now on a second signal ends the process at once
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, config.ErrHelp):
		return 0
	case errors.Is(err, config.ErrUsage):
		fmt.Fprintf(stderr, "gohttp-smol: %v\nRun gohttp-smol -h for the flags.\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "gohttp-smol: %v\n", err)
	return 1
}

// run parses the command line and environment, then serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := config.Parse(args, os.LookupEnv, stderr)
	if err != nil {
		return err
	}
	if c.Version {
		printVersion(stdout)
		return nil
	}

	env := server.Env{Version: version, GoVersion: runtime.Version()}
	switch c.LogFormat {
	case "json":
		env.Log = slog.New(slog.NewJSONHandler(stdout, nil))
		env.Access = env.Log
	case "text":
		env.Log = slog.New(slog.NewTextHandler(stdout, nil))
		env.Access = env.Log
	default: // off
		env.Log = slog.New(slog.NewTextHandler(stderr, nil))
	}

	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	env.Reload = reload
	return server.Run(ctx, c, env)
}

// printVersion prints the version, then the Go version and build settings
// recorded in the binary, for bug reports and reproducibility checks.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "gohttp-smol %s\n", version)
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(w, "go\t%s\n", runtime.Version())
		return
	}
	fmt.Fprintf(w, "go\t%s\npath\t%s\n", bi.GoVersion, bi.Path)
	for _, s := range bi.Settings {
		fmt.Fprintf(w, "build\t%s=%s\n", s.Key, s.Value)
	}
}
