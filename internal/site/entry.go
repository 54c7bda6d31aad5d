package site

import (
	"net/http"
	"strconv"
	"time"
)

// An entry is what the index holds for one URL path: a file (possibly with
// compressed variants), a directory listing, or a redirect.
//
// Header values are kept as the []string a header map holds, with length
// equal to capacity, so a response assigns them without allocating and a
// later Header().Add by a wrapping handler reallocates instead of writing
// into the shared array.
type entry struct {
	location []string // a redirect: its Location; nothing else is set

	ctype    []string // Content-Type
	cache    []string // Cache-Control
	identity rep      // the content as stored
	variants []rep    // compressed variants, in the order of codings
}

// A rep is one representation of an entry: the identity or a variant.
type rep struct {
	coding   string   // Content-Encoding token; "" for identity
	encoding []string // Content-Encoding field value; nil for identity

	// In memory: the bytes and their precomputed header values.
	data    []byte
	etag    []string
	length  []string
	lastMod []string // nil when the modification time is unknown
	val     validators

	// Streamed: the file's slash-separated path in the source, whose
	// validators are computed from its metadata on each request.
	streamed bool
	name     string
	tag      string // entity-tag suffix of the coding, as "-gz"

	// prepared is the status line and header fields of the 200 response
	// to a GET, without Date, when held in memory (see Site.prepare).
	// Entries copied from another (the fallback) must get their own.
	prepared []byte
}

// memoryRep returns the representation of data, modified at mod (zero when
// unknown), with coding and an entity-tag whose opaque part is tag.
func memoryRep(data []byte, mod time.Time, coding, etag string) rep {
	r := rep{
		coding: coding,
		data:   data,
		etag:   header(etag),
		length: header(strconv.Itoa(len(data))),
		val:    validators{etag: etag},
	}
	if coding != "" {
		r.encoding = header(coding)
	}
	if !isZeroTime(mod) {
		r.val.modtime = mod.Truncate(time.Second)
		r.val.lastModified = r.val.modtime.UTC().Format(http.TimeFormat)
		r.lastMod = header(r.val.lastModified)
	}
	return r
}

// header returns a one-value header slice with no spare capacity.
func header(v string) []string {
	return []string{v}[:1:1]
}

// isZeroTime reports whether t is unknown: file systems without times
// (embed.FS) report the zero time, and some archives the Unix epoch.
func isZeroTime(t time.Time) bool {
	return t.IsZero() || t.Unix() == 0
}
