// Package acmecert obtains and renews the server's TLS certificate from an
// ACME certificate authority (RFC 8555), such as Let's Encrypt, and serves
// it, so that a site is on https with no other tool.
//
// A [Manager] is built for a fixed list of names. It never asks the CA for
// any other name: a TLS client asking for a name not on the list (SNI) gets
// the unrecognized_name alert (RFC 6066 §3), not a certificate for another
// name. It answers the CA's challenges itself, HTTP-01 (RFC 8555 §8.3) on
// the plain-HTTP listener through [Manager.HTTPHandler] and TLS-ALPN-01
// (RFC 8737) on the TLS listener through [Manager.GetCertificate].
//
// The account key and the certificate (with its key) live in one
// directory, each file 0600 and replaced atomically. [Manager.Run] renews
// the certificate once two thirds of its lifetime have passed, swapping it
// in for new handshakes without dropping a connection. A failed attempt
// keeps the old certificate in service, is logged with the CA's own
// problem document, is reported by [Manager.Status], and is retried with
// exponential backoff (never sooner than the CA's Retry-After).
//
// Several processes may share the directory (two hosts behind round-robin
// DNS on a shared volume, or several tasks on one host): before ordering,
// a process takes an exclusive flock(2) on the directory's lock file and
// reads the directory again, so one of them orders and the others load its
// result. Challenge responses are written to the directory as well, so
// whichever process the CA reaches can answer.
//
// Why not golang.org/x/crypto/acme/autocert: it renews on per-certificate
// timers with up to an hour of random delay and keeps renewal errors to
// itself, so neither short-lived certificates, nor metrics and readiness
// from the renewal state, nor one order among processes sharing a cache
// can be had through it. This package uses the same module's protocol
// client, golang.org/x/crypto/acme, and adds only the policy around it.
package acmecert

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/filelock"
)

// Files in Options.Dir.
const (
	accountKeyFile = "account.key"
	lockFile       = "lock"
	challengeDir   = "challenges"
)

// Options configures a Manager.
type Options struct {
	// Domains are the names the certificate is for; the first one names
	// the certificate file. Each must be a DNS name (no IP, no wildcard:
	// neither can be validated by HTTP-01 or TLS-ALPN-01).
	Domains []string
	// DirectoryURL is the CA's ACME directory.
	DirectoryURL string
	// Email, when set, is given to the CA as the account's contact.
	Email string
	// Dir holds the account key, the certificate and the lock file; it is
	// created (0700) when missing.
	Dir string
	// HTTPClient talks to the CA; nil is http.DefaultClient. Give one
	// trusting a private CA's root to use a CA such as step-ca.
	HTTPClient *http.Client
	// HTTP01 says whether a plain-HTTP listener on port 80 answers
	// [Manager.HTTPHandler]. Without it only TLS-ALPN-01 is used.
	HTTP01 bool
	// Log gets renewals and failures; nil discards.
	Log *slog.Logger
}

// Status is the renewal state, for metrics and readiness.
type Status struct {
	NotBefore, NotAfter time.Time // of the certificate served; zero before the first
	LastError           string    // of the last failed attempt; "" after a success
	LastErrorTime       time.Time
	Failures            uint64 // failed attempts since the process started
	Orders              uint64 // certificates this process ordered
}

// Manager obtains, renews and serves one certificate. Its methods are safe
// for concurrent use.
type Manager struct {
	o     Options
	names map[string]bool // Domains, lower case, ASCII
	log   *slog.Logger
	now   func() time.Time

	cert atomic.Pointer[tls.Certificate] // nil until one is loaded or issued

	mu        sync.Mutex
	client    *acme.Client // nil until the account key is loaded
	status    Status
	http01    map[string]string           // token -> key authorization, while this process validates
	tlsalpn01 map[string]*tls.Certificate // domain -> challenge certificate, likewise
}

// New checks o, creates o.Dir when missing and loads the certificate
// stored there, if any. It contacts no CA: that is Run's work.
func New(o Options) (*Manager, error) {
	if len(o.Domains) == 0 {
		return nil, errors.New("acme: no domain")
	}
	m := &Manager{o: o, names: map[string]bool{}, log: o.Log, now: time.Now,
		http01: map[string]string{}, tlsalpn01: map[string]*tls.Certificate{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.o.Domains = nil
	for _, d := range o.Domains {
		n, err := normalizeDomain(d)
		if err != nil {
			return nil, err
		}
		if !m.names[n] {
			m.o.Domains = append(m.o.Domains, n)
		}
		m.names[n] = true
	}
	if o.Dir == "" {
		return nil, errors.New("acme: no directory for the account and certificates")
	}
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, challengeDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("acme: the directory for the account and certificates: %w", err)
		}
	}
	c, err := m.readCert()
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		// A damaged file is replaced by the next order rather than stopping
		// the server: the CA can issue another certificate.
		m.log.Warn("acme: stored certificate unusable; a new one will be ordered", "err", err)
	default:
		m.setCert(c)
		m.log.Info("acme: stored certificate loaded", "domains", m.o.Domains, "not_after", c.Leaf.NotAfter)
	}
	return m, nil
}

// normalizeDomain returns the lower-case form of a configured name, or an
// error saying why it cannot be validated. Internationalized names are
// given in their ASCII (xn--) form, as DNS holds them.
func normalizeDomain(d string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	switch {
	case strings.Contains(n, "*"):
		return "", fmt.Errorf("acme: domain %q: wildcards need the DNS-01 challenge, which is not supported", d)
	case strings.Trim(n, "0123456789.") == "" || strings.Contains(n, ":"):
		return "", fmt.Errorf("acme: domain %q: an IP address, not a DNS name", d)
	case !strings.Contains(n, ".") || len(n) > 253:
		return "", fmt.Errorf("acme: domain %q: want a fully qualified DNS name such as example.com", d)
	}
	for label := range strings.SplitSeq(n, ".") {
		ok := label != "" && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, r := range label {
			ok = ok && ('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		}
		if !ok {
			return "", fmt.Errorf("acme: domain %q: label %q is not a DNS label (letters, digits, inner hyphens; xn-- form for other scripts)", d, label)
		}
	}
	return n, nil
}

// Domains returns the names of the certificate, normalized.
func (m *Manager) Domains() []string { return slices.Clone(m.o.Domains) }

// Status returns the renewal state.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Ready returns "" when a certificate is served and is not near its end,
// else why not. Near the end means less than a sixth of its lifetime left,
// which happens only when renewals (due at two thirds) kept failing.
func (m *Manager) Ready() string {
	c := m.cert.Load()
	if c == nil {
		return "no certificate yet"
	}
	nb, na := c.Leaf.NotBefore, c.Leaf.NotAfter
	if left := na.Sub(m.now()); left < na.Sub(nb)/6 {
		return fmt.Sprintf("certificate expires in %v and could not be renewed", left.Round(time.Second))
	}
	return ""
}

func (m *Manager) setCert(c *tls.Certificate) {
	m.cert.Store(c)
	m.mu.Lock()
	m.status.NotBefore, m.status.NotAfter = c.Leaf.NotBefore, c.Leaf.NotAfter
	m.mu.Unlock()
}

// GetCertificate is meant for tls.Config.GetCertificate; the tls.Config
// must have no Certificates, and NextProtos must include "acme-tls/1" for
// TLS-ALPN-01. It answers a TLS-ALPN-01 validation with its challenge
// certificate, a configured name (or no name, from a client without SNI)
// with the certificate, and any other name with no certificate, which
// crypto/tls turns into the unrecognized_name alert.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" && !m.names[name] {
		return nil, nil
	}
	// RFC 8737 §3: the validation offers acme-tls/1 as its only protocol.
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto {
		if name == "" {
			return nil, errors.New("acme: TLS-ALPN-01 validation without SNI")
		}
		return m.challengeCert(name)
	}
	if c := m.cert.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("acme: no certificate for %s yet", strings.Join(m.o.Domains, ","))
}

// HTTPHandler answers HTTP-01 validations under /.well-known/acme-challenge/
// and passes every other request to next.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		keyAuth, err := m.http01Response(token)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(keyAuth))
	})
}

// The CA's problem documents are its own words; they end up in the log
// and the status as they are.
func caError(op string, err error) error {
	return fmt.Errorf("acme: %s: %w", op, err)
}

// Run keeps the certificate valid until ctx ends: it orders one at once
// when there is none, then renews each time two thirds of the lifetime
// have passed. Failures are logged and retried; Run returns only when ctx
// ends.
func (m *Manager) Run(ctx context.Context) {
	failures := 0
	for {
		if wait := m.untilDue(); wait > 0 {
			// Woken at least hourly: a timer runs on the monotonic clock,
			// which stops while a VM is suspended; the certificate's dates
			// are on the wall clock.
			if !sleep(ctx, min(wait, time.Hour)) {
				return
			}
			continue
		}
		err := m.renew(ctx, failures)
		if ctx.Err() != nil {
			return
		}
		if err == nil && m.untilDue() <= 0 {
			// Asking again at once would loop on the CA.
			err = fmt.Errorf("acme: the certificate obtained is already due for renewal (valid until %v)", m.cert.Load().Leaf.NotAfter)
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		d := m.backoff(failures, err)
		m.mu.Lock()
		m.status.LastError, m.status.LastErrorTime = err.Error(), m.now()
		m.status.Failures++
		m.mu.Unlock()
		attrs := []any{"err", err, "retry_in", d.Round(time.Second)}
		if c := m.cert.Load(); c != nil {
			attrs = append(attrs, "serving_not_after", c.Leaf.NotAfter)
		}
		m.log.Error("acme: certificate not obtained; the current one (if any) keeps serving", attrs...)
		if !sleep(ctx, d) {
			return
		}
	}
}

// untilDue is the time left before the certificate served is due for
// renewal; zero or less when it is due, or when there is none.
func (m *Manager) untilDue() time.Duration {
	c := m.cert.Load()
	if c == nil {
		return 0
	}
	return RenewAt(c.Leaf.NotBefore, c.Leaf.NotAfter).Sub(m.now())
}

// RenewAt is when a certificate valid from notBefore to notAfter is
// renewed: after two thirds of its lifetime, as Let's Encrypt advises,
// which leaves a third (30 days of 90) for retries.
func RenewAt(notBefore, notAfter time.Time) time.Time {
	return notBefore.Add(notAfter.Sub(notBefore) * 2 / 3)
}

// backoff is the wait after the n-th failure in a row: 1s, 2s, 4s, ...
// at most an hour, and at most a quarter of what is left of the current
// certificate (so that a short-lived one gets several tries), but never
// less than the CA's Retry-After.
func (m *Manager) backoff(n int, err error) time.Duration {
	d := time.Second << min(n-1, 12)
	limit := time.Hour
	if c := m.cert.Load(); c != nil {
		limit = min(limit, max(c.Leaf.NotAfter.Sub(m.now())/4, time.Second))
	}
	d = min(d, limit)
	if ra, ok := acme.RateLimit(err); ok && ra > d {
		d = ra
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// renew obtains a new certificate under the directory's lock, unless
// another process sharing the directory has stored one that is not yet due.
func (m *Manager) renew(ctx context.Context, failures int) error {
	unlock, err := filelock.Lock(ctx, filepath.Join(m.o.Dir, lockFile), 0o600)
	if err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	defer unlock()
	if c, err := m.readCert(); err == nil && m.now().Before(RenewAt(c.Leaf.NotBefore, c.Leaf.NotAfter)) {
		if old := m.cert.Load(); old == nil || !old.Leaf.Equal(c.Leaf) {
			m.setCert(c)
			m.log.Info("acme: certificate loaded from the directory", "domains", m.o.Domains, "not_after", c.Leaf.NotAfter)
		}
		m.clearError()
		return nil
	}
	c, err := m.order(ctx, failures)
	if err != nil {
		return err
	}
	m.setCert(c)
	m.clearError()
	m.log.Info("acme: certificate obtained", "domains", m.o.Domains, "not_after", c.Leaf.NotAfter, "serial", c.Leaf.SerialNumber.Text(16))
	return nil
}

func (m *Manager) clearError() {
	m.mu.Lock()
	m.status.LastError = ""
	m.mu.Unlock()
}

// order runs one ACME order (RFC 8555 §7.4) and stores the result. The
// challenge type alternates with each failure, so that a host whose port
// 80 is blocked still gets a certificate through port 443.
func (m *Manager) order(ctx context.Context, failures int) (*tls.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	client, err := m.account(ctx)
	if err != nil {
		return nil, err
	}
	m.log.Info("acme: ordering a certificate", "domains", m.o.Domains, "ca", m.o.DirectoryURL)
	o, err := client.AuthorizeOrder(ctx, acme.DomainIDs(m.o.Domains...))
	if err != nil {
		return nil, caError("new order", err)
	}
	m.mu.Lock()
	m.status.Orders++
	m.mu.Unlock()
	prefer := []string{"tls-alpn-01"}
	if m.o.HTTP01 {
		prefer = []string{"http-01", "tls-alpn-01"}
		if failures%2 == 1 {
			prefer = []string{"tls-alpn-01", "http-01"}
		}
	}
	for _, u := range o.AuthzURLs {
		if err := m.authorize(ctx, client, u, prefer); err != nil {
			return nil, err
		}
	}
	// The order's URL is its Location header, which only the answer to
	// the new-order request carries: keep it.
	orderURL := o.URI
	if _, err := client.WaitOrder(ctx, orderURL); err != nil {
		return nil, caError("order", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: m.o.Domains[0]}, DNSNames: m.o.Domains}, key)
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	der, _, err := client.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	var caErr *acme.Error
	if err != nil && !errors.As(err, &caErr) {
		// A CA that finalizes asynchronously may answer without the order's
		// Location (RFC 8555 §7.4 does not require one there), and the
		// client then polls an empty URL. The order's URL is known: poll it.
		der, err = fetchIssued(ctx, client, orderURL)
	}
	if err != nil {
		return nil, caError("finalize", err)
	}
	pemBytes, err := encodeCert(der, key)
	if err != nil {
		return nil, err
	}
	c, err := parseCert(pemBytes, m.o.Domains, m.now())
	if err != nil {
		return nil, fmt.Errorf("acme: the CA issued an unusable certificate: %w", err)
	}
	if err := writeFile(m.certPath(), pemBytes); err != nil {
		// Served anyway: the next renewal, or a restart, orders again.
		m.log.Error("acme: certificate not stored", "err", err)
	}
	return c, nil
}

// fetchIssued waits for the order at url to be valid and downloads its
// certificate chain.
func fetchIssued(ctx context.Context, client *acme.Client, url string) ([][]byte, error) {
	o, err := client.WaitOrder(ctx, url)
	if err != nil {
		return nil, err
	}
	return client.FetchCert(ctx, o.CertURL, true)
}

// authorize satisfies one authorization with the first offered challenge
// of prefer.
func (m *Manager) authorize(ctx context.Context, client *acme.Client, url string, prefer []string) error {
	z, err := client.GetAuthorization(ctx, url)
	if err != nil {
		return caError("authorization", err)
	}
	if z.Status == acme.StatusValid {
		return nil // validated recently, for this account
	}
	domain := z.Identifier.Value
	if !m.names[domain] {
		return fmt.Errorf("acme: the CA asks to authorize %q, which is not configured", domain)
	}
	var chal *acme.Challenge
	for _, typ := range prefer {
		for _, c := range z.Challenges {
			if c.Type == typ && chal == nil {
				chal = c
			}
		}
	}
	if chal == nil {
		return fmt.Errorf("acme: %s: the CA offers none of the challenges %v", domain, prefer)
	}
	cleanup, err := m.present(client, domain, chal)
	if err != nil {
		return err
	}
	m.log.Info("acme: answering a challenge", "domain", domain, "type", chal.Type)
	defer cleanup()
	if _, err := client.Accept(ctx, chal); err != nil {
		return caError(chal.Type+" for "+domain, err)
	}
	if _, err := client.WaitAuthorization(ctx, z.URI); err != nil {
		return caError(chal.Type+" for "+domain, err)
	}
	return nil
}

// present makes the response to chal available to this process and, on
// disk, to the others sharing the directory; cleanup withdraws it.
func (m *Manager) present(client *acme.Client, domain string, chal *acme.Challenge) (cleanup func(), err error) {
	if !validToken(chal.Token) {
		return nil, fmt.Errorf("acme: the CA sent an invalid token %q", chal.Token)
	}
	switch chal.Type {
	case "http-01":
		keyAuth, err := client.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		file := filepath.Join(m.o.Dir, challengeDir, "http-01-"+chal.Token)
		if err := writeFile(file, []byte(keyAuth)); err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.http01[chal.Token] = keyAuth
		m.mu.Unlock()
		return func() {
			m.mu.Lock()
			delete(m.http01, chal.Token)
			m.mu.Unlock()
			os.Remove(file)
		}, nil
	case "tls-alpn-01":
		cert, err := client.TLSALPN01ChallengeCert(chal.Token, domain)
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		file := filepath.Join(m.o.Dir, challengeDir, "tls-alpn-01-"+domain)
		if err := writeFile(file, []byte(chal.Token)); err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.tlsalpn01[domain] = &cert
		m.mu.Unlock()
		return func() {
			m.mu.Lock()
			delete(m.tlsalpn01, domain)
			m.mu.Unlock()
			os.Remove(file)
		}, nil
	}
	return nil, fmt.Errorf("acme: challenge type %q not supported", chal.Type)
}

// validToken reports whether a token is base64url (RFC 8555 §8.1), so that
// it is safe in a file name.
func validToken(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for _, r := range t {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// http01Response returns the key authorization for token: this process's
// own, else one another process sharing the directory wrote.
func (m *Manager) http01Response(token string) (string, error) {
	m.mu.Lock()
	keyAuth, ok := m.http01[token]
	m.mu.Unlock()
	if ok {
		return keyAuth, nil
	}
	if !validToken(token) {
		return "", os.ErrNotExist
	}
	b, err := os.ReadFile(filepath.Join(m.o.Dir, challengeDir, "http-01-"+token))
	return string(b), err
}

// challengeCert returns the TLS-ALPN-01 certificate for domain: this
// process's own, else one made from the token another process sharing the
// directory wrote, with the shared account key.
func (m *Manager) challengeCert(domain string) (*tls.Certificate, error) {
	m.mu.Lock()
	c, ok := m.tlsalpn01[domain]
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	token, err := os.ReadFile(filepath.Join(m.o.Dir, challengeDir, "tls-alpn-01-"+domain))
	if err != nil {
		return nil, fmt.Errorf("acme: no TLS-ALPN-01 challenge pending for %s", domain)
	}
	key, err := readAccountKey(filepath.Join(m.o.Dir, accountKeyFile))
	if err != nil {
		return nil, err
	}
	cert, err := (&acme.Client{Key: key}).TLSALPN01ChallengeCert(string(token), domain)
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	return &cert, nil
}

// account returns the client for the CA with the stored account key (made
// and stored on first use), registered with the CA. The caller holds the
// lock.
func (m *Manager) account(ctx context.Context) (*acme.Client, error) {
	m.mu.Lock()
	client := m.client
	m.mu.Unlock()
	if client != nil {
		return client, nil
	}
	path := filepath.Join(m.o.Dir, accountKeyFile)
	key, err := readAccountKey(path)
	if errors.Is(err, os.ErrNotExist) {
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("acme: %w", err)
		}
		if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		key = k
	} else if err != nil {
		return nil, err
	}
	client = &acme.Client{Key: key, DirectoryURL: m.o.DirectoryURL, HTTPClient: m.o.HTTPClient, UserAgent: "gohttp-smol"}
	acct := &acme.Account{}
	if m.o.Email != "" {
		acct.Contact = []string{"mailto:" + m.o.Email}
	}
	// Agreement to the terms was given on the command line; the server
	// refuses to start without it.
	if _, err := client.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, caError("register account", err)
	}
	m.mu.Lock()
	m.client = client
	m.mu.Unlock()
	return client, nil
}

func readAccountKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("acme: %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("acme: %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("acme: %s: not a signing key", path)
	}
	return s, nil
}

// certPath is the certificate file: the key and the chain in PEM, in one
// file so that one rename replaces both together.
func (m *Manager) certPath() string {
	return filepath.Join(m.o.Dir, m.o.Domains[0]+".pem")
}

func (m *Manager) readCert() (*tls.Certificate, error) {
	b, err := os.ReadFile(m.certPath())
	if err != nil {
		return nil, err
	}
	c, err := parseCert(b, m.o.Domains, m.now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.certPath(), err)
	}
	return c, nil
}

func encodeCert(chain [][]byte, key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, c := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	return out, nil
}

// parseCert reads a stored key and chain and checks that the leaf matches
// the key, covers every domain and has not expired: a certificate that
// fails any of these must not be served.
func parseCert(b []byte, domains []string, now time.Time) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(b, b)
	if err != nil {
		return nil, err
	}
	for _, d := range domains {
		if err := c.Leaf.VerifyHostname(d); err != nil {
			return nil, fmt.Errorf("certificate is not for %s (domains changed?)", d)
		}
	}
	if !now.Before(c.Leaf.NotAfter) {
		return nil, fmt.Errorf("certificate expired at %v", c.Leaf.NotAfter)
	}
	return &c, nil
}

// writeFile writes a private file atomically.
func writeFile(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("acme: %w", err)
	}
	return nil
}
