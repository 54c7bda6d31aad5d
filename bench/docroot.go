package main

// The benchmark's document root: three files, generated from fixed seeds so
// that every run and every machine serves the same bytes.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// benchFile is one file every server is measured on.
type benchFile struct {
	Key   string `json:"key"`   // short name used in results: 1k, 100k-gz, 10m
	Label string `json:"label"` // for the report
	Name  string `json:"name"`  // file name in the document root
	Size  int    `json:"size"`
	// Gzip: requested with Accept-Encoding: gzip, and a .gz sibling is
	// written next to it (nginx's gzip_static, Caddy's precompressed).
	Gzip       bool   `json:"gzip"`
	GzipSize   int    `json:"gzip_size,omitempty"`
	GzipSHA256 string `json:"gzip_sha256,omitempty"`
	SHA256     string `json:"sha256"`

	content []byte
}

// Path is the request path of the file.
func (f benchFile) Path() string { return "/" + f.Name }

// headers are the request headers wrk sends for the file.
func (f benchFile) headers() []string {
	if f.Gzip {
		return []string{"Accept-Encoding: gzip"}
	}
	return nil
}

// The HTML file is not called index.html: http.FileServer (the seed server)
// answers a request for /index.html with a redirect to ./, so the seed would
// be measured sending 301s.
func benchFiles() []benchFile {
	return []benchFile{
		{Key: "1k", Label: "1 KiB HTML", Name: "hello.html", content: htmlPage(1 << 10)},
		{Key: "100k-gz", Label: "100 KiB JS, gzip", Name: "app.js", Gzip: true, content: javaScript(100 << 10)},
		{Key: "10m", Label: "10 MiB binary", Name: "blob.bin", content: randomBytes(10 << 20)},
	}
}

// writeDocroot writes the files (and the .gz siblings) into dir, readable by
// everyone: nginx's workers run as nobody when the harness runs as root.
func writeDocroot(dir string, files []benchFile) ([]benchFile, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write docroot: %w", err)
	}
	out := make([]benchFile, len(files))
	for i, f := range files {
		sum := sha256.Sum256(f.content)
		f.Size, f.SHA256 = len(f.content), hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.content, 0o644); err != nil {
			return nil, fmt.Errorf("write docroot: %w", err)
		}
		if f.Gzip {
			gz, err := gzipBytes(f.content, f.Name)
			if err != nil {
				return nil, fmt.Errorf("write docroot: %s.gz: %w", f.Name, err)
			}
			gzSum := sha256.Sum256(gz)
			f.GzipSize, f.GzipSHA256 = len(gz), hex.EncodeToString(gzSum[:])
			if err := os.WriteFile(filepath.Join(dir, f.Name+".gz"), gz, 0o644); err != nil {
				return nil, fmt.Errorf("write docroot: %w", err)
			}
		}
		out[i] = f
	}
	return out, nil
}

// gzipBytes compresses b as `gzip -9` would: best compression, the original
// name in the header but no modification time, so the output is
// deterministic. The name also tells the .gz sibling apart from a server's
// own compression of the same bytes, which never carries it.
func gzipBytes(b []byte, name string) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Name = name
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// htmlPage returns a small HTML document of exactly size bytes.
func htmlPage(size int) []byte {
	const head = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>gohttp-smol bench</title></head>\n<body>\n<h1>Hello</h1>\n<p>"
	const tail = "</p>\n</body>\n</html>\n"
	filler := strings.Repeat("A small page, the kind a landing site serves. ", size/40)
	body := filler[:size-len(head)-len(tail)]
	return []byte(head + body + tail)
}

// javaScript returns size bytes of JavaScript-like text: functions built from
// a small vocabulary with pseudo-random identifiers and numbers. It compresses
// about as well as minified application code does (about 5:1 with gzip -9),
// which is what makes the gzip case worth measuring.
func javaScript(size int) []byte {
	rng := rand.New(rand.NewPCG(0x676f68747470, 0x736d6f6c)) // "gohttp", "smol"
	words := []string{"state", "props", "node", "value", "index", "item", "list", "event", "target", "result",
		"options", "config", "render", "update", "element", "handler", "context", "request", "response", "cache"}
	ident := func() string {
		w := words[rng.IntN(len(words))]
		return words[rng.IntN(len(words))] + strings.ToUpper(w[:1]) + w[1:]
	}
	var b strings.Builder
	b.WriteString("\"use strict\";\n")
	for n := 0; b.Len() < size; n++ {
		fn, a, c := ident(), ident(), ident()
		fmt.Fprintf(&b, "function %s%d(%s, %s) {\n", fn, n, a, c)
		fmt.Fprintf(&b, "  const %s = %s.%s ?? %d;\n", words[rng.IntN(len(words))], a, words[rng.IntN(len(words))], rng.IntN(1000))
		fmt.Fprintf(&b, "  if (%s.length > %d) { return %s.map((x) => x * %d); }\n", c, rng.IntN(64), c, rng.IntN(16))
		fmt.Fprintf(&b, "  return { %s: %s, %s: \"%s\" };\n}\n", words[rng.IntN(len(words))], a, words[rng.IntN(len(words))], ident())
	}
	return []byte(b.String()[:size])
}

// randomBytes returns size incompressible bytes from a fixed ChaCha8 seed.
func randomBytes(size int) []byte {
	var seed [32]byte
	copy(seed[:], "gohttp-smol server benchmark 10M")
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(seed).Read(b) // never fails
	return b
}
