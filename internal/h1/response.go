package h1

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Bodies are copied into the connection's output buffer up to copyMax
// bytes; a larger one is written from where it lies with writev(2). The
// buffer is also written out whenever it holds more than copyMax bytes, so
// that a handler writing in small pieces streams, as it would with
// net/http.
const copyMax = 8 << 10

// chunkAfter is how much body of unknown length is held before the header
// goes out with chunked encoding: net/http's bufferBeforeChunkingSize, so
// that a handler gets the same framing from both servers.
const chunkAfter = 2048

// response is the http.ResponseWriter of one request, reused for each
// request of its connection. Its rules are net/http's (server.go's
// response and chunkWriter); see the package documentation.
type response struct {
	c   *conn
	req *http.Request
	hdr http.Header // the handler's

	// frozen is the header as it stood at WriteHeader, when the header
	// could not be written out then (its framing or Content-Type depend on
	// the body): later changes to hdr must not reach the client. nil when
	// the header went out at WriteHeader, which is the common case.
	frozen http.Header

	status    int   // 0 until WriteHeader or the first Write
	headerOut bool  // the header is in c.out or written
	length    int64 // the Content-Length framing the body, or -1
	// declared is the Content-Length the handler set, or -1. It outlives
	// length when a Transfer-Encoding overrides it: net/http still closes
	// the connection after a body of another size.
	declared   int64
	written    int64 // body bytes the handler wrote
	head       bool  // a HEAD request: the body is discarded
	chunked    bool
	pending    []byte // body of unknown length held before the header goes out
	closeAfter bool
	// badLength: the handler set a Content-Length that does not parse.
	// net/http then never computes one, and chunks the body.
	badLength bool
	trailers  []string // declared with a Trailer field
}

func (w *response) reset(r *http.Request) {
	w.req = r
	clear(w.hdr)
	w.frozen = nil
	w.status = 0
	w.headerOut = false
	w.length = -1
	w.declared = -1
	w.written = 0
	w.head = r.Method == http.MethodHead
	w.chunked = false
	w.pending = w.pending[:0]
	w.closeAfter = r.Close
	w.badLength = false
	w.trailers = w.trailers[:0]
}

func (w *response) Header() http.Header { return w.hdr }

// Began returns when the request's head was parsed: the one clock reading
// the connection takes per request, for the Date field and the write
// deadline, so that a handler timing the request need not read the clock
// at its start too.
func (w *response) Began() time.Time { return w.c.now }

func (w *response) WriteHeader(code int) {
	if w.status != 0 {
		return // net/http logs a superfluous call; the first one stands
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code)) // as net/http
	}
	c := w.c
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational response (103 Early Hints) goes out at once,
		// with the header as it stands but its framing fields, and the
		// final one follows.
		c.out = appendStatus(c.out, code)
		c.out, c.keys = appendFields(c.out, w.hdr, c.keys[:0], excludeNoBody)
		c.out = append(c.out, crlf...)
		c.flush()
		return
	}
	w.status = code
	if cl := w.hdr["Content-Length"]; len(cl) > 0 {
		if v, err := strconv.ParseInt(cl[0], 10, 64); err == nil && v >= 0 {
			w.length, w.declared = v, v
		} else {
			c.srv.logf("h1: invalid Content-Length %q", cl[0])
			delete(w.hdr, "Content-Length")
			w.badLength = true
		}
	}
	// The header can be written now unless the body decides its framing
	// (unknown length) or its Content-Type (sniffed from the first bytes).
	_, typed := w.hdr["Content-Type"]
	if !w.bodyAllowed() || (w.length != -1 && (typed || first1(w.hdr["Content-Encoding"]) != "")) {
		w.writeHeader(nil)
	} else {
		w.frozen = w.hdr.Clone()
	}
}

func (w *response) bodyAllowed() bool {
	return bodyAllowedForStatus(w.status)
}

// bodyAllowedForStatus is RFC 9110's rule: no body with 1xx, 204 or 304.
func bodyAllowedForStatus(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if err := w.c.werr; err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.length != -1 && w.written > w.length {
		return 0, http.ErrContentLength
	}
	if !w.headerOut {
		if w.length == -1 && len(w.pending)+len(p) <= chunkAfter {
			// Unknown length: hold the body, as net/http's buffer does,
			// so that a short one gets a Content-Length.
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.writeHeader(p)
		w.flushPending()
	}
	if w.head {
		return len(p), nil
	}
	if err := w.appendBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushPending sends the body held before the header went out.
func (w *response) flushPending() {
	if len(w.pending) > 0 && !w.head {
		w.appendBody(w.pending)
	}
	w.pending = w.pending[:0]
}

// appendBody adds p to the output, framed as a chunk if need be; a large
// p leaves at once with what precedes it.
func (w *response) appendBody(p []byte) error {
	c := w.c
	if w.chunked {
		c.out = strconv.AppendInt(c.out, int64(len(p)), 16)
		c.out = append(c.out, crlf...)
	}
	if len(p) > copyMax {
		c.writeBody(p)
	} else {
		c.out = append(c.out, p...)
	}
	if w.chunked {
		c.out = append(c.out, crlf...)
	}
	if len(c.out) > copyMax {
		c.flush()
	}
	return c.werr
}

// ReadFrom sends a body of declared length from src: for a file, with
// sendfile(2) through the connection's ReadFrom, after the header.
//
// The header leaves in a segment of its own. Corking the socket to send it
// with the body's first bytes cost twice the CPU per byte on a 10 MiB file
// (measured with wrk, 32 connections, on loopback) for a gain in
// throughput within the noise.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOut || w.length == -1 || w.head || !w.bodyAllowed() {
		// Framing, sniffing or discarding to decide: the Write path does it.
		return io.Copy(writerOnly{w}, src)
	}
	c := w.c
	if err := c.flush(); err != nil {
		return 0, err
	}
	// Never more than declared: a file that grew since its header was
	// written must not desynchronise the connection. The limit is folded
	// into the caller's io.LimitedReader (io.CopyN makes one) because
	// net.TCPConn.ReadFrom finds the file for sendfile(2) under one
	// LimitedReader, not under two.
	lr, outer := limitSource(src, w.length-w.written)
	n, err := c.rwc.ReadFrom(lr)
	if outer != nil {
		outer.N -= n
	}
	w.written += n
	if err != nil {
		c.werr = err
	}
	return n, err
}

// limitSource returns src limited to n bytes, with a LimitedReader of
// src's own merged in rather than wrapped; outer is that reader, whose N
// the caller must reduce by what it reads from lr.
func limitSource(src io.Reader, n int64) (lr, outer *io.LimitedReader) {
	if outer, ok := src.(*io.LimitedReader); ok {
		return &io.LimitedReader{R: outer.R, N: min(n, outer.N)}, outer
	}
	return &io.LimitedReader{R: src, N: n}, nil
}

// writerOnly hides ReadFrom so that io.Copy calls Write.
type writerOnly struct{ io.Writer }

// Flush sends the header and what the body has so far: a body of unknown
// length becomes chunked, as with net/http.
func (w *response) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOut {
		w.writeHeader(w.pending)
		w.flushPending()
	}
	w.c.flush()
}

// WritePrepared sends a whole 200 response to a GET request: head, which
// holds the status line and the header fields, each ending in CRLF, as the
// caller has them ahead of time, then the Date field and the blank line,
// then body. It reports whether it did; when it reports false it has done
// nothing, and the caller answers through Header, WriteHeader and Write.
//
// The caller vouches that head is, byte for byte, what WriteHeader would
// write for the fields Header holds at the call once the response's own
// fields are set: "HTTP/1.1 200 OK", then the fields sorted by name, with a
// Content-Length of len(body), no Date, Connection, Transfer-Encoding or
// Trailer field, and every value already trimmed. What could still make the
// general path write something else is checked here: a response already
// begun, a HEAD request, a connection that closes after this response (the
// client asked, or the server is shutting down) and so carries
// Connection: close.
//
// Why: building the header through the map, sorting its names on every
// request, was a third of the user-space CPU of a 1 KiB response.
func (w *response) WritePrepared(head, body []byte) bool {
	c := w.c
	if w.status != 0 || w.head || w.closeAfter || c.srv.shutting.Load() {
		return false
	}
	w.status = http.StatusOK
	w.headerOut = true
	w.length = int64(len(body))
	w.written = w.length
	c.out = append(c.out, head...)
	c.out = append(c.out, "Date: "...)
	c.out = append(c.out, httpDate(c.now)...)
	c.out = append(c.out, "\r\n\r\n"...)
	w.appendBody(body)
	return true
}

// finish completes the response once the handler has returned.
func (w *response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOut {
		w.writeHeaderDone(w.pending)
		w.flushPending()
	}
	if w.chunked {
		c := w.c
		c.out = append(c.out, "0\r\n"...)
		if t := w.finalTrailers(); t != nil {
			c.out, c.keys = appendFields(c.out, t, c.keys[:0], nil)
		}
		c.out = append(c.out, crlf...)
	}
	if (w.length != -1 && w.written != w.length || w.declared != -1 && w.written != w.declared) && !w.head && w.bodyAllowed() {
		// Fewer bytes than declared: the client would wait for the rest,
		// or read them from the next response. Close instead.
		w.closeAfter = true
	}
}

// finalTrailers returns the trailer fields the handler set: those it
// declared in a Trailer field, and those named with http.TrailerPrefix.
func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.hdr {
		if kk, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		for _, v := range w.hdr[k] {
			if t == nil {
				t = make(http.Header)
			}
			t.Add(k, v)
		}
	}
	return t
}

// writeHeader writes the header before the handler is done; first is the
// start of the body, for sniffing a missing Content-Type.
func (w *response) writeHeader(first []byte) { w.writeHeaderAt(first, false) }

// writeHeaderDone writes the header once the handler is done, when a body
// of unknown length is all in first.
func (w *response) writeHeaderDone(first []byte) { w.writeHeaderAt(first, true) }

// writeHeaderAt appends the status line and header fields to the output,
// deciding the framing as net/http's chunkWriter.writeHeader does.
func (w *response) writeHeaderAt(first []byte, done bool) {
	w.headerOut = true
	c := w.c
	h := w.frozen
	if h == nil {
		h = w.hdr
	}
	// Fields the handler set that are not written as they are.
	var skip [4]string
	excluded := skip[:0]
	drop := func(k string) {
		if _, ok := h[k]; ok && !slices.Contains(excluded, k) {
			excluded = append(excluded, k)
		}
	}

	// One pass over the names serves both this check and the writing.
	keys := c.keys[:0]
	trailers := false
	for k := range h {
		keys = append(keys, k)
		if strings.HasPrefix(k, http.TrailerPrefix) {
			trailers = true // written (without the prefix) as trailers
		}
	}
	for _, v := range h["Trailer"] {
		trailers = true
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); validTrailer(k) {
				w.trailers = append(w.trailers, k)
			}
		}
	}
	te := first1(h["Transfer-Encoding"])
	hasTE := te != "" // as net/http: an empty value is no Transfer-Encoding

	var length string // a Content-Length to add
	if done && !trailers && !hasTE && w.bodyAllowed() && !w.badLength && w.length == -1 && (!w.head || len(first) > 0) {
		// The handler is done and its whole body is held: its length is
		// known after all.
		w.length = int64(len(first))
		length = strconv.Itoa(len(first))
	}
	if first1(h["Connection"]) == "close" || c.srv.shutting.Load() {
		w.closeAfter = true
	}

	var sniffed string
	if w.bodyAllowed() {
		_, typed := h["Content-Type"]
		if !typed && first1(h["Content-Encoding"]) == "" && !hasTE && len(first) > 0 {
			if len(w.pending) > 0 && &first[0] != &w.pending[0] {
				// The body starts with what is held, then first.
				first = append(w.pending[:len(w.pending):len(w.pending)], first[:min(len(first), 512)]...)
			}
			sniffed = http.DetectContentType(first)
		}
	} else {
		drop("Transfer-Encoding")
		drop("Content-Length")
		if w.status == http.StatusNotModified {
			drop("Content-Type")
		}
	}

	hasCL := w.length != -1
	if hasCL && hasTE && te != "identity" {
		c.srv.logf("h1: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", te, w.length)
		drop("Content-Length")
		hasCL, w.length = false, -1
	}
	switch {
	case w.head || !w.bodyAllowed():
		drop("Transfer-Encoding")
	case hasCL:
		drop("Transfer-Encoding")
	case hasTE && te == "identity":
		// No length and no chunking: the end of the body is the end of
		// the connection.
		w.closeAfter = true
		drop("Transfer-Encoding")
	default:
		w.chunked = true
		if te == "chunked" {
			drop("Transfer-Encoding") // written below, once
		}
	}
	if w.chunked {
		drop("Content-Length")
	}
	connClose := false
	if w.closeAfter && (c.srv.shutting.Load() || !hasToken(first1(h["Connection"]), "close")) && w.status != http.StatusSwitchingProtocols {
		drop("Connection")
		connClose = true
	}

	c.out = appendStatus(c.out, w.status)
	c.out, c.keys = appendSorted(c.out, h, keys, excluded)
	if sniffed != "" {
		c.out = append(c.out, "Content-Type: "...)
		c.out = append(c.out, sniffed...)
		c.out = append(c.out, crlf...)
	}
	if connClose {
		c.out = append(c.out, "Connection: close\r\n"...)
	}
	if w.chunked {
		c.out = append(c.out, "Transfer-Encoding: chunked\r\n"...)
	}
	if _, ok := h["Date"]; !ok {
		c.out = append(c.out, "Date: "...)
		c.out = append(c.out, httpDate(c.now)...)
		c.out = append(c.out, crlf...)
	}
	if length != "" {
		c.out = append(c.out, "Content-Length: "...)
		c.out = append(c.out, length...)
		c.out = append(c.out, crlf...)
	}
	c.out = append(c.out, crlf...)
}

// first1 returns a field's first value, as net/http's Header.get.
func first1(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// excludeNoBody are the fields an informational response does not carry.
var excludeNoBody = []string{"Content-Length", "Transfer-Encoding"}

// validTrailer reports whether k may be a trailer field: RFC 9110 §6.5.1
// forbids those that frame, route or authenticate the message, as
// net/http's httpguts.ValidTrailerHeader does.
func validTrailer(k string) bool {
	if k == "" || strings.HasPrefix(k, "If-") {
		return false
	}
	switch k {
	case "Authorization", "Cache-Control", "Connection", "Content-Encoding", "Content-Length",
		"Content-Range", "Content-Type", "Expect", "Host", "Keep-Alive", "Max-Forwards",
		"Pragma", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Range",
		"Realm", "Te", "Trailer", "Transfer-Encoding", "Www-Authenticate":
		return false
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively.
func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// appendStatus appends "HTTP/1.1 200 OK\r\n".
func appendStatus(b []byte, code int) []byte {
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code) // as net/http
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, text...)
	return append(b, crlf...)
}

// appendFields appends h's fields sorted by name, as net/http writes them,
// leaving out those in excluded and those named with http.TrailerPrefix.
// Like net/http, it drops names that are not tokens and turns CR and LF in
// values into spaces, so that no handler can split the response. keys is
// scratch space, returned for reuse.
func appendFields(b []byte, h http.Header, keys, excluded []string) ([]byte, []string) {
	for k := range h {
		keys = append(keys, k)
	}
	return appendSorted(b, h, keys, excluded)
}

// appendSorted is appendFields with h's names already in keys.
func appendSorted(b []byte, h http.Header, keys, excluded []string) ([]byte, []string) {
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(excluded, k) || !isTokenString(k) {
			continue
		}
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			start := len(b)
			b = append(b, strings.TrimSpace(v)...)
			for i := start; i < len(b); i++ {
				if b[i] == '\r' || b[i] == '\n' {
					b[i] = ' '
				}
			}
			b = append(b, crlf...)
		}
	}
	return b, keys
}

// isTokenString reports whether s is a field name; "Trailer:X" is not.
func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// httpDate returns t in the Date field's format. It is formatted once a
// second, not once a response.
func httpDate(t time.Time) string {
	now := t.Unix()
	if d := cachedDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var cachedDate atomic.Pointer[dateText]
