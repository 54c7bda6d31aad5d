package site

import (
	"strings"
)

// Content codings a variant may have, in the server's order of preference
// when the client weighs them equally: brotli and zstd compress better than
// gzip.
var codings = [...]struct {
	name   string // Content-Encoding token (RFC 9110 §8.4.1)
	suffix string // file name suffix of a precompressed sibling
	tag    string // ETag suffix
}{
	{"br", ".br", "-br"},
	{"zstd", ".zst", "-zst"},
	{"gzip", ".gz", "-gz"},
}

// negotiate picks the representation to send for the Accept-Encoding field
// lines ae (RFC 9110 §12.5.3): the variant with the highest q-value, ties
// going to the earlier one in variants (ordered as codings), and identity
// when nothing else is acceptable.
//
// A request without Accept-Encoding gets identity. RFC 9110 would allow any
// coding then, but the clients that omit the field (curl without
// --compressed, scripts, load generators) rarely decode one.
//
// When the client refuses identity too ("identity;q=0") it still gets
// identity: the RFC's alternative is a 406 with no content, which helps no
// one.
func negotiate(ae []string, identity *rep, variants []rep) *rep {
	if len(ae) == 0 || len(variants) == 0 {
		return identity
	}
	w := parseAcceptEncoding(ae)
	best, bestQ := identity, w.weight("identity")
	for i := range variants {
		// A variant wins a tie against identity, being smaller; on a tie
		// between two variants the earlier, preferred one stays.
		q := w.weight(variants[i].coding)
		if q > 0 && (q > bestQ || q == bestQ && best == identity) {
			best, bestQ = &variants[i], q
		}
	}
	return best
}

// acceptWeights are the weights, from 0 to 1000, that an Accept-Encoding
// field gives to the codings the server has, -1 for those it does not list.
type acceptWeights struct {
	br, zstd, gzip, identity, star int
}

// parseAcceptEncoding reads the Accept-Encoding field lines in one pass.
// When a coding is listed twice, the higher weight counts.
func parseAcceptEncoding(lines []string) acceptWeights {
	w := acceptWeights{-1, -1, -1, -1, -1}
	for _, line := range lines {
		for line != "" {
			var elem string
			elem, line, _ = strings.Cut(line, ",")
			name, params, _ := strings.Cut(elem, ";")
			var p *int
			switch name = trimOWS(name); {
			case name == "*":
				p = &w.star
			case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"): // RFC 9110 §8.4.1.3
				p = &w.gzip
			case strings.EqualFold(name, "br"):
				p = &w.br
			case strings.EqualFold(name, "zstd"):
				p = &w.zstd
			case strings.EqualFold(name, "identity"):
				p = &w.identity
			default:
				continue // empty list elements are allowed (RFC 9110 §5.6.1), other codings unused
			}
			if q := weight(params); q > *p {
				*p = q
			}
		}
	}
	return w
}

// weight returns the weight of coding: its own entry if listed, else that of
// "*", else 0, except for identity, which is acceptable unless refused (RFC
// 9110 §12.5.3) and then weighs 1, the least acceptable: "gzip;q=0.5" asks
// for gzip. An entry with an unparsable weight counts as refused.
func (w *acceptWeights) weight(coding string) int {
	own := -1
	switch coding {
	case "br":
		own = w.br
	case "zstd":
		own = w.zstd
	case "gzip":
		own = w.gzip
	case "identity":
		own = w.identity
	}
	switch {
	case own >= 0:
		return own
	case w.star >= 0:
		return w.star
	case coding == "identity":
		return 1
	}
	return 0
}

// weight parses the parameters of an Accept-Encoding element and returns its
// q-value times 1000 (RFC 9110 §12.4.2), 1000 when it has none, and 0 when
// it is malformed.
func weight(params string) int {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(trimOWS(k), "q") {
			continue
		}
		return parseQ(trimOWS(v))
	}
	return 1000
}

// parseQ parses qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
// returning 0 for anything else.
func parseQ(v string) int {
	if v == "" || v[0] != '0' && v[0] != '1' || len(v) > 5 {
		return 0
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q
	}
	if v[1] != '.' {
		return 0
	}
	scale := 100
	for i := 2; i < len(v); i++ {
		d := v[i]
		if d < '0' || d > '9' || q == 1000 && d != '0' {
			return 0
		}
		q += int(d-'0') * scale
		scale /= 10
	}
	return q
}

// trimOWS removes optional whitespace (spaces and tabs, RFC 9110 §5.6.3).
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
