package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate with the given serial number
// and its key.
func writePair(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if keyFile != "" {
		write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	}
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// write replaces the file the way renewal tools do: a new file renamed
// over the old one.
func write(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func serial(t *testing.T, h *Holder) int64 {
	t.Helper()
	c, err := h.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber.Int64()
}

func TestRenewal(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePair(t, cert, key, 1)
	var logs bytes.Buffer
	const interval = 20 * time.Millisecond
	h, err := Load(cert, key, interval, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(t, h); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	// A renewal is picked up once the interval has passed.
	writePair(t, cert, key, 2)
	if got := serial(t, h); got != 1 {
		t.Errorf("serial %d right after renewal, want 1 until the interval passes", got)
	}
	time.Sleep(2 * interval)
	if got := serial(t, h); got != 2 {
		t.Errorf("serial %d after the interval, want 2", got)
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Errorf("no reload logged: %q", logs.String())
	}

	// A certificate written before its key does not match it: the old pair
	// stays, the error is logged once, and the key's arrival completes it.
	writePair(t, cert, "", 3)
	for range 3 {
		time.Sleep(2 * interval)
		if got := serial(t, h); got != 2 {
			t.Errorf("serial %d with a mismatched key, want 2 kept", got)
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Errorf("load error logged %d times, want once:\n%s", n, logs.String())
	}
	writePair(t, cert, key, 4)
	time.Sleep(2 * interval)
	if got := serial(t, h); got != 4 {
		t.Errorf("serial %d after the key arrived, want 4", got)
	}

	// Reload reads the files even when they did not change, and keeps the
	// old certificate when they are broken.
	if _, err := h.Reload(); err != nil {
		t.Errorf("Reload: %v", err)
	}
	if err := os.WriteFile(key, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reload(); err == nil || !strings.HasPrefix(err.Error(), "tls: load ") {
		t.Errorf("Reload of a broken key = %v, want a tls: load error", err)
	}
	if got := serial(t, h); got != 4 {
		t.Errorf("serial %d after a failed Reload, want 4 kept", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := Load(cert, key, 0, nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load(missing) = %v", err)
	}
	writePair(t, cert, "", 1)
	os.WriteFile(key, []byte("not a key"), 0o600)
	if _, err := Load(cert, key, 0, nil); err == nil || !strings.Contains(err.Error(), "key.pem") {
		t.Errorf("Load(bad key) = %v, want an error naming the files", err)
	}
}
