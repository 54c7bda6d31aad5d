package acmecert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

func TestNormalizeDomain(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"Example.COM", "example.com", ""},
		{" www.example.com. ", "www.example.com", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"*.example.com", "", "wildcards"},
		{"192.0.2.1", "", "IP address"},
		{"::1", "", "IP address"},
		{"localhost", "", "fully qualified"},
		{"bücher.example", "", "xn-- form"},
		{"-a.example", "", "not a DNS label"},
		{"a..example", "", "not a DNS label"},
		{"a_b.example", "", "not a DNS label"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := normalizeDomain(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("normalizeDomain(%q) = %q, %v; want an error saying %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("normalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRenewAt(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		life, want time.Duration
	}{
		{90 * 24 * time.Hour, 60 * 24 * time.Hour}, // Let's Encrypt today: 30 days left
		{6 * 24 * time.Hour, 4 * 24 * time.Hour},   // short-lived profile: 2 days left
		{30 * time.Second, 20 * time.Second},
	} {
		if got := RenewAt(nb, nb.Add(tc.life)).Sub(nb); got != tc.want {
			t.Errorf("lifetime %v: renewed after %v, want %v", tc.life, got, tc.want)
		}
	}
}

func TestValidToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA": true,
		"":                       false,
		"../account.key":         false,
		"a/b":                    false,
		"abc=":                   false,
		strings.Repeat("a", 257): false,
	} {
		if got := validToken(tok); got != want {
			t.Errorf("validToken(%q) = %v, want %v", tok, got, want)
		}
	}
}

// selfSigned returns a PEM key and certificate for names, valid from nb
// to na, in the format the manager stores.
func selfSigned(t *testing.T, nb, na time.Time, names ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: nb, NotAfter: na,
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}}, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeCert([][]byte{der}, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCert(t *testing.T) {
	now := time.Now()
	good := selfSigned(t, now.Add(-time.Hour), now.Add(time.Hour), "a.example", "b.example")
	if _, err := parseCert(good, []string{"a.example", "b.example"}, now); err != nil {
		t.Errorf("a good certificate: %v", err)
	}
	if _, err := parseCert(good, []string{"a.example", "c.example"}, now); err == nil || !strings.Contains(err.Error(), "not for c.example") {
		t.Errorf("a name missing: %v, want an error naming it", err)
	}
	if _, err := parseCert(good, []string{"a.example"}, now.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v, want an error saying so", err)
	}
	if _, err := parseCert([]byte("junk"), []string{"a.example"}, now); err == nil {
		t.Error("junk parsed")
	}
}

func newManager(t *testing.T, dir string, domains ...string) *Manager {
	t.Helper()
	m, err := New(Options{Domains: domains, Dir: dir, DirectoryURL: "https://ca.invalid/dir"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStoredCertificate covers start-up with a stored certificate: it is
// served for configured names and no name, other names get no certificate
// (the unrecognized_name alert), and /readyz follows its age.
func TestStoredCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if err := writeFile(filepath.Join(dir, "a.example.pem"), selfSigned(t, now.Add(-time.Hour), now.Add(2*time.Hour), "a.example")); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, dir, "A.example")
	for _, sni := range []string{"a.example", "A.EXAMPLE.", ""} {
		c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: sni, SupportedProtos: []string{"h2", "http/1.1"}})
		if err != nil || c == nil || c.Leaf.Subject.CommonName != "a.example" {
			t.Errorf("SNI %q: %v, %v; want the stored certificate", sni, c, err)
		}
	}
	for _, hello := range []*tls.ClientHelloInfo{
		{ServerName: "b.example"},
		{ServerName: "b.example", SupportedProtos: []string{acme.ALPNProto}}, // no challenge for names not configured
	} {
		if c, err := m.GetCertificate(hello); c != nil || err != nil {
			t.Errorf("SNI %q: %v, %v; want nil, nil (unrecognized_name)", hello.ServerName, c, err)
		}
	}
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example", SupportedProtos: []string{acme.ALPNProto}}); err == nil {
		t.Error("a TLS-ALPN-01 validation with nothing pending got a certificate")
	}
	if why := m.Ready(); why != "" {
		t.Errorf("Ready() = %q with a third of the lifetime used", why)
	}
	m.now = func() time.Time { return now.Add(time.Hour + 45*time.Minute) }
	if why := m.Ready(); !strings.Contains(why, "could not be renewed") {
		t.Errorf("Ready() = %q with 15 minutes of 3 hours left, want a reason", why)
	}
	if s := m.Status(); !s.NotAfter.Equal(now.Add(2 * time.Hour).Truncate(time.Second)) {
		t.Errorf("status not_after %v", s.NotAfter)
	}
}

func TestNoCertificateYet(t *testing.T) {
	dir := t.TempDir()
	// A damaged file is not fatal: a new certificate will be ordered.
	if err := writeFile(filepath.Join(dir, "a.example.pem"), []byte("damaged")); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, dir, "a.example")
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example"}); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("GetCertificate before the first: %v", err)
	}
	if why := m.Ready(); why != "no certificate yet" {
		t.Errorf("Ready() = %q", why)
	}
	if _, err := New(Options{Domains: []string{"a.example"}, Dir: filepath.Join(dir, "a.example.pem", "sub")}); err == nil {
		t.Error("New with a directory that cannot be made: no error")
	}
}

// TestHTTPHandler covers answers from this process and from the challenge
// files another process sharing the directory wrote.
func TestHTTPHandler(t *testing.T) {
	dir := t.TempDir()
	m := newManager(t, dir, "a.example")
	m.http01["own"] = "own.keyauth"
	if err := writeFile(filepath.Join(dir, challengeDir, "http-01-other"), []byte("other.keyauth")); err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.HTTPHandler(next)
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/.well-known/acme-challenge/own", 200, "own.keyauth"},
		{"/.well-known/acme-challenge/other", 200, "other.keyauth"},
		{"/.well-known/acme-challenge/missing", 404, ""},
		{"/.well-known/acme-challenge/..%2faccount.key", 404, ""},
		{"/index.html", http.StatusTeapot, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.code || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
	}
}

func TestBackoff(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m := newManager(t, dir, "a.example")
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 13: time.Hour, 100: time.Hour} {
		if got := m.backoff(n, errors.New("x")); got != want {
			t.Errorf("no certificate, failure %d: %v, want %v", n, got, want)
		}
	}
	// Rate limited: the CA's Retry-After wins.
	rl := &acme.Error{StatusCode: http.StatusTooManyRequests, ProblemType: "urn:ietf:params:acme:error:rateLimited",
		Header: http.Header{"Retry-After": []string{"600"}}}
	if got := m.backoff(1, rl); got < 9*time.Minute {
		t.Errorf("rate limited: %v, want the CA's 10m", got)
	}
	// A certificate with 40s left: retries at most every 10s.
	m.setCert(mustParse(t, selfSigned(t, now.Add(-80*time.Second), now.Add(40*time.Second), "a.example")))
	if got := m.backoff(10, errors.New("x")); got > 10*time.Second || got < 9*time.Second {
		t.Errorf("40s left, failure 10: %v, want about 10s", got)
	}
}

func mustParse(t *testing.T, b []byte) *tls.Certificate {
	t.Helper()
	c, err := parseCert(b, []string{"a.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
