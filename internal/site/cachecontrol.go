package site

import (
	"path"
	"strings"
)

// Default Cache-Control values; see CacheControl.
const (
	DefaultCacheHTML      = "no-cache"
	DefaultCacheImmutable = "public, max-age=31536000, immutable"
	DefaultCacheDefault   = "public, max-age=3600"
)

// Default Cache-Control values of a private site ([CacheControl.Private]):
// the same lifetimes, for the browser's cache only. "public" would let a
// shared cache store a response to a request with credentials and serve
// it to anyone (RFC 9111 §3.5); "private" forbids shared caches to store
// it at all (RFC 9111 §5.2.2.7). The HTML value says so too, although
// "no-cache" alone already keeps it out of shared caches under
// Authorization, so that a proxy that ignores §3.5 still has a reason to
// leave it alone.
const (
	PrivateCacheHTML      = "private, no-cache"
	PrivateCacheImmutable = "private, max-age=31536000, immutable"
	PrivateCacheDefault   = "private, max-age=3600"
)

// policy is a CacheControl with its defaults filled in and its values in the
// form assigned to a header map.
type policy struct {
	html, immutable, other []string
	fingerprinted          func(string) bool
}

func newPolicy(c CacheControl) policy {
	value := func(v, def string) []string {
		if v == "" {
			v = def
		}
		return []string{v}
	}
	p := policy{
		html:          value(c.HTML, DefaultCacheHTML),
		immutable:     value(c.Immutable, DefaultCacheImmutable),
		other:         value(c.Default, DefaultCacheDefault),
		fingerprinted: c.Fingerprinted,
	}
	if c.Private {
		p.html = value(c.HTML, PrivateCacheHTML)
		p.immutable = value(c.Immutable, PrivateCacheImmutable)
		p.other = value(c.Default, PrivateCacheDefault)
	}
	if p.fingerprinted == nil {
		p.fingerprinted = fingerprinted
	}
	return p
}

// forFile returns the Cache-Control value of the file at URL path name with
// media type ctype.
func (p *policy) forFile(name, ctype string) []string {
	switch {
	case isHTML(ctype):
		return p.html
	case p.fingerprinted(name):
		return p.immutable
	}
	return p.other
}

// SharedCacheable reports whether the Cache-Control value v lets a shared
// cache store a response to a request that carried credentials: it holds
// "public", "s-maxage" or "must-revalidate" (RFC 9111 §3.5). Directive
// names are case-insensitive (RFC 9111 §5.2).
func SharedCacheable(v string) bool {
	for d := range strings.SplitSeq(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "public", "s-maxage", "must-revalidate":
			return true
		}
	}
	return false
}

func isHTML(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/html")
}

// fingerprinted is the default rule of CacheControl.Fingerprinted.
func fingerprinted(name string) bool {
	base := path.Base(name)
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	for part := range strings.FieldsFuncSeq(base, func(r rune) bool {
		return r == '.' || r == '-' || r == '_'
	}) {
		if isHash(part) {
			return true
		}
	}
	return false
}

// isHash reports whether a part of a file name looks like a content hash;
// see CacheControl.Fingerprinted.
func isHash(s string) bool {
	if len(s) < 8 {
		return false
	}
	var digits, lowerHex, upperHex, upper, runs int
	prevDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		isDigit := '0' <= c && c <= '9'
		switch {
		case isDigit:
			digits++
		case 'a' <= c && c <= 'f':
			lowerHex++
		case 'A' <= c && c <= 'F':
			upperHex++
			upper++
		case 'G' <= c && c <= 'Z':
			upper++
		default:
			return false
		}
		if i == 0 || isDigit != prevDigit {
			runs++
		}
		prevDigit = isDigit
	}
	switch {
	case digits > 0 && lowerHex > 0 && digits+lowerHex == len(s):
		return true // lowercase hex: app.3f9a1c2e.js
	case digits > 0 && upperHex > 0 && digits+upperHex == len(s):
		return true // uppercase hex
	case digits > 0 && digits+upper == len(s) && runs >= 4:
		// Uppercase base32 as esbuild writes it (main-5D3FGX7Q.css): digits
		// and letters interleave, unlike in words such as README2024.
		return true
	}
	return false
}
