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
// bytes; a larger one is written from where it lies with writev(2).
const copyMax = 8 << 10

// chunkAfter is how much body of unknown length is held before the header
// goes out with chunked encoding: net/http's bufferBeforeChunkingSize, so
// that a handler gets the same framing from both servers.
const chunkAfter = 2048

// response is the http.ResponseWriter of one request, reused for each
// request of its connection. Its rules are net/http's; see the package
// documentation.
type response struct {
	c   *conn
	req *http.Request
	hdr http.Header

	status      int   // 0 until WriteHeader or the first Write
	headerOut   bool  // the header is in c.out or written
	length      int64 // the declared Content-Length, or -1
	written     int64 // body bytes the handler wrote
	head        bool  // a HEAD request: the body is discarded
	chunked     bool
	pending     []byte // body of unknown length held before the header goes out
	closeAfter  bool
	sniffedType string
	// badLength: the handler set a Content-Length that does not parse.
	// net/http then never computes one, and chunks the body.
	badLength bool
}

func (w *response) reset(r *http.Request) {
	w.req = r
	clear(w.hdr)
	w.status = 0
	w.headerOut = false
	w.length = -1
	w.written = 0
	w.head = r.Method == http.MethodHead
	w.chunked = false
	w.pending = w.pending[:0]
	w.closeAfter = r.Close
	w.sniffedType = ""
	w.badLength = false
}

func (w *response) Header() http.Header { return w.hdr }

func (w *response) WriteHeader(code int) {
	if w.status != 0 {
		return // net/http logs a superfluous call; the first one stands
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code)) // as net/http
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational response (103 Early Hints) goes out at once,
		// with the header as it stands, and the final one follows.
		w.c.out = appendStatus(w.c.out, code)
		w.c.out, w.c.keys = appendFields(w.c.out, w.hdr, w.c.keys[:0])
		w.c.out = append(w.c.out, crlf...)
		return
	}
	w.status = code
	if cl := w.hdr["Content-Length"]; len(cl) > 0 {
		if v, err := strconv.ParseInt(cl[0], 10, 64); err == nil && v >= 0 {
			w.length = v
		} else {
			w.c.srv.logf("h1: invalid Content-Length %q", cl[0])
			delete(w.hdr, "Content-Length")
			w.badLength = true
		}
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
		if w.length == -1 {
			// Unknown length: hold the body, as net/http's buffer does,
			// so that a short one gets a Content-Length.
			if len(w.pending)+len(p) <= chunkAfter {
				w.pending = append(w.pending, p...)
				return len(p), nil
			}
			w.chunked = !w.head
		}
		w.writeHeader(p)
		if w.chunked && len(w.pending) > 0 {
			w.appendBody(w.pending)
		}
		w.pending = w.pending[:0]
	}
	if w.head {
		return len(p), nil
	}
	if err := w.appendBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
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
		if err := c.writeBody(p); err != nil {
			return err
		}
	} else {
		c.out = append(c.out, p...)
	}
	if w.chunked {
		c.out = append(c.out, crlf...)
	}
	return nil
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
	if w.length == -1 || w.head || !w.bodyAllowed() || w.hdr["Content-Type"] == nil {
		// Framing, sniffing or discarding to decide: the Write path does it.
		return io.Copy(writerOnly{w}, src)
	}
	if !w.headerOut {
		w.writeHeader(nil)
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
		if w.length == -1 && w.bodyAllowed() && !w.head {
			w.chunked = true
		}
		w.writeHeader(w.pending)
		if len(w.pending) > 0 && !w.head {
			w.appendBody(w.pending)
		}
		w.pending = w.pending[:0]
	}
	w.c.flush()
}

// finish completes the response once the handler has returned.
func (w *response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerOut {
		if w.length == -1 && w.badLength && w.bodyAllowed() && !w.head {
			w.chunked = true
		} else if w.length == -1 && w.bodyAllowed() && (!w.head || len(w.pending) > 0) {
			// The handler is done and its whole body is held: its length
			// is known after all.
			w.length = int64(len(w.pending))
			w.hdr["Content-Length"] = []string{strconv.Itoa(len(w.pending))}
		}
		w.writeHeader(w.pending)
		if !w.head {
			w.appendBody(w.pending)
		}
		w.pending = w.pending[:0]
	}
	if w.chunked {
		w.c.out = append(w.c.out, "0\r\n\r\n"...)
	}
	if w.length != -1 && w.written != w.length && !w.head && w.bodyAllowed() {
		// Fewer bytes than declared: the client would wait for the rest,
		// or read them from the next response. Close instead.
		w.closeAfter = true
	}
}

// writeHeader appends the status line and header fields to the output;
// first is the start of the body, for sniffing a missing Content-Type.
func (w *response) writeHeader(first []byte) {
	w.headerOut = true
	h := w.hdr
	if !w.bodyAllowed() {
		delete(h, "Transfer-Encoding")
		delete(h, "Content-Length")
		if w.status == http.StatusNotModified {
			delete(h, "Content-Type")
		}
	} else if _, ok := h["Content-Type"]; !ok && h.Get("Content-Encoding") == "" && len(first) > 0 {
		w.sniffedType = http.DetectContentType(first)
	}
	if v := h["Connection"]; len(v) > 0 && strings.EqualFold(v[0], "close") {
		w.closeAfter = true
	}
	if w.c.srv.shutting.Load() {
		w.closeAfter = true // the last response of a draining connection says so
	}
	c := w.c
	c.out = appendStatus(c.out, w.status)
	c.out, c.keys = appendFields(c.out, h, c.keys[:0])
	if w.sniffedType != "" {
		c.out = append(c.out, "Content-Type: "...)
		c.out = append(c.out, w.sniffedType...)
		c.out = append(c.out, crlf...)
	}
	if _, ok := h["Date"]; !ok {
		c.out = append(c.out, "Date: "...)
		c.out = append(c.out, httpDate()...)
		c.out = append(c.out, crlf...)
	}
	if w.chunked {
		c.out = append(c.out, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.closeAfter && h["Connection"] == nil {
		c.out = append(c.out, "Connection: close\r\n"...)
	}
	c.out = append(c.out, crlf...)
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

// appendFields appends h's fields sorted by name, as net/http writes them.
// Like net/http, it drops names that are not tokens and turns CR and LF in
// values into spaces, so that no handler can split the response.
// keys is scratch space, returned for reuse.
func appendFields(b []byte, h http.Header, keys []string) ([]byte, []string) {
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !isTokenString(k) {
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

func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// httpDate returns the current time in the Date field's format. It is
// formatted once a second, not once a response.
func httpDate() string {
	now := time.Now().Unix()
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
