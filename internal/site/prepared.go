package site

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// A preparedWriter can send a 200 response whose status line and header
// fields were serialised ahead of time; see h1's response.WritePrepared for
// the contract. net/http's ResponseWriter is not one, so over TLS, HTTP/2
// and connections handed to net/http every response takes the general path.
type preparedWriter interface {
	WritePrepared(head, body []byte) bool
}

// fixedField is one of Options.Header's fields.
type fixedField struct {
	name  string
	value []string
}

// fixedFields returns h's fields in name order, each value with no spare
// capacity, so that a handler appending to one copies it.
func fixedFields(h http.Header) []fixedField {
	fixed := make([]fixedField, 0, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fixed = append(fixed, fixedField{k, slices.Clip(slices.Clone(h[k]))})
	}
	return fixed
}

// okHead is the status line of every prepared response.
const okHead = "HTTP/1.1 200 OK\r\n"

// prepare serialises, for every representation held in memory, the status
// line and header fields of its 200 response to a GET request, as the
// general path (serveView) would set them on a header map already holding
// s.fixed. It runs last in Load, once every entry has its final
// Cache-Control value.
//
// Nothing is prepared when a fixed field is one that changes how the
// response is framed or dated, or when a value would be written other than
// as it stands (surrounding or non-ASCII white space, control bytes): the
// general path then serves everything, and no prepared response can differ
// from it.
func (s *Site) prepare() {
	fixed := s.fixed
	for _, f := range fixed {
		switch f.name {
		case "Connection", "Date", "Transfer-Encoding", "Trailer", "Content-Length":
			return
		}
		if strings.HasPrefix(f.name, http.TrailerPrefix) {
			return
		}
	}
	s.prepared = true
	done := make(map[*entry]bool, len(s.index))
	each := func(e *entry) {
		if e == nil || done[e] || e.location != nil {
			return
		}
		done[e] = true
		e.identity.prepared = preparedHead(e, &e.identity, fixed)
		for i := range e.variants {
			e.variants[i].prepared = preparedHead(e, &e.variants[i], fixed)
		}
	}
	for _, e := range s.index {
		each(e)
	}
	each(s.fallback)
}

// preparedHead returns the serialised head of the 200 response with rp, or
// nil when rp is streamed or a field would not be written as it stands.
func preparedHead(e *entry, rp *rep, fixed []fixedField) []byte {
	if rp.streamed {
		return nil
	}
	h := make(http.Header, len(fixed)+8)
	for _, f := range fixed {
		h[f.name] = f.value
	}
	v := memoryView(e, rp)
	cacheFields(h, &v)
	representationFields(h, &v)
	wholeFields(h, &v)

	b := []byte(okHead)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if !plainName(k) {
			return nil
		}
		for _, v := range h[k] {
			if !plainValue(v) {
				return nil
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return b[:len(b):len(b)]
}

// plainName reports whether k is a field name (an RFC 9110 token), which
// every writer writes as it is.
func plainName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// plainValue reports whether v is written as it stands by every writer:
// visible ASCII and inner spaces or tabs only, so that no trimming or
// replacing of line breaks applies.
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return v == strings.Trim(v, " \t")
}

// servePrepared answers a GET for e with the head prepared at Load, and
// reports whether it did; when it did not, it has written nothing. The
// prepared head holds s.fixed, so it says what the general path would only
// while the header map is empty: anything a handler in front set sends the
// request down the general path.
func (s *Site) servePrepared(w http.ResponseWriter, r *http.Request, e *entry) bool {
	if e.location != nil {
		return false
	}
	rp := selectRep(e, r)
	if rp.prepared == nil {
		return false
	}
	pw, ok := w.(preparedWriter)
	return ok && len(w.Header()) == 0 && evaluate(r, &rp.val) == sendFull && pw.WritePrepared(rp.prepared, rp.data)
}
