package site

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

// Header values shared by all responses. Like entry's, they have no spare
// capacity.
var (
	hdrAllow        = header("GET, HEAD, OPTIONS")
	hdrAcceptRanges = header("bytes")
	hdrVary         = header("Accept-Encoding")
	hdrTextPlain    = header("text/plain; charset=utf-8")
)

// serve is ServeHTTP: method, then lookup, then the entry.
func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	var e *entry
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		e = s.entryFor(r)
		// The common case, a whole representation from memory to a GET,
		// goes out with the head prepared at Load, without a field in the
		// header map.
		if e != nil && s.prepared && r.Method == http.MethodGet && s.servePrepared(w, r, e) {
			return
		}
	}
	h := w.Header()
	for _, f := range s.fixed {
		if _, ok := h[f.name]; !ok {
			h[f.name] = f.value
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		// RFC 9110 §9.3.7: OPTIONS describes what the resource allows.
		h["Allow"] = hdrAllow
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		// RFC 9110 §15.5.6: a 405 must list the allowed methods.
		h["Allow"] = hdrAllow
		plainError(w, r, http.StatusMethodNotAllowed, nil)
		return
	}
	if e == nil {
		s.serveNotFound(w, r)
		return
	}
	s.serveEntry(w, r, e)
}

// entryFor returns the entry r's path names, the fallback for an
// application route, or nil for none.
func (s *Site) entryFor(r *http.Request) *entry {
	// Fast path: index keys are canonical, safe paths, so a path found as
	// it stands needs no resolving, unless its raw form held escapes that
	// decoding hid (RawPath is empty when the path was escaped the default
	// way, which is the common case).
	if e := s.index[r.URL.Path]; e != nil && r.URL.RawPath == "" {
		return e
	}
	if !rawPathSafe(r.URL.RawPath) {
		return nil
	}
	key, ok := resolve(r.URL.Path)
	if !ok {
		return nil
	}
	if e := s.index[key]; e != nil {
		return e
	}
	// A path without an extension is an application route; one with an
	// extension is a missing asset, and answering it with the application's
	// HTML would hide the error (and be parsed as script or style).
	if s.fallback != nil && !hasExtension(key) {
		return s.fallback
	}
	return nil
}

// selectRep returns the representation of e that r asks for.
//
// A request with a Range header gets ranges of the identity representation
// whatever its Accept-Encoding says, so that byte offsets always mean the
// same bytes: those that the ETag and Last-Modified of the file describe. A
// client resuming a download or fetching pieces in parallel combines several
// responses, and a compressed variant is not guaranteed to be the same bytes
// from one Load to the next (a sibling added or regenerated). RFC 9110
// §14.1.2 defines ranges on the selected representation; selecting identity
// keeps that well defined.
func selectRep(e *entry, r *http.Request) *rep {
	if len(e.variants) > 0 && len(r.Header["Range"]) == 0 {
		return negotiate(r.Header["Accept-Encoding"], &e.identity, e.variants)
	}
	return &e.identity
}

// serveEntry answers with entry e: a redirect, or the representation of its
// file that the request selects.
func (s *Site) serveEntry(w http.ResponseWriter, r *http.Request, e *entry) {
	h := w.Header()
	if e.location != nil {
		loc := e.location
		if r.URL.RawQuery != "" {
			loc = []string{loc[0] + "?" + r.URL.RawQuery}
		}
		h["Location"] = loc
		h["Cache-Control"] = e.cache
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}

	rp := selectRep(e, r)
	if !rp.streamed {
		v := memoryView(e, rp)
		serveView(w, r, &v)
		return
	}

	f, fi, err := s.src.open(rp.name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errOutside) {
			s.serveNotFound(w, r) // removed or replaced since Load
			return
		}
		plainError(w, r, http.StatusInternalServerError, nil)
		return
	}
	defer f.Close()
	val := fileValidators(fi, rp.tag)
	v := view{
		e: e, rp: rp, val: &val,
		etag:   header(val.etag),
		length: header(strconv.FormatInt(fi.Size(), 10)),
		size:   fi.Size(),
		file:   f,
	}
	if val.lastModified != "" {
		v.lastMod = header(val.lastModified)
	}
	serveView(w, r, &v)
}

// fileValidators returns the validators of a streamed file, derived from its
// size and modification time as read when it was opened.
//
// The entity-tag is strong, as nginx's and Apache's are for the same
// inputs: hashing a large file on every request would defeat streaming it,
// and a weak tag would make every If-Range fail (RFC 9110 §13.1.5 requires
// strong comparison), so that interrupted downloads of large files, the
// ones that need it most, could never resume. The modification time has
// nanosecond precision on the file systems that matter, so two versions of
// a file share a tag only if rewritten in place to the same size within the
// same clock tick; deploying by rename, as every deploy tool does, rules
// that out. The "f" prefix keeps these tags apart from content hashes.
func fileValidators(fi fs.FileInfo, tag string) validators {
	mod := fi.ModTime()
	b := make([]byte, 0, 48)
	b = append(b, `"f`...)
	b = strconv.AppendInt(b, mod.UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.Size(), 16)
	b = append(b, tag...)
	b = append(b, '"')
	v := validators{etag: string(b)}
	if !isZeroTime(mod) {
		v.modtime = mod.Truncate(time.Second)
		v.lastModified = v.modtime.UTC().Format(http.TimeFormat)
	}
	return v
}

// view is the representation chosen for one response, with its header
// values, whether it is held in memory (data) or streamed (file).
type view struct {
	e       *entry
	rp      *rep
	val     *validators
	etag    []string
	lastMod []string
	length  []string
	size    int64
	data    []byte
	file    file
}

// memoryView returns the view of rp, a representation of e held in memory.
func memoryView(e *entry, rp *rep) view {
	return view{e: e, rp: rp, val: &rp.val, etag: rp.etag, lastMod: rp.lastMod, length: rp.length, size: int64(len(rp.data)), data: rp.data}
}

// cacheFields sets the fields that guide caches, which a 304 carries as a
// 200 would (RFC 9110 §15.4.5): ETag, Cache-Control and Vary.
func cacheFields(h http.Header, v *view) {
	h["Etag"] = v.etag
	h["Cache-Control"] = v.e.cache
	if len(v.e.variants) > 0 {
		if vary := h["Vary"]; vary != nil {
			h["Vary"] = append(vary[:len(vary):len(vary)], hdrVary[0])
		} else {
			h["Vary"] = hdrVary
		}
	}
}

// representationFields sets the fields of a 200 or 206 that describe the
// representation: Last-Modified, Accept-Ranges and Content-Encoding.
func representationFields(h http.Header, v *view) {
	if v.lastMod != nil {
		h["Last-Modified"] = v.lastMod
	}
	// Ranges are served on the identity only (see serveEntry), but the
	// resource supports them whichever representation this is.
	h["Accept-Ranges"] = hdrAcceptRanges
	if v.rp.encoding != nil {
		h["Content-Encoding"] = v.rp.encoding
	}
}

// wholeFields sets the fields of a 200 with the whole representation.
func wholeFields(h http.Header, v *view) {
	h["Content-Type"] = v.e.ctype
	h["Content-Length"] = v.length
}

// serveView answers with the representation v: 412, 304, 416, 206 or 200.
func serveView(w http.ResponseWriter, r *http.Request, v *view) {
	d := evaluate(r, v.val)
	if d == sendPreconditionFailed {
		plainError(w, r, http.StatusPreconditionFailed, nil)
		return
	}
	h := w.Header()
	cacheFields(h, v)
	if d == sendNotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	representationFields(h, v)
	// A zero-length representation has no satisfiable range; RFC 9110 §14.2
	// lets the server ignore the Range header rather than answer 416, which
	// suits clients that send a Range with every request.
	if d == sendRange && v.size > 0 && len(r.Header["Range"]) == 1 {
		var buf [1]byteRange
		ranges, res := parseRange(r.Header["Range"][0], v.size, buf[:0])
		switch res {
		case rangeUnsatisfiable:
			// RFC 9110 §15.5.17. The error must not be cached as the
			// representation would be.
			delete(h, "Cache-Control")
			delete(h, "Etag")
			delete(h, "Last-Modified")
			h["Content-Range"] = []string{unsatisfiedRange(v.size)}
			plainError(w, r, http.StatusRequestedRangeNotSatisfiable, nil)
			return
		case rangeOK:
			serveRanges(w, r, v, ranges)
			return
		}
	}
	wholeFields(h, v)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if v.file == nil {
		w.Write(v.data)
		return
	}
	// CopyN keeps to the Content-Length sent even if the file grows; with
	// an *os.File behind it, net/http sends the bytes with sendfile(2).
	// A copy error means the client went away: nothing is left to tell it.
	io.CopyN(w, v.file, v.size)
}

// serveRanges answers 206 with one range, or several in a
// multipart/byteranges body (RFC 9110 §14.6).
func serveRanges(w http.ResponseWriter, r *http.Request, v *view, ranges []byteRange) {
	h := w.Header()
	if len(ranges) == 1 {
		// RFC 9110 §15.3.7.1: a single part is sent as it is, never as
		// multipart, with the range in Content-Range.
		ra := ranges[0]
		h["Content-Type"] = v.e.ctype
		h["Content-Range"] = []string{contentRange(ra, v.size)}
		h["Content-Length"] = []string{strconv.FormatInt(ra.length, 10)}
		w.WriteHeader(http.StatusPartialContent)
		if r.Method == http.MethodHead {
			return
		}
		if v.file == nil {
			w.Write(v.data[ra.start : ra.start+ra.length])
			return
		}
		if _, err := v.file.Seek(ra.start, io.SeekStart); err != nil {
			return
		}
		io.CopyN(w, v.file, ra.length)
		return
	}
	m := byteranges{boundary: rand.Text(), ctype: v.e.ctype[0], size: v.size, ranges: ranges}
	h["Content-Type"] = []string{"multipart/byteranges; boundary=" + m.boundary}
	h["Content-Length"] = []string{strconv.FormatInt(m.length(), 10)}
	w.WriteHeader(http.StatusPartialContent)
	if r.Method == http.MethodHead {
		return
	}
	var content io.ReadSeeker = v.file
	if v.file == nil {
		content = bytes.NewReader(v.data)
	}
	m.writeTo(w, content)
}

// serveNotFound answers 404, with the root's 404.html as the body when the
// site has one.
func (s *Site) serveNotFound(w http.ResponseWriter, r *http.Request) {
	e := s.notFound
	if e == nil {
		plainError(w, r, http.StatusNotFound, s.htmlCache)
		return
	}
	rp := negotiate(r.Header["Accept-Encoding"], &e.identity, e.variants)
	h := w.Header()
	h["Content-Type"] = e.ctype
	h["Content-Length"] = rp.length
	h["Cache-Control"] = e.cache
	if len(e.variants) > 0 {
		h["Vary"] = hdrVary
	}
	if rp.encoding != nil {
		h["Content-Encoding"] = rp.encoding
	}
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(rp.data)
	}
}

// plainError answers with a short text naming the status. Internal error
// details never reach the client: they could reveal the file system layout.
func plainError(w http.ResponseWriter, r *http.Request, code int, cache []string) {
	msg := strconv.Itoa(code) + " " + http.StatusText(code) + "\n"
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Content-Length"] = []string{strconv.Itoa(len(msg))}
	if cache != nil {
		h["Cache-Control"] = cache
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		io.WriteString(w, msg)
	}
}
