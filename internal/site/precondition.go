package site

import (
	"net/http"
	"strings"
	"time"
)

// validators are what preconditions compare a representation against
// (RFC 9110 §8.8).
type validators struct {
	etag         string    // strong entity-tag, quoted
	modtime      time.Time // truncated to seconds; zero when unknown
	lastModified string    // modtime as an IMF-fixdate; "" when unknown
}

// condResult is the value of one precondition header: absent (or to be
// ignored), true, or false.
type condResult int8

const (
	condNone condResult = iota
	condTrue
	condFalse
)

// decision is what the evaluation of preconditions leaves the handler to do.
type decision int8

const (
	sendFull               decision = iota // 200 with the whole representation
	sendRange                              // 206 if the Range header can be satisfied
	sendNotModified                        // 304
	sendPreconditionFailed                 // 412
)

// evaluate walks RFC 9110 §13.2.2 for a GET or HEAD request on a
// representation that exists, one step per header, each step computed by a
// small function returning a condResult.
func evaluate(r *http.Request, v *validators) decision {
	h := r.Header
	if !mayBeConditional(h) {
		return sendFull // no If-* field, no Range: every step below is skipped
	}

	// Steps 1 and 2: If-Match, or If-Unmodified-Since when If-Match is
	// absent; false means 412.
	c := ifMatch(h["If-Match"], v)
	if c == condNone {
		c = ifUnmodifiedSince(h["If-Unmodified-Since"], v)
	}
	if c == condFalse {
		return sendPreconditionFailed
	}

	// Steps 3 and 4: If-None-Match, or If-Modified-Since when If-None-Match
	// is absent; false means 304, the method being GET or HEAD here (for
	// other methods step 3 would give 412).
	switch ifNoneMatch(h["If-None-Match"], v) {
	case condFalse:
		return sendNotModified
	case condNone:
		if ifModifiedSince(h["If-Modified-Since"], v) == condFalse {
			return sendNotModified
		}
	}

	// Step 5: Range applies to GET only (RFC 9110 §14.2), and only when
	// If-Range, if present, holds; a false If-Range means the whole
	// representation.
	if r.Method != http.MethodGet || len(h["Range"]) == 0 {
		return sendFull
	}
	if ifRange(h["If-Range"], v) == condFalse {
		return sendFull
	}
	return sendRange
}

// mayBeConditional reports whether h may hold a field evaluate reads: an
// If-* field or Range. Most requests hold none, and one pass over a few
// field names costs less than the six map lookups that would each find
// nothing; a larger header is left to the lookups.
func mayBeConditional(h http.Header) bool {
	if len(h) > 8 {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, "If-") || k == "Range" {
			return true
		}
	}
	return false
}

// ifMatch evaluates If-Match (RFC 9110 §13.1.1): true when the field is "*"
// or lists an entity-tag that matches v's by strong comparison.
func ifMatch(lines []string, v *validators) condResult {
	if len(lines) == 0 {
		return condNone
	}
	if listMatches(lines, v.etag, false) {
		return condTrue
	}
	return condFalse
}

// ifNoneMatch evaluates If-None-Match (RFC 9110 §13.1.2): false when the
// field is "*" or lists an entity-tag that matches v's by weak comparison.
func ifNoneMatch(lines []string, v *validators) condResult {
	if len(lines) == 0 {
		return condNone
	}
	if listMatches(lines, v.etag, true) {
		return condFalse
	}
	return condTrue
}

// ifModifiedSince evaluates If-Modified-Since (RFC 9110 §13.1.3): false when
// the representation has not changed since the given date. The field is
// ignored when it is not a single valid HTTP-date or when the
// representation has no modification time.
func ifModifiedSince(lines []string, v *validators) condResult {
	if len(lines) != 1 || v.lastModified == "" {
		return condNone
	}
	// Browsers echo Last-Modified back verbatim: compare before parsing.
	if lines[0] == v.lastModified {
		return condFalse
	}
	t, err := http.ParseTime(lines[0])
	if err != nil {
		return condNone
	}
	if v.modtime.After(t) {
		return condTrue
	}
	return condFalse
}

// ifUnmodifiedSince evaluates If-Unmodified-Since (RFC 9110 §13.1.4), with
// the same rules for ignoring it as ifModifiedSince.
func ifUnmodifiedSince(lines []string, v *validators) condResult {
	if len(lines) != 1 || v.lastModified == "" {
		return condNone
	}
	if lines[0] == v.lastModified {
		return condTrue
	}
	t, err := http.ParseTime(lines[0])
	if err != nil {
		return condNone
	}
	if v.modtime.After(t) {
		return condFalse
	}
	return condTrue
}

// ifRange evaluates If-Range (RFC 9110 §13.1.5): true when it holds an
// entity-tag that matches v's by strong comparison (a weak one never does),
// or an HTTP-date equal to the Last-Modified time.
func ifRange(lines []string, v *validators) condResult {
	if len(lines) == 0 {
		return condNone
	}
	if len(lines) > 1 {
		return condFalse
	}
	s := trimOWS(lines[0])
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "W/") {
		tag, rest := scanETag(s)
		if tag != "" && trimOWS(rest) == "" && strongMatch(tag, v.etag) {
			return condTrue
		}
		return condFalse
	}
	if v.lastModified == "" {
		return condFalse
	}
	if s == v.lastModified {
		return condTrue
	}
	t, err := http.ParseTime(s)
	if err != nil || !t.Equal(v.modtime) {
		return condFalse
	}
	return condTrue
}

// listMatches reports whether the entity-tag list in lines (RFC 9110 §8.8.3,
// with "*" allowed) matches etag, comparing weakly or strongly. A malformed
// element ends the scan of its line: what precedes it still counts.
func listMatches(lines []string, etag string, weak bool) bool {
	for _, s := range lines {
		for {
			s = trimOWS(s)
			if s == "" {
				break
			}
			if s[0] == ',' {
				s = s[1:]
				continue
			}
			if s[0] == '*' {
				return true
			}
			tag, rest := scanETag(s)
			if tag == "" {
				break
			}
			if weak && weakMatch(tag, etag) || !weak && strongMatch(tag, etag) {
				return true
			}
			s = rest
		}
	}
	return false
}

// scanETag splits a syntactically valid entity-tag (RFC 9110 §8.8.3) off the
// start of s, returning "" when there is none.
func scanETag(s string) (tag, rest string) {
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s) < start+2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:]
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80: // etagc
		default:
			return "", ""
		}
	}
	return "", ""
}

// strongMatch compares entity-tags strongly: both must be strong and equal
// (RFC 9110 §8.8.3.2).
func strongMatch(a, b string) bool {
	return a == b && a != "" && a[0] == '"'
}

// weakMatch compares entity-tags weakly: their opaque parts must be equal,
// whatever their weakness.
func weakMatch(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}
