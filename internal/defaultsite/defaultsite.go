// Package defaultsite is the page gohttp-smol serves when it is given no
// directory: it says what is running and how to point it at a site, so that
// a fresh build shows something useful and never the working directory.
package defaultsite

import (
	"embed"
	"html"
	"io/fs"
	"strings"
	"testing/fstest"
	"time"
)

// files holds the site. The static files have gzip siblings (made by
// `go test -update`, checked by TestPrecompressed) so that loading the site
// compresses only the page that carries the version: each in-process gzip
// costs about a megabyte of allocation and a millisecond of start-up.
//
//go:embed files
var files embed.FS

// ContentSecurityPolicy suits the default site and nothing else: it allows
// only the site's own style sheet and icon. A user's site gets no policy
// from the server, since only its author knows what it loads.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// FS returns the default site with version and goVersion written into its
// page; modTime is the Last-Modified of its files (the start of the
// process: the embedded files carry no time of their own).
func FS(version, goVersion string, modTime time.Time) fs.FS {
	// fstest.MapFS is the standard library's complete in-memory fs.FS; it
	// does not depend on package testing.
	m := fstest.MapFS{}
	fs.WalkDir(files, "files", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, ".html") {
			data = []byte(strings.NewReplacer(
				"{{version}}", html.EscapeString(version),
				"{{goversion}}", html.EscapeString(goVersion),
			).Replace(string(data)))
		}
		m[strings.TrimPrefix(name, "files/")] = &fstest.MapFile{Data: data, Mode: 0o444, ModTime: modTime}
		return nil
	})
	return m
}
