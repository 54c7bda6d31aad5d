// Package server runs gohttp-smol: it loads the content, opens the
// listeners (or takes them from systemd), serves until its context ends,
// reloads on request and drains in-flight requests before it returns.
//
// Lifecycle, as the service manager sees it:
//
//  1. The content is loaded, then the listeners are served, then /readyz
//     turns 200 and READY=1 is sent. With socket activation, connections
//     that arrive before that wait in the socket's backlog.
//  2. Each value received on Env.Reload sends RELOADING=1, loads the
//     content anew and swaps it in atomically (a failed load keeps the old
//     content and is logged), re-reads the TLS certificate and the basic
//     auth file (each kept as it was when it fails), then sends READY=1.
//  3. When the context ends, /readyz turns 503, STOPPING=1 is sent, the
//     listeners are closed and in-flight requests get up to
//     Config.ShutdownTimeout to finish; connections still busy after that
//     are closed and Run returns an error.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/acmecert"
	"github.com/gohttp-smol/gohttp-smol/internal/basicauth"
	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/defaultsite"
	"github.com/gohttp-smol/gohttp-smol/internal/h1"
	"github.com/gohttp-smol/gohttp-smol/internal/metrics"
	"github.com/gohttp-smol/gohttp-smol/internal/site"
	"github.com/gohttp-smol/gohttp-smol/internal/systemd"
	"github.com/gohttp-smol/gohttp-smol/internal/tlscert"
)

// Env is what Run needs from the process around it.
type Env struct {
	Version   string // reported by /metrics and the default site
	GoVersion string

	Log    *slog.Logger // server events: start, reload, shutdown, errors
	Access *slog.Logger // one line per request; nil for none

	// Reload asks for a reload each time it receives (SIGHUP).
	Reload <-chan os.Signal

	// Lookup reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; nil
	// means os.LookupEnv.
	Lookup func(string) (string, bool)
}

// Run serves c until ctx ends, then drains; see the package documentation.
// It returns nil after a complete drain, and an error when start-up fails,
// a listener fails, or the drain was cut short.
func Run(ctx context.Context, c config.Config, env Env) error {
	if env.Lookup == nil {
		env.Lookup = os.LookupEnv
	}
	r := &runner{c: c, env: env, log: env.Log}
	return r.run(ctx)
}

type runner struct {
	c        config.Config
	env      Env
	log      *slog.Logger
	siteOpts site.Options
	h        *handler
	certs    *tlscert.Holder   // nil without TLS
	acme     *acmecert.Manager // nil without --acme-domain
	notifier *systemd.Notifier
	servers  []stopper
}

// A stopper is a server that shuts down gracefully, or at once.
type stopper interface {
	Shutdown(context.Context) error
	Close() error
}

func (r *runner) run(ctx context.Context) error {
	c := &r.c
	notifySocket, _ := r.env.Lookup("NOTIFY_SOCKET")
	n, err := systemd.NewNotifier(notifySocket)
	if err != nil {
		r.log.Warn("not notifying systemd", "err", err)
	}
	r.notifier = n

	started := time.Now()
	headers := responseHeaders(c)
	r.siteOpts = site.Options{
		Header:      fieldMap(headers),
		Dir:         c.Root,
		MaxFileSize: c.MaxFileSize,
		MaxMemory:   c.MaxMemory,
		Fallback:    c.Fallback,
		Listing:     c.Listing,
		CacheControl: site.CacheControl{
			HTML:      c.CacheControlHTML,
			Immutable: c.CacheControlImmutable,
			Default:   c.CacheControlDefault,
			// Decided once, at load: every response of a protected site is
			// for its user only, and the site's prepared headers say so.
			Private: c.BasicAuthFile != "",
		},
	}
	r.warnSharedCache()
	if c.Root == "" {
		r.siteOpts.FS = defaultsite.FS(r.env.Version, r.env.GoVersion, started)
	}
	content, err := site.Load(ctx, r.siteOpts)
	if err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while loading: a normal stop
		}
		return budgetHint(err) // "site: load DIR: ..."
	}
	if b := content.Stats().Bytes; b > c.MaxMemory/2 {
		r.log.Warn("the content takes more than half of --max-memory: a reload, which holds old and new content at once, will be refused unless it shrinks", "bytes_in_memory", b, "max_memory", c.MaxMemory)
	}

	r.h = &handler{headers: headers}
	r.h.site.Store(content)
	r.h.metrics = metrics.New(r.env.Version, r.env.GoVersion, func() metrics.CacheStats {
		s := r.h.site.Load().Stats()
		return metrics.CacheStats{Entries: s.Entries, Streamed: s.Streamed, Bytes: s.Bytes}
	})
	r.h.access = r.env.Access
	if c.BasicAuthFile != "" {
		u, err := loadUsers(c.BasicAuthFile)
		if err != nil {
			return err
		}
		r.h.users.Store(u)
	}
	if c.TLSCert != "" {
		if r.certs, err = tlscert.Load(c.TLSCert, c.TLSKey, 0, r.log); err != nil {
			return err
		}
	}

	ls, err := listen(c)
	if err != nil {
		return err
	}
	if len(c.ACME.Domains) > 0 {
		if r.acme, err = newACME(c, ls.redirect != nil, r.log); err != nil {
			ls.close()
			return err
		}
		r.h.notReady = r.acme.Ready
		r.h.metrics.Add(acmeMetrics(r.acme))
		go r.acme.Run(ctx)
	}
	if ls.metrics == nil {
		r.h.metricsPath = c.MetricsPath // "" unless the operator opted in
	}
	errc := r.serve(ls)

	r.h.ready.Store(true)
	stats := content.Stats()
	root := c.Root
	if root == "" {
		root = "(built-in default site)"
	}
	attrs := []any{"version", r.env.Version, "addr", addrs(ls.main), "tls", r.certs != nil || r.acme != nil,
		"root", root, "files", stats.Entries, "bytes_in_memory", stats.Bytes, "start_ms", time.Since(started).Milliseconds()}
	if ls.metrics != nil {
		attrs = append(attrs, "metrics_addr", ls.metrics.Addr().String())
	}
	if ls.redirect != nil {
		attrs = append(attrs, "redirect_addr", ls.redirect.Addr().String())
	}
	if r.acme != nil {
		attrs = append(attrs, "acme_domains", strings.Join(r.acme.Domains(), ","))
	}
	r.log.Info("serving", attrs...)
	r.notify(r.notifier.Ready())

	wctx, stopWatchdog := context.WithCancel(context.Background())
	defer stopWatchdog()
	if d, err := systemd.WatchdogInterval(r.env.Lookup, os.Getpid()); err != nil {
		r.log.Warn("no watchdog pings", "err", err)
	} else if d > 0 {
		go r.notifier.Watchdog(wctx, d, r.notify)
	}

	for {
		select {
		case <-ctx.Done():
			stopWatchdog()
			return r.shutdown()
		case <-r.env.Reload:
			r.reload(ctx)
		case err := <-errc:
			r.log.Error("a listener failed; shutting down", "err", err)
			r.shutdown()
			return fmt.Errorf("serve: %w", err)
		}
	}
}

// serve starts one goroutine per listener. Errors other than the normal
// end of serving arrive on the returned channel.
func (r *runner) serve(ls listeners) <-chan error {
	c := &r.c
	errLog := slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: c.ReadHeaderTimeout,
			ReadTimeout:       c.ReadTimeout,
			WriteTimeout:      c.WriteTimeout,
			IdleTimeout:       c.IdleTimeout,
			MaxHeaderBytes:    int(c.MaxHeaderBytes),
			ErrorLog:          errLog,
		}
	}

	type job struct {
		srv interface{ Serve(net.Listener) error }
		l   net.Listener
	}
	var jobs []job
	add := func(s *http.Server, l net.Listener) {
		r.servers = append(r.servers, s)
		jobs = append(jobs, job{s, l})
	}
	main := newServer(r.h)
	switch {
	case r.certs != nil || r.acme != nil:
		if r.acme != nil {
			main.TLSConfig = tlsConfig(nil)
			acmeTLS(main.TLSConfig, r.acme)
		} else {
			main.TLSConfig = tlsConfig(r.certs.GetCertificate)
		}
		r.servers = append(r.servers, main)
		for _, l := range ls.main {
			jobs = append(jobs, job{tlsServer{main}, l})
		}
	default:
		// Plain HTTP/1.1: the common requests are served by h1, the rest
		// by main, to which h1 hands their connections.
		fast := &h1.Server{HTTP: main}
		r.servers = append(r.servers, fast)
		for _, l := range ls.main {
			jobs = append(jobs, job{fast, l})
		}
	}
	if ls.metrics != nil {
		path := c.MetricsPath
		if path == "" {
			path = "/metrics"
		}
		mux := http.NewServeMux()
		mux.Handle(path, r.h.metrics)
		mux.HandleFunc("/healthz", r.h.serve)
		mux.HandleFunc("/readyz", r.h.serve)
		add(newServer(mux), ls.metrics)
	}
	if ls.redirect != nil {
		var h http.Handler = redirectHandler(port(ls.main[0]), r.h)
		if r.acme != nil {
			h = r.acme.HTTPHandler(h)
		}
		add(newServer(h), ls.redirect)
	}

	errc := make(chan error, len(jobs))
	for _, j := range jobs {
		go func() {
			if err := j.srv.Serve(j.l); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", j.l.Addr(), err)
			}
		}()
	}
	return errc
}

// tlsServer serves TLS with the certificates of its TLSConfig.
type tlsServer struct{ *http.Server }

func (s tlsServer) Serve(l net.Listener) error { return s.ServeTLS(l, "", "") }

// reload loads the content, the certificate and the users anew; each part
// that fails keeps what it replaces.
func (r *runner) reload(ctx context.Context) {
	r.notify(r.notifier.Reloading())
	start, ok := time.Now(), true
	opts := r.siteOpts
	opts.Held = r.h.site.Load().Stats().Bytes // serving until the swap
	content, err := site.Load(ctx, opts)
	if err != nil {
		ok = false
		r.log.Error("reload: content not reloaded; the previous content keeps serving", "err", budgetHint(err))
	} else {
		r.h.site.Store(content)
		s := content.Stats()
		r.log.Info("reload: content reloaded", "files", s.Entries, "bytes_in_memory", s.Bytes, "took_ms", time.Since(start).Milliseconds())
	}
	if r.certs != nil {
		if notAfter, err := r.certs.Reload(); err != nil {
			ok = false
			r.log.Error("reload: TLS certificate not reloaded; the previous one stays", "err", err)
		} else {
			r.log.Info("reload: TLS certificate reloaded", "not_after", notAfter)
		}
	}
	if r.c.BasicAuthFile != "" {
		if u, err := loadUsers(r.c.BasicAuthFile); err != nil {
			ok = false
			r.log.Error("reload: basic auth users not reloaded; the previous ones stay", "err", err)
		} else {
			r.h.users.Store(u)
		}
	}
	r.h.metrics.Reloaded(ok)
	r.notify(r.notifier.Ready())
}

// warnSharedCache warns about each Cache-Control value given by flag that
// lets a shared cache keep a protected response. It is a warning, not an
// error: a cache in front that checks credentials itself makes it right.
func (r *runner) warnSharedCache() {
	c := &r.c
	if c.BasicAuthFile == "" {
		return
	}
	for _, f := range []struct{ flag, value string }{
		{"cache-control-html", c.CacheControlHTML},
		{"cache-control-immutable", c.CacheControlImmutable},
		{"cache-control-default", c.CacheControlDefault},
	} {
		if site.SharedCacheable(f.value) {
			r.log.Warn("--"+f.flag+" lets shared caches serve protected content to anyone (RFC 9111 §3.5); use private unless a cache in front checks credentials itself", "value", f.value)
		}
	}
}

// budgetHint adds to a load refused for its memory what the operator can
// do about it.
func budgetHint(err error) error {
	if errors.Is(err, site.ErrOverBudget) {
		return fmt.Errorf("%w; raise --max-memory, or lower --max-file-size so that the largest files are streamed from disk", err)
	}
	return err
}

// loadUsers reads the password file. Its checks skip the password hash for
// clients that have gone, which h1 alone cannot tell by the request's
// context.
func loadUsers(path string) (*basicauth.Users, error) {
	u, err := basicauth.Load(path)
	if err != nil {
		return nil, err
	}
	u.Alive = h1.ClientAlive
	return u, nil
}

// shutdown stops accepting and drains every server at once, within the
// shutdown timeout.
func (r *runner) shutdown() error {
	r.h.ready.Store(false)
	r.notify(r.notifier.Stopping())
	r.log.Info("shutting down: draining in-flight requests", "timeout", r.c.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), r.c.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	cut := false
	for _, s := range r.servers {
		wg.Go(func() {
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
				mu.Lock()
				cut = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if cut {
		return fmt.Errorf("shutdown: requests still in flight after %v; their connections were closed", r.c.ShutdownTimeout)
	}
	r.log.Info("stopped")
	return nil
}

// notify logs a failed notification: the service manager may then time
// the service out, and the log should say why.
func (r *runner) notify(err error) {
	if err != nil {
		r.log.Warn("systemd notification failed", "err", err)
	}
}

// responseHeaders returns the headers set on every response: the security
// defaults, a Content-Security-Policy for the built-in site, then the
// --header values, each replacing a default of the same name. A --header
// with an empty value removes that header.
func responseHeaders(c *config.Config) []header {
	list := []config.Header{
		{Name: "X-Content-Type-Options", Value: "nosniff"},
		{Name: "Referrer-Policy", Value: "strict-origin-when-cross-origin"},
	}
	if c.Root == "" {
		list = append(list,
			config.Header{Name: "Content-Security-Policy", Value: defaultsite.ContentSecurityPolicy},
			config.Header{Name: "X-Frame-Options", Value: "DENY"})
	}
	var out []header
	for _, x := range append(list, c.Headers...) {
		name := http.CanonicalHeaderKey(x.Name)
		i := 0
		for i < len(out) && out[i].name != name {
			i++
		}
		switch {
		case x.Value == "" && i < len(out):
			out = append(out[:i], out[i+1:]...)
		case x.Value == "":
		case i < len(out):
			out[i].value = []string{x.Value}
		default:
			out = append(out, header{name, []string{x.Value}})
		}
	}
	return out
}

// fieldMap returns headers as a header map, for site.Options.Header: the
// site sets them on its responses, and builds them into the heads it
// prepares, while the handler sets them on the responses it answers itself.
func fieldMap(headers []header) http.Header {
	h := make(http.Header, len(headers))
	for _, x := range headers {
		h[x.name] = x.value
	}
	return h
}

func addrs(ls []net.Listener) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Addr().String())
	}
	return strings.Join(s, ",")
}
