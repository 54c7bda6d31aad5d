package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/acmecert"
	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/metrics"
)

// newACME makes the certificate manager of --acme-domain. http01 says
// whether a plain-HTTP listener can answer HTTP-01 challenges.
func newACME(c *config.Config, http01 bool, log *slog.Logger) (*acmecert.Manager, error) {
	client := http.DefaultClient
	if c.ACME.CARoot != "" {
		pem, err := os.ReadFile(c.ACME.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acme: --acme-ca-root: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acme: --acme-ca-root %s: no PEM certificate in it", c.ACME.CARoot)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client = &http.Client{Transport: tr}
	}
	// The ACME client has no overall timeout of its own; one stuck request
	// must not stall renewals forever.
	client = &http.Client{Transport: client.Transport, Timeout: time.Minute}
	m, err := acmecert.New(acmecert.Options{
		Domains:      c.ACME.Domains,
		DirectoryURL: c.ACME.CA,
		Email:        c.ACME.Email,
		Dir:          c.ACME.Dir,
		HTTPClient:   client,
		HTTP01:       http01,
		Log:          log,
	})
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("%w (set --acme-dir to a directory this user may write, or run under systemd with StateDirectory=)", err)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// acmeTLS makes conf serve m's certificate and answer TLS-ALPN-01
// validations (RFC 8737 §6: the "acme-tls/1" protocol).
func acmeTLS(conf *tls.Config, m *acmecert.Manager) {
	conf.GetCertificate = m.GetCertificate
	conf.NextProtos = []string{"h2", "http/1.1", "acme-tls/1"}
}

// acmeMetrics reports the certificate's validity and the renewal state.
func acmeMetrics(m *acmecert.Manager) func() []metrics.Sample {
	return func() []metrics.Sample {
		s := m.Status()
		failing := 0.0
		if s.LastError != "" {
			failing = 1
		}
		out := []metrics.Sample{
			{Name: "acme_certificate_not_after_seconds", Type: "gauge", Help: "Expiry of the certificate served, in seconds since the Unix epoch; 0 before the first.", Value: unix(s.NotAfter)},
			{Name: "acme_certificate_not_before_seconds", Type: "gauge", Help: "Start of validity of the certificate served, in seconds since the Unix epoch; 0 before the first.", Value: unix(s.NotBefore)},
			{Name: "acme_orders_total", Type: "counter", Help: "Certificate orders this process placed with the CA.", Value: float64(s.Orders)},
			{Name: "acme_renewal_failures_total", Type: "counter", Help: "Failed attempts to obtain a certificate.", Value: float64(s.Failures)},
			{Name: "acme_renewal_failing", Type: "gauge", Help: "1 while the last attempt to obtain a certificate failed; the error label holds the CA's answer.",
				Labels: `error="` + metrics.Escape(s.LastError) + `"`, Value: failing},
			{Name: "acme_last_renewal_error_time_seconds", Type: "gauge", Help: "Time of the last failed attempt, in seconds since the Unix epoch; 0 if none.", Value: unix(s.LastErrorTime)},
		}
		return out
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}
