package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// testCA issues certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gohttp-smol test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert, key, pool}
}

// issue writes a certificate for 127.0.0.1 with the given serial number,
// and its key, replacing the files as renewal tools do (rename).
func (ca *testCA) issue(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}

// serialOf makes a new TLS connection and returns the serial number of the
// certificate the server presents.
func serialOf(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "secure")
	ca := newCA(t)
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	ca.issue(t, certFile, keyFile, 100)
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile,
		"--redirect-addr", "127.0.0.1:0", dir)
	base := "https://" + p.addr

	t.Run("cipher suites", func(t *testing.T) {
		// TLS 1.2 with only the intermediate suites: a client offering
		// nothing but CBC (or only RSA key exchange) gets no handshake.
		for _, tc := range []struct {
			name   string
			suites []uint16
			ok     bool
		}{
			{"CBC only", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}, false},
			{"CBC SHA-256 only", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}, false},
			{"RSA key exchange only", []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}, false},
			{"AES-GCM", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
			{"ChaCha20-Poly1305", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		} {
			conn, err := tls.Dial("tcp", p.addr, &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS12, CipherSuites: tc.suites})
			if err == nil {
				conn.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("%s: handshake error %v, want success %v", tc.name, err, tc.ok)
			}
		}
		conn, err := tls.Dial("tcp", p.addr, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatalf("TLS 1.3: %v", err)
		}
		conn.Close()
	})

	t.Run("HTTP/2 and headers", func(t *testing.T) {
		resp, body := get(t, newClient(&tls.Config{RootCAs: ca.pool}), base+"/")
		if body != "secure" || resp.Proto != "HTTP/2.0" {
			t.Errorf("GET / = %q over %s, want secure over HTTP/2.0", body, resp.Proto)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("HSTS %q on a TLS response", got)
		}
		if resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("TLS version %x", resp.TLS.Version)
		}
		h1 := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.pool},
			TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		}}
		resp, _ = get(t, h1, base+"/")
		if resp.Proto != "HTTP/1.1" || resp.StatusCode != 200 {
			t.Errorf("HTTP/1.1 over TLS: %s %d", resp.Proto, resp.StatusCode)
		}
	})

	t.Run("no TLS 1.1", func(t *testing.T) {
		c, err := tls.Dial("tcp", p.addr, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Error("a TLS 1.1 handshake succeeded")
		}
	})

	t.Run("redirect", func(t *testing.T) {
		_, tlsPort, _ := net.SplitHostPort(p.addr)
		for _, tc := range []struct {
			method, path string
			code         int
		}{
			{"GET", "/a/b?x=1&y=%20", 301},
			{"HEAD", "/", 301},
			{"POST", "/form", 308},
		} {
			req, _ := http.NewRequest(tc.method, "http://"+p.redirectAddr+tc.path, nil)
			resp, err := newClient(nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := "https://127.0.0.1:" + tlsPort + tc.path
			if resp.StatusCode != tc.code || resp.Header.Get("Location") != want {
				t.Errorf("%s %s = %d to %q, want %d to %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.code, want)
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS on a plain-HTTP response")
			}
		}
		if resp, body := get(t, newClient(nil), "http://"+p.redirectAddr+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
			t.Errorf("redirect listener /healthz = %d %q", resp.StatusCode, body)
		}
	})

	t.Run("renewal on SIGHUP", func(t *testing.T) {
		ca.issue(t, certFile, keyFile, 101)
		p.signal(syscall.SIGHUP)
		p.waitLog("reload: TLS certificate reloaded", 10*time.Second)
		if got := serialOf(t, p.addr, ca.pool); got != 101 {
			t.Errorf("serial %d after SIGHUP, want 101", got)
		}
	})

	t.Run("renewal without a signal", func(t *testing.T) {
		ca.issue(t, certFile, keyFile, 102)
		// The files are looked at during handshakes, at most every few
		// seconds.
		deadline := time.Now().Add(15 * time.Second)
		for serialOf(t, p.addr, ca.pool) != 102 {
			if time.Now().After(deadline) {
				t.Fatal("renewed certificate not served within 15s")
			}
			time.Sleep(250 * time.Millisecond)
		}
	})
}

// TestH2load checks HTTP/2 under load with nghttp2's h2load, a client
// written independently of Go's.
func TestH2load(t *testing.T) {
	h2load, err := exec.LookPath("h2load")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("h2load not found: apt-get install nghttp2-client")
		}
		t.Skip("h2load not found: apt-get install nghttp2-client")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), string(make([]byte, 1024)))
	ca := newCA(t)
	certFile, keyFile := filepath.Join(dir, "..", "cert.pem"), filepath.Join(dir, "..", "key.pem")
	ca.issue(t, certFile, keyFile, 1)
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--log-format", "off", "--tls-cert", certFile, "--tls-key", keyFile, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 5000
	out, err := exec.CommandContext(ctx, h2load, "-n", strconv.Itoa(n), "-c", "4", "-m", "8", "https://"+p.addr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	t.Logf("h2load:\n%s", out)
	if !regexp.MustCompile(`Application protocol: h2\b`).Match(out) {
		t.Error("h2load did not negotiate h2")
	}
	m := regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored`).FindSubmatch(out)
	if m == nil {
		t.Fatal("no requests line in h2load's output")
	}
	if string(m[3]) != strconv.Itoa(n) || string(m[4]) != "0" || string(m[5]) != "0" {
		t.Errorf("h2load: %s", m[0])
	}
	if !regexp.MustCompile(`status codes: ` + strconv.Itoa(n) + ` 2xx`).Match(out) {
		t.Error("not every response was 2xx")
	}
}
