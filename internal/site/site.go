// Package site serves a static web site from an immutable index built once
// by [Load]; a [Site] is an [http.Handler].
//
// # Index
//
// Load walks the site's root once. Every regular file up to
// [Options.MaxFileSize] is read into memory with everything a response needs
// computed ahead of time: Content-Type (by extension, else sniffed),
// Content-Length, a strong ETag from the SHA-256 of the bytes, Last-Modified,
// the Cache-Control value, and compressed variants. Larger files are listed
// in the index but read from disk on each request, so that net/http can send
// them with sendfile(2). A Site never changes after Load returns; to pick up
// new content, call Load again and swap the result in (for example with an
// atomic.Pointer). Load keeps no global state.
//
// # URL space
//
// A Site answers for the whole URL space from "/": redirects carry absolute
// paths, so it must not be mounted below [http.StripPrefix]. A request path
// is resolved by removing dot segments (RFC 3986 §5.2.4) and empty segments.
// These are answered 404 and never touch the disk:
//   - a ".." that would climb above the root;
//   - percent-encoded '.', '/', '\' or NUL in the raw path (%2e, %2f, %5c,
//     %00), a backslash, a control character or invalid UTF-8 in the
//     decoded path;
//   - any segment starting with '.', except a first segment ".well-known"
//     (RFC 8615);
//   - with [Options.Dir], symlinks whose target lies outside the root or in
//     a dot-directory (checked by Load, and again when a large file is
//     opened). Symlinked directories are not followed.
//
// A directory is served by its index.html; "/dir" redirects (301, query kept)
// to "/dir/" when that has something to serve. Without an index.html a
// directory is listed only when [Options.Listing] is set. A "404.html" in the
// root is the body of every 404 response. With [Options.Fallback] set, a
// path that matches nothing and whose last segment has no extension (such as
// "/app/settings", unlike "/app.js") is answered with the fallback file, so
// that a single-page application can route it.
//
// # HTTP semantics
//
// GET and HEAD are served; OPTIONS is answered 204 with Allow; any other
// method gets 405 with Allow. Preconditions are evaluated in the order of
// RFC 9110 §13.2.2 (If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since, If-Range), giving 412 or 304. Range requests (GET only,
// RFC 9110 §14.2) get 206 with one range, multipart/byteranges with several
// (at most 16, none overlapping, else the Range header is ignored), and 416
// with "Content-Range: bytes */N" when no range can be satisfied.
//
// # Compression
//
// For text-like types, Load keeps a gzip variant (best compression) when it
// is smaller than the file. Precompressed siblings on disk ("x.br",
// "x.zst", "x.gz" beside "x") are used as they are, and a sibling replaces
// the in-process gzip. A response picks the variant with the highest
// Accept-Encoding q-value, ties going to br, then zstd, then gzip (RFC 9110
// §12.5.3); every response for a resource that has variants carries
// "Vary: Accept-Encoding", and each variant has its own ETag (suffix "-br",
// "-zst", "-gz"). A request with a Range header always gets ranges of the
// uncompressed file.
//
// # Cache-Control
//
// See [CacheControl] for the policy and how to override it.
package site

import (
	"context"
	"io/fs"
	"net/http"
)

// DefaultMaxFileSize is the size up to which Load holds a file in memory when
// Options.MaxFileSize is zero.
const DefaultMaxFileSize = 1 << 20

// Options says what Load indexes and how the Site answers.
type Options struct {
	// Dir is the root directory of the site on disk. Its own path may be or
	// contain symlinks; they are resolved once by Load. Exactly one of Dir
	// and FS must be set.
	Dir string

	// FS is the site when Dir is empty, for example an embed.FS (through
	// fs.Sub) holding a default site. Symlink checks and sendfile apply only
	// to Dir: symlinks met in FS are skipped. Files of FS larger than
	// MaxFileSize are streamed through the FS when its files implement
	// io.Seeker, and held in memory otherwise.
	FS fs.FS

	// MaxFileSize is the largest file, in bytes, that Load holds in memory;
	// larger files are streamed from disk on each request. Zero means
	// DefaultMaxFileSize; a negative value streams every file.
	MaxFileSize int64

	// MaxMemory, when positive, bounds the bytes of file contents the
	// Site holds (what Stats().Bytes counts) plus Held: Load fails with an
	// error wrapping ErrOverBudget, naming the largest files held, rather
	// than hold more. It checks the sizes seen by the walk before reading
	// anything, then the bytes read as it goes. Held is memory already
	// spent elsewhere, such as the Site still serving while its
	// replacement loads, so that the two together stay within MaxMemory.
	MaxMemory, Held int64

	// Fallback, when not empty, is the URL path of a file (for example
	// "/index.html") served with status 200 for any request that matches
	// nothing and whose last path segment has no extension. Load fails when
	// it names no file of the site. Fallback responses always get the HTML
	// Cache-Control value.
	Fallback string

	// Listing enables HTML listings of directories that have no index.html.
	// Listings never show dotfiles.
	Listing bool

	// CacheControl overrides the Cache-Control policy.
	CacheControl CacheControl

	// Header holds fields set on every response (security headers, say),
	// keyed by their canonical names. The Site sets each one that the
	// header map does not already hold when ServeHTTP is called, before
	// its own fields, which take precedence. It also builds them into the
	// headers it prepares at Load, which leave ready-made for a whole
	// response from memory to a GET when the ResponseWriter can send a
	// prepared response (as h1's can) and the header map is empty;
	// otherwise the response is built field by field, with the same result.
	Header http.Header
}

// CacheControl is the Cache-Control policy. Each file gets exactly one of
// three values, chosen by Load:
//   - HTML, for files of type text/html, the fallback, 404 pages, listings
//     and redirects, so that entry points are always revalidated
//     (default "no-cache");
//   - Immutable, for fingerprinted files, whose name changes whenever their
//     content does (default "public, max-age=31536000, immutable");
//   - Default, for everything else (default "public, max-age=3600").
//
// An empty string selects the default value. With Private set (the site is
// behind authentication) the defaults are the Private* constants, which
// keep shared caches from storing what only some may see.
type CacheControl struct {
	HTML      string
	Immutable string
	Default   string
	Private   bool

	// Fingerprinted reports whether the file at URL path name (for example
	// "/assets/app.3f9a1c2e.js") is fingerprinted. Nil selects the default
	// rule: a part of the file name, between dots, dashes or underscores and
	// before the last extension, is a hash, that is either 8 or more
	// hexadecimal digits of a single case holding at least one digit and
	// one letter (app.3f9a1c2e.js), or 8 or more uppercase letters and
	// digits in which letters and digits alternate at least three times
	// (main-5D3FGX7Q.css, esbuild's form). The rule errs on the side of not
	// matching: a file wrongly marked immutable would stay stale in
	// browsers for a year, while a missed one is only revalidated after an
	// hour. Names such as "report-20240101.pdf", "README2024.txt" or
	// "bootstrap5.css" do not match, and neither do mixed-case base64
	// hashes (Vite's index-BfXk3a9Q.js), which cannot be told from words
	// reliably; set Fingerprinted to cover them.
	Fingerprinted func(name string) bool
}

// Stats describes what a Site holds.
type Stats struct {
	// Entries is the number of files the Site serves, each counted once
	// whatever its compressed variants.
	Entries int
	// Streamed is how many of those Entries are larger than MaxFileSize and
	// are read from disk on each request.
	Streamed int
	// Bytes is the memory held by file contents: files, their compressed
	// variants and directory listings.
	Bytes int64
}

// A Site is an immutable index of a static site and the handler serving it.
// It is safe for concurrent use.
type Site struct {
	index    map[string]*entry // canonical URL path -> what to serve
	notFound *entry            // the root's 404.html, or nil
	fallback *entry            // Options.Fallback with the HTML policy, or nil
	src      source            // where streamed files are opened
	// htmlCache is the HTML Cache-Control value, which plain 404 responses
	// also get, so that a page published later is not hidden by a cached
	// error.
	htmlCache []string
	stats     Stats
	fixed     []fixedField // Options.Header, in name order
	prepared  bool         // responses from memory have prepared heads
}

// Load builds the index of the site described by opts. It reads every file
// up to opts.MaxFileSize and compresses those that benefit, so it may take a
// while for a large site; ctx cancels it. Errors are prefixed with
// "site: load DIR:" ("site: load fs:" for an FS) and wrap the cause. A file that cannot be read fails the
// whole Load rather than silently vanishing from the site.
func Load(ctx context.Context, opts Options) (*Site, error) {
	return load(ctx, opts)
}

// Stats reports the number of files s serves and the bytes it holds.
func (s *Site) Stats() Stats { return s.stats }

// ServeHTTP answers r from the index; see the package documentation for the
// rules. Errors reading a streamed file are answered 500 with a generic
// message: file system details never reach the client.
//
// Files larger than MaxFileSize reach sendfile(2) only if w implements
// io.ReaderFrom as net/http's own ResponseWriter does: a wrapping
// ResponseWriter (for metrics or logs) should provide a ReadFrom method that
// delegates to the one it wraps.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r)
}
