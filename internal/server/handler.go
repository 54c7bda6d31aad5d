package server

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/basicauth"
	"github.com/gohttp-smol/gohttp-smol/internal/metrics"
	"github.com/gohttp-smol/gohttp-smol/internal/site"
)

// handler is the main listener's handler: health endpoints, response
// headers, basic auth, metrics, then the site. It is on the path of every
// request, so it allocates nothing of its own when access logs are off:
// header values are built once, counters are atomics, and the response
// recorder comes from a pool.
type handler struct {
	site  atomic.Pointer[site.Site]
	users atomic.Pointer[basicauth.Users] // nil: no basic auth
	ready atomic.Bool
	// notReady, when set, says why the server is not ready although its
	// content is loaded (no valid certificate); "" when it is.
	notReady func() string

	headers     []header // set on every response, in order (by the site on its own)
	metrics     *metrics.Metrics
	metricsPath string       // "" when metrics are elsewhere or off
	access      *slog.Logger // nil: no access log
}

// A header is one prepared response header. The value slice has no spare
// capacity, so a handler that appends to it gets a copy and the shared
// slice is never written.
type header struct {
	name  string // canonical form
	value []string
}

// hsts asks browsers to use https for this host for a year (RFC 6797). It
// is sent on TLS responses only: over plain HTTP it would be ignored
// (RFC 6797 §8.1) and a redirect listener must not pin a host that may
// have no TLS. includeSubDomains is left to the operator (--header), since
// it commits hosts this server knows nothing about.
var hsts = header{"Strict-Transport-Security", []string{"max-age=31536000"}}

var (
	hdrTextPlain  = []string{"text/plain; charset=utf-8"}
	hdrNoStore    = []string{"no-store"}
	hdrBasicRealm = []string{`Basic realm="gohttp-smol", charset="UTF-8"`} // RFC 7617 §2.1
	hdrRetryAfter = []string{"1"}
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := began(w)
	h.metrics.Begin()
	rec := recorders.Get().(*recorder)
	rec.ResponseWriter, rec.code, rec.bytes = w, 0, 0
	defer h.done(rec, r, start)
	h.serve(rec, r)
}

// began returns when w's request began: from w when it knows (h1's
// ResponseWriter, from the clock reading it takes for every request
// anyway), else now.
func began(w http.ResponseWriter) time.Time {
	if b, ok := w.(interface{ Began() time.Time }); ok {
		return b.Began()
	}
	return time.Now()
}

// done records the request once it is answered. It runs deferred so that
// a panic in the site (which net/http recovers) does not leave the request
// counted in flight forever.
func (h *handler) done(rec *recorder, r *http.Request, start time.Time) {
	d := time.Since(start)
	code := rec.code
	if code == 0 {
		code = http.StatusOK // nothing written: net/http sends an empty 200
	}
	h.metrics.End(r.Method, code, rec.bytes, d)
	if h.access != nil {
		logAccess(h.access, r, code, rec.bytes, d)
	}
	rec.ResponseWriter = nil
	recorders.Put(rec)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		h.own(w, r)
		// Liveness: the process runs and answers. Outside basic auth, so
		// that an orchestrator needs no credentials.
		plain(w, r, http.StatusOK, "ok\n")
		return
	case "/readyz":
		// Readiness: content is loaded and the server is not draining.
		h.own(w, r)
		switch {
		case !h.ready.Load():
			plain(w, r, http.StatusServiceUnavailable, "not ready\n")
		case h.notReady != nil:
			if why := h.notReady(); why != "" {
				plain(w, r, http.StatusServiceUnavailable, "not ready: "+why+"\n")
				return
			}
			plain(w, r, http.StatusOK, "ready\n")
		default:
			plain(w, r, http.StatusOK, "ready\n")
		}
		return
	}
	if u := h.users.Load(); u != nil {
		res := basicauth.Failed
		if name, password, ok := r.BasicAuth(); ok {
			res = u.Check(r.Context(), name, password)
		}
		switch res {
		case basicauth.Passed:
		case basicauth.Busy:
			hdr := h.own(w, r)
			// Every CPU is hashing a password already: a retry in a second
			// is cheaper for everyone than a queue (RFC 9110 §15.6.4).
			hdr["Retry-After"] = hdrRetryAfter
			plain(w, r, http.StatusServiceUnavailable, "503 Service Unavailable: busy checking passwords, retry shortly\n")
			return
		default: // Failed, or Gone: an answer nobody reads costs nothing
			hdr := h.own(w, r)
			hdr["Www-Authenticate"] = hdrBasicRealm
			plain(w, r, http.StatusUnauthorized, "401 Unauthorized\n")
			return
		}
	}
	if h.metricsPath != "" && r.URL.Path == h.metricsPath {
		h.own(w, r)
		h.metrics.ServeHTTP(w, r)
		return
	}
	// The site sets h.headers itself where the map lacks them (they are its
	// Options.Header), so a response it sends with a head prepared at load
	// costs no map work here.
	if r.TLS != nil {
		w.Header()[hsts.name] = hsts.value
	}
	h.site.Load().ServeHTTP(w, r)
}

// own sets the fields of every response, for a response the handler
// answers itself, and returns the header map.
func (h *handler) own(w http.ResponseWriter, r *http.Request) http.Header {
	hdr := w.Header()
	for _, x := range h.headers {
		hdr[x.name] = x.value
	}
	if r.TLS != nil {
		hdr[hsts.name] = hsts.value
	}
	return hdr
}

// plain answers with a short uncacheable text.
func plain(w http.ResponseWriter, r *http.Request, code int, body string) {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// logAccess writes one access log line.
func logAccess(l *slog.Logger, r *http.Request, code int, bytes int64, d time.Duration) {
	l.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("uri", r.RequestURI),
		slog.String("proto", r.Proto),
		slog.Int("status", code),
		slog.Int64("bytes", bytes),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
		slog.String("user_agent", r.UserAgent()),
	)
}

// recorder notes the status code and body size of a response on its way
// through. It keeps the optional interfaces that matter: io.ReaderFrom, so
// that large files still go out with sendfile(2), http.Flusher, and Unwrap
// for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

var recorders = sync.Pool{New: func() any { return new(recorder) }}

func (r *recorder) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) come before the final one.
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src) // HTTP/1: sendfile for files
	} else {
		n, err = io.Copy(writerOnly{r.ResponseWriter}, src) // HTTP/2 frames its own
	}
	r.bytes += n
	return n, err
}

// WritePrepared passes a prepared response on to a ResponseWriter that can
// send one (h1's), and records it as a 200 with body.
func (r *recorder) WritePrepared(head, body []byte) bool {
	pw, ok := r.ResponseWriter.(interface{ WritePrepared(head, body []byte) bool })
	if !ok || r.code != 0 || !pw.WritePrepared(head, body) {
		return false
	}
	r.code = http.StatusOK
	r.bytes += int64(len(body))
	return true
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writerOnly hides every method but Write, so that io.Copy does not call
// back into recorder.ReadFrom.
type writerOnly struct{ io.Writer }
