package defaultsite

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestFS(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	site := FS(`v1.0.0-<b>"x"`, "go1.26.8", mod)
	if err := fstest.TestFS(site, "index.html", "style.css", "favicon.svg", "style.css.gz", "favicon.svg.gz"); err != nil {
		t.Fatal(err)
	}
	page, err := fs.ReadFile(site, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<code>v1.0.0-&lt;b&gt;&#34;x&#34;</code>", // escaped: a version is not HTML
		"<code>go1.26.8</code>",
		"gohttp-smol /srv/www",
		"GOHTTP_SMOL_ROOT=/srv/www",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html does not contain %q", want)
		}
	}
	if strings.Contains(string(page), "{{") {
		t.Error("index.html has a placeholder left")
	}
	if strings.Contains(string(page), "<style") || strings.Contains(string(page), "<script") {
		t.Error("index.html has inline style or script, which ContentSecurityPolicy forbids")
	}
	fi, err := fs.Stat(site, "style.css")
	if err != nil || !fi.ModTime().Equal(mod) {
		t.Errorf("style.css: %v, %v; want modTime %v", fi, err, mod)
	}
}

var update = flag.Bool("update", false, "rewrite the precompressed .gz files")

// TestPrecompressed checks that every static file of the site has a .gz
// sibling holding exactly its bytes, and rewrites the siblings with -update.
func TestPrecompressed(t *testing.T) {
	entries, err := os.ReadDir("files")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".gz") || name == "index.html" { // the page is compressed at start-up
			continue
		}
		src, err := os.ReadFile(filepath.Join("files", name))
		if err != nil {
			t.Fatal(err)
		}
		gzName := filepath.Join("files", name+".gz")
		if *update {
			var buf bytes.Buffer
			w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			w.Write(src)
			w.Close()
			if err := os.WriteFile(gzName, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := os.Open(gzName)
		if err != nil {
			t.Fatalf("%s has no .gz sibling (go test -update makes it): %v", name, err)
		}
		r, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		f.Close()
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%s.gz does not hold %s (go test -update to remake it): %v", name, name, err)
		}
	}
}
