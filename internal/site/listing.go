package site

import (
	"bytes"
	"html"
	"net/url"
)

// listingPage renders the listing of the directory at URL path dir (ending in
// "/") holding children, sorted, directories marked with a trailing "/".
// Names are escaped twice over: as URL paths in links, prefixed with "./" so
// that a name such as "a:b" cannot read as a URL scheme, and as HTML text.
func listingPage(dir string, children []string) []byte {
	var b bytes.Buffer
	title := html.EscapeString("Index of " + dir)
	b.WriteString("<!doctype html>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>")
	b.WriteString(title)
	b.WriteString("</title>\n<h1>")
	b.WriteString(title)
	b.WriteString("</h1>\n<pre>\n")
	if dir != "/" {
		b.WriteString("<a href=\"../\">../</a>\n")
	}
	for _, name := range children {
		href := "./" + (&url.URL{Path: name}).EscapedPath()
		b.WriteString(`<a href="`)
		b.WriteString(html.EscapeString(href))
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(name))
		b.WriteString("</a>\n")
	}
	b.WriteString("</pre>\n")
	return b.Bytes()
}
