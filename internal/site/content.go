package site

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
	"path"
	"strings"
)

// webTypes maps the extensions a static site commonly holds to their media
// type. It is consulted before the mime package, whose answer depends on
// the host's /etc/mime.types: the same site must get the same headers on
// every machine. It is also cheaper: the mime package reads the host's
// tables (/usr/share/mime/globs2 holds thousands of lines) on its first
// lookup, measured at 6 ms of start-up on a slow VM.
var webTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".xml":         "application/xml",
	".rss":         "application/rss+xml",
	".atom":        "application/atom+xml",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".zip":         "application/zip",
	".gz":          "application/gzip",
	".br":          "application/octet-stream",
	".zst":         "application/zstd",
	".tar":         "application/x-tar",
	".tgz":         "application/gzip",
	".xz":          "application/x-xz",
	".bz2":         "application/x-bzip2",
	".7z":          "application/x-7z-compressed",
	".bin":         "application/octet-stream",
	".exe":         "application/octet-stream",
	".iso":         "application/octet-stream",
	".img":         "application/octet-stream",
	".deb":         "application/vnd.debian.binary-package",
	".rpm":         "application/x-rpm",
	".apk":         "application/vnd.android.package-archive",
	".dmg":         "application/x-apple-diskimage",
	".msi":         "application/x-msi",
	".jsonld":      "application/ld+json",
	".ndjson":      "application/x-ndjson",
	".yaml":        "application/yaml",
	".yml":         "application/yaml",
	".toml":        "application/toml",
	".tsv":         "text/tab-separated-values; charset=utf-8",
	".ics":         "text/calendar; charset=utf-8",
	".vcf":         "text/vcard; charset=utf-8",
	".epub":        "application/epub+zip",
	".doc":         "application/msword",
	".docx":        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":         "application/vnd.ms-excel",
	".xlsx":        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":         "application/vnd.ms-powerpoint",
	".pptx":        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":         "application/vnd.oasis.opendocument.text",
	".ods":         "application/vnd.oasis.opendocument.spreadsheet",
	".odp":         "application/vnd.oasis.opendocument.presentation",
	".bmp":         "image/bmp",
	".tif":         "image/tiff",
	".tiff":        "image/tiff",
	".heic":        "image/heic",
	".jxl":         "image/jxl",
	".eot":         "application/vnd.ms-fontobject",
	".mov":         "video/quicktime",
	".m4v":         "video/mp4",
	".mkv":         "video/x-matroska",
	".ogv":         "video/ogg",
	".m4a":         "audio/mp4",
	".aac":         "audio/aac",
	".flac":        "audio/flac",
	".opus":        "audio/ogg",
	".oga":         "audio/ogg",
	".vtt":         "text/vtt; charset=utf-8",
	".gltf":        "model/gltf+json",
	".glb":         "model/gltf-binary",
}

// contentType returns the media type of the file name, by extension, else by
// sniffing head, its first bytes (at most 512 are looked at).
func contentType(name string, head []byte) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := webTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return http.DetectContentType(head)
}

// compressible reports whether content of media type ctype is worth
// compressing: text and text-like formats are; images, fonts in WOFF, audio,
// video and archives are compressed already.
func compressible(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+json") {
		return true
	}
	switch mt {
	case "application/javascript", "application/json", "application/xml",
		"application/wasm", "application/x-ndjson", "font/ttf", "font/otf",
		"application/vnd.ms-fontobject", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp":
		return true
	}
	return false
}

// gzipBytes compresses b at the best level. The gzip header carries no name
// and no time, so the output depends on b alone.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)                                              // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}

// hashETag returns the strong entity-tag of content b, with suffix (for a
// content coding) appended: 96 bits of SHA-256, enough to make a collision
// between two versions of a file beyond reach.
func hashETag(b []byte, suffix string) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + suffix + `"`
}
