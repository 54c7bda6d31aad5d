package site

import (
	"strings"
	"unicode/utf8"
)

// wellKnown is the one dot-directory served, and only at the root: RFC 8615
// reserves it for site metadata (ACME challenges, security.txt).
const wellKnown = ".well-known"

// resolve maps a decoded URL path to the key under which the index stores
// it, or reports false when the path must be answered 404 without looking
// further. The key is "/" followed by the path's segments with dot segments
// removed (RFC 3986 §5.2.4) and empty ones dropped; it ends in "/" when the
// path names a directory, that is when it ends in "/", "/." or "/..".
//
// Unlike RFC 3986, a ".." above the root is refused instead of being
// dropped: no legitimate link needs it, so it is a probe.
func resolve(p string) (string, bool) {
	if p == "" || p[0] != '/' || !utf8.ValidString(p) {
		return "", false
	}
	// segs[:n] holds the resolved segments; a fixed array keeps the common
	// case off the heap.
	var buf [16]string
	segs := buf[:0]
	dir := false
	for rest := p[1:]; ; {
		seg, tail, more := strings.Cut(rest, "/")
		dir = true // a dot segment or a trailing slash names a directory
		switch seg {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", false
			}
			segs = segs[:len(segs)-1]
		default:
			// A dot segment is refused even if a later ".." would remove
			// it: "/.git/../x" is a probe, not a link.
			if !validSegment(seg) || seg[0] == '.' && (len(segs) != 0 || seg != wellKnown) {
				return "", false
			}
			segs = append(segs, seg)
			dir = false
		}
		if !more {
			break
		}
		rest = tail
	}
	if len(segs) == 0 {
		return "/", true
	}
	// Rebuild only when the path was not already canonical.
	n := len(segs) // one '/' before each segment
	for _, seg := range segs {
		n += len(seg)
	}
	if dir {
		n++
	}
	if n == len(p) && isCanonical(p, segs, dir) {
		return p, true
	}
	var b strings.Builder
	b.Grow(n)
	for _, seg := range segs {
		b.WriteByte('/')
		b.WriteString(seg)
	}
	if dir {
		b.WriteByte('/')
	}
	return b.String(), true
}

// isCanonical reports whether p is exactly "/"-joined segs (plus a trailing
// slash when dir), given that the lengths already agree.
func isCanonical(p string, segs []string, dir bool) bool {
	i := 0
	for _, seg := range segs {
		if p[i] != '/' || p[i+1:i+1+len(seg)] != seg {
			return false
		}
		i += 1 + len(seg)
	}
	return !dir || p[i] == '/'
}

// validSegment reports whether a path segment (decoded) may name a file: not
// empty, valid UTF-8, and free of control characters and backslashes, which
// some file systems and proxies treat as separators. Dotfiles are refused
// separately, since ".well-known" depends on the segment's position.
func validSegment(seg string) bool {
	if seg == "" || !utf8.ValidString(seg) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// rawPathSafe reports whether the escaped form of a request path is free of
// percent-encoded dots, slashes, backslashes and NULs. Such encodings are how
// traversal probes slip past filters that look at one form and act on the
// other; no link to a static file needs them ('.' is unreserved, RFC 3986
// §2.3, and '/' inside a file name cannot exist on disk).
func rawPathSafe(raw string) bool {
	for i := strings.IndexByte(raw, '%'); i >= 0; i = strings.IndexByte(raw, '%') {
		raw = raw[i+1:]
		if len(raw) < 2 {
			return true
		}
		switch {
		case raw[0] == '0' && raw[1] == '0',
			raw[0] == '2' && (raw[1] == 'e' || raw[1] == 'E' || raw[1] == 'f' || raw[1] == 'F'),
			raw[0] == '5' && (raw[1] == 'c' || raw[1] == 'C'):
			return false
		}
	}
	return true
}

// hasExtension reports whether the last segment of a resolved path has a
// file extension, which decides whether the SPA fallback applies.
func hasExtension(key string) bool {
	last := key[strings.LastIndexByte(key, '/')+1:]
	return strings.IndexByte(last, '.') > 0
}
