package server

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestTLSConfigSuites(t *testing.T) {
	c := tlsConfig(nil)
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", c.MinVersion)
	}
	insecure := tls.InsecureCipherSuites()
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		aead := strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !aead || strings.Contains(name, "CBC") {
			t.Errorf("%s: not ECDHE with an AEAD cipher", name)
		}
		if slices.ContainsFunc(insecure, func(s *tls.CipherSuite) bool { return s.ID == id }) {
			t.Errorf("%s is in Go's list of insecure suites", name)
		}
	}
	// HTTP/2 over TLS 1.2 needs this one (RFC 9113 §9.2.2).
	if !slices.Contains(c.CipherSuites, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) || !slices.Contains(c.CipherSuites, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) {
		t.Error("the AES-128-GCM suites HTTP/2 requires are missing")
	}
}
