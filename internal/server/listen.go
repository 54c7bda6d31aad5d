package server

import (
	"errors"
	"fmt"
	"net"

	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/connlimit"
	"github.com/gohttp-smol/gohttp-smol/internal/systemd"
)

// Names of passed sockets (FileDescriptorName= in the socket unit) that
// are not main listeners.
const (
	socketMetrics  = "metrics"
	socketRedirect = "redirect"
	// With --acme-domain, a socket named "http" is port 80's: redirects and
	// HTTP-01 challenges, as "redirect". Without it, "http" stays a main
	// listener, the name the plain-HTTP unit gives its socket.
	socketHTTP = "http"
	// A socket named "https" is a main listener that must serve TLS.
	socketHTTPS = "https"
)

// listeners are the sockets the server answers on.
type listeners struct {
	main     []net.Listener // at least one
	metrics  net.Listener   // nil: metrics on the main listeners' path, or off
	redirect net.Listener   // nil: no plain-HTTP redirect
}

func (ls *listeners) close() {
	for _, l := range append(ls.main, ls.metrics, ls.redirect) {
		if l != nil {
			l.Close()
		}
	}
}

// sortPassed sorts sockets passed by systemd: those named "metrics" and
// "redirect" (or "http" with acme) serve those roles, every other one is a main listener (a unit
// may listen on IPv4 and IPv6 apart, or on several ports). The first of
// each kind wins a role; extra ones are an error rather than sockets
// silently left unanswered.
func sortPassed(passed []systemd.Listener, acme, tls bool) (listeners, error) {
	var ls listeners
	for _, p := range passed {
		switch name := p.Name; {
		case name == socketHTTPS && !tls:
			// Plain HTTP on a socket the unit meant for TLS (port 443)
			// would be a misconfiguration no client could make sense of.
			return ls, errors.New(`listen: systemd passed a socket named "https", but neither --acme-domain nor --tls-cert is set: set one (GOHTTP_SMOL_ACME_DOMAIN and GOHTTP_SMOL_ACME_AGREE, for gohttp-smol-https.service)`)
		case name == socketMetrics, name == socketRedirect, acme && name == socketHTTP:
			slot := &ls.metrics
			if p.Name != socketMetrics {
				slot = &ls.redirect
			}
			if *slot != nil {
				if p.Name == socketMetrics {
					return ls, fmt.Errorf("listen: systemd passed two sockets named %q", p.Name)
				}
				return ls, errors.New(`listen: systemd passed two sockets named "redirect" or "http", which are one role`)
			}
			*slot = p.Listener
		default:
			ls.main = append(ls.main, p.Listener)
		}
	}
	if len(ls.main) == 0 {
		return ls, errors.New(`listen: systemd passed no main socket (one not named "metrics", "redirect" or "http")`)
	}
	return ls, nil
}

// listen opens the listeners: the sockets systemd passed, when it passed
// any (--addr is then ignored), and the addresses of the flags for the
// roles they leave empty.
func listen(c *config.Config) (ls listeners, err error) {
	passed, err := systemd.Listeners()
	if err != nil {
		return ls, fmt.Errorf("listen: %w", err)
	}
	defer func() {
		if err != nil {
			ls.close()
		}
	}()
	if len(passed) > 0 {
		if ls, err = sortPassed(passed, len(c.ACME.Domains) > 0, len(c.ACME.Domains) > 0 || c.TLSCert != ""); err != nil {
			return ls, err
		}
	} else {
		l, err := net.Listen("tcp", c.Addr)
		if err != nil {
			return ls, fmt.Errorf("listen: %w", err)
		}
		ls.main = []net.Listener{l}
	}
	if ls.redirect != nil && c.TLSCert == "" && len(c.ACME.Domains) == 0 {
		return ls, errors.New(`listen: systemd passed a socket named "redirect" or "http", which redirects to https, but neither --tls-cert nor --acme-domain is set`)
	}
	if ls.metrics == nil && c.MetricsAddr != "" {
		if ls.metrics, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return ls, fmt.Errorf("listen: metrics: %w", err)
		}
	}
	if ls.redirect == nil && c.RedirectAddr != "" {
		if ls.redirect, err = net.Listen("tcp", c.RedirectAddr); err != nil {
			return ls, fmt.Errorf("listen: redirect: %w", err)
		}
	}
	if c.MaxConns > 0 {
		// One count for all main listeners; metrics and redirects are
		// left out, so that a full server can still be watched.
		lim := connlimit.New(c.MaxConns)
		for i, l := range ls.main {
			ls.main[i] = lim.Listen(l)
		}
	}
	return ls, nil
}

// port returns the port of l's address, for redirects to it.
func port(l net.Listener) string {
	_, p, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return ""
	}
	return p
}
