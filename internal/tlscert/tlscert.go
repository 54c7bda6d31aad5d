// Package tlscert serves a TLS certificate from files that may be replaced
// while the server runs, so that a renewal (certbot, an ACME client, a
// config-management run) needs no restart.
package tlscert

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultInterval is how often, at most, the files are checked for a change.
const DefaultInterval = 5 * time.Second

// A Holder holds the certificate loaded from a certificate and key file
// pair. Its GetCertificate method is meant for tls.Config.GetCertificate.
type Holder struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // UnixNano of the next look at the files

	mu      sync.Mutex // serialises loads; guards loaded and failed
	loaded  stamp      // files as they were when cert was loaded
	failed  stamp      // files as they were when loading last failed
	lastErr string     // the last error logged, so that it is logged once
}

// stamp identifies a version of the two files. Renewal tools write new
// files (or new symlink targets), which changes the modification time, and
// nearly always the size.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// Load reads the pair and returns a Holder serving it. The files are checked
// again at most every interval (DefaultInterval when zero) during TLS
// handshakes, and reloaded when they changed. A pair that fails to load then
// (for example a certificate written before its key) leaves the old one in
// place; the error is logged to log, once for each version of the files,
// and the next check tries again.
func Load(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*Holder, error) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Holder{certFile: certFile, keyFile: keyFile, interval: interval, log: log}
	if _, err := h.Reload(); err != nil {
		return nil, err
	}
	h.nextCheck.Store(time.Now().Add(interval).UnixNano())
	return h, nil
}

// GetCertificate returns the current certificate, first reloading it when
// the files changed and the last check is older than the interval.
func (h *Holder) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := time.Now().UnixNano()
	// Only the handshake that wins the swap looks at the files; the others
	// go on with the certificate they have.
	if next := h.nextCheck.Load(); now >= next && h.nextCheck.CompareAndSwap(next, now+int64(h.interval)) {
		h.check()
	}
	return h.cert.Load(), nil
}

// check reloads the pair if the files differ from those loaded.
func (h *Holder) check() {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := h.stat()
	if err == nil {
		if st == h.loaded || st == h.failed {
			return
		}
		if err = h.load(st); err == nil {
			return
		}
		h.failed = st // not again until the files change once more
	}
	if msg := err.Error(); msg != h.lastErr {
		h.lastErr = msg
		h.log.Error("tls: certificate files changed but do not load; keeping the loaded certificate", "err", err)
	}
}

// Reload reads the pair now, whether or not the files changed (SIGHUP).
// On error the loaded certificate stays. It reports the new certificate's
// expiry.
func (h *Holder) Reload() (notAfter time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := h.stat()
	if err != nil {
		return time.Time{}, err
	}
	if err := h.load(st); err != nil {
		return time.Time{}, err
	}
	return h.cert.Load().Leaf.NotAfter, nil
}

// load reads the pair and swaps it in; h.mu must be held.
func (h *Holder) load(st stamp) error {
	c, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", h.certFile, h.keyFile, err)
	}
	old := h.cert.Swap(&c)
	h.loaded, h.failed, h.lastErr = st, stamp{}, ""
	if old != nil {
		h.log.Info("tls: certificate reloaded", "subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter)
	}
	return nil
}

func (h *Holder) stat() (stamp, error) {
	c, err := os.Stat(h.certFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls: %w", err)
	}
	k, err := os.Stat(h.keyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}
