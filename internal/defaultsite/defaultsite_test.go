package defaultsite

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestFS(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	site := FS(`v1.0.0-<b>"x"`, "go1.26.8", mod)
	if err := fstest.TestFS(site, "index.html", "style.css", "favicon.svg"); err != nil {
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
