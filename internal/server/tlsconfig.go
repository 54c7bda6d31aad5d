package server

import "crypto/tls"

// intermediateSuites are the TLS 1.2 cipher suites of Mozilla's
// "intermediate" configuration that Go implements: ECDHE key exchange
// (forward secrecy) with an AEAD cipher, AES-GCM or ChaCha20-Poly1305.
// Left out: CBC suites (padding oracles such as Lucky13), SHA-1 MACs, and
// RSA key exchange (no forward secrecy). Every client of the last decade
// offers one of these. TLS 1.3 suites are not configurable in Go and are
// all AEAD already.
var intermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig is the configuration of every TLS listener: TLS 1.2 with the
// intermediate suites, or TLS 1.3, and certificates from getCert. TLS 1.0
// and 1.1 are deprecated (RFC 8996). net/http adds "h2" to NextProtos by
// itself; the HTTP/2 suite it requires (RFC 9113 §9.2.2) is the first here.
func tlsConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   intermediateSuites,
		GetCertificate: getCert,
	}
}
