package h1

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
)

// parseResult says what parseHead made of the buffered bytes.
type parseResult int8

const (
	incomplete parseResult = iota // no whole head yet, and nothing refused so far
	parsed                        // a whole head, in the subset served here
	refused                       // outside the subset: hand the connection over
)

// parseHead parses the request head at the start of b into r and returns
// the head's length. r must be fresh but for its Header, which parseHead
// clears and fills: the fields a head does not set are left as they are.
//
// It accepts only this subset of RFC 9112, refusing everything else so
// that net/http decides: a request line "GET" or "HEAD", one space, an
// origin-form target of visible ASCII that url.ParseRequestURI accepts, one
// space, "HTTP/1.1"; then header fields of a token name directly followed by
// a colon and a value of visible ASCII, spaces and tabs; every line ending
// in CRLF; exactly one Host field of host name characters; no Content-Length,
// Transfer-Encoding, Expect or Upgrade field; a Connection field holding
// only "close" and "keep-alive". So requests with a body, or that would
// switch protocols or framing, are never served here, and a head that two
// parsers could read differently (bare LF, whitespace before a colon, obs-fold,
// duplicate Host, control bytes) is only ever read by net/http.
//
// uc, when not nil, remembers the last head parsed: a connection asking
// for the same target again (a keep-alive client polling one resource, a
// load balancer's health check, a benchmark) gets a copy of the URL parsed
// before, in uc's own URL, instead of a new parse and two allocations; and
// a Host or field value equal to the last head's is the same string, in
// the same one-element slice, as before (see headCache.value).
func parseHead(b []byte, r *http.Request, uc *headCache) (int, parseResult) {
	if !couldBeServed(b) {
		return 0, refused // refused early: no need to wait for the whole head
	}
	// The head ends at the first CRLF CRLF. Every LF up to there must end
	// a CRLF: a bare LF would end a line for net/http but not here, so it
	// is refused at once, including in an incomplete head, which would
	// otherwise wait for a CRLF CRLF that never comes. (One walk over the
	// LFs finds both; the loops below split lines at LFs on that ground.)
	end := -1
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return 0, refused
		}
		if i >= 3 && b[i-2] == '\n' {
			end = i - 3
			break
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if end < 0 {
		return 0, incomplete
	}
	head := b[:end+2] // each line with its CRLF

	eol := bytes.IndexByte(head, '\n') - 1
	method, target, ok := requestLine(head[:eol])
	if !ok {
		return 0, refused
	}
	rawURI, u, ok := uc.parse(target)
	if !ok {
		return 0, refused
	}

	h := r.Header
	clear(h)
	uc.startFields()
	host, hosts := "", 0
	closing, pragma, cacheControl := false, false, false
	for field, rest := 0, head[eol+2:]; len(rest) > 0; field++ {
		eol := bytes.IndexByte(rest, '\n') - 1
		line := rest[:eol]
		rest = rest[eol+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return 0, refused
		}
		value := trimOWS(line[colon+1:])
		if !isFieldValue(value) {
			return 0, refused
		}
		key := uc.fieldName(field, line[:colon])
		switch key {
		case "Pragma":
			pragma = true
		case "Cache-Control":
			cacheControl = true
		case "Host":
			if hosts++; hosts > 1 || !isHost(value) {
				return 0, refused
			}
			host = uc.hostString(value)
			continue // net/http keeps it in Request.Host only
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade":
			return 0, refused
		case "Connection":
			c, ok := connectionClose(value)
			if !ok {
				return 0, refused
			}
			closing = closing || c
		}
		if uc.repeated(key, h) {
			h[key] = append(h[key], string(value)) // a new slice
		} else {
			h[key] = uc.value(key, value)
		}
	}
	uc.endFields()
	if hosts == 0 {
		return 0, refused // net/http answers 400: HTTP/1.1 requires Host
	}
	// As net/http: a Pragma: no-cache without Cache-Control means the
	// latter (RFC 9111 §5.4).
	if pragma && !cacheControl {
		if p := h["Pragma"]; p[0] == "no-cache" {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}

	r.Method = method
	r.URL = u
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Body = http.NoBody
	r.Close = closing
	r.Host = host
	r.RequestURI = rawURI
	return end + 4, parsed
}

var crlf = []byte("\r\n")

// headCache is a connection's last request target and its parse, and the
// strings of its last head.
type headCache struct {
	raw    string
	parsed url.URL // as url.ParseRequestURI returned it
	url    url.URL // the copy handed to the current request

	host string
	// names are the field names of the last head, as sent and in
	// canonical form, by position.
	names [maxMemos]struct{ raw, key string }
	// last holds the fields of the last head, in order; next those of the
	// head being parsed. The two swap when a head is done.
	last, next []fieldMemo
}

// A fieldMemo is one field value handed to a request: vals is the slice
// the header map held, and val what vals[0] held then.
type fieldMemo struct {
	key, val string
	vals     []string
}

// fieldName returns the canonical form of name, the field at index i of
// the head: the one worked out for the last head when that had the same
// name there.
func (uc *headCache) fieldName(i int, name []byte) string {
	if uc == nil || i >= len(uc.names) {
		return canonicalKey(name)
	}
	n := &uc.names[i]
	if n.raw != string(name) {
		n.key = canonicalKey(name)
		n.raw = n.key
		if n.key != string(name) {
			n.raw = string(name)
		}
	}
	return n.key
}

// repeated reports whether this head has had a key field before, which h
// holds. With uc it looks among the fields this head has had, a few
// string comparisons of interned names instead of a map lookup.
func (uc *headCache) repeated(key string, h http.Header) bool {
	if uc == nil || len(uc.next) >= maxMemos {
		return h[key] != nil
	}
	for i := range uc.next {
		if uc.next[i].key == key {
			return true
		}
	}
	return false
}

// find returns the index of key in the last head, or -1. It looks first
// where the field being parsed stands in this head: clients send their
// fields in the same order each time.
func (uc *headCache) find(key string) int {
	if i := len(uc.next); i < len(uc.last) && uc.last[i].key == key {
		return i
	}
	for i := range uc.last {
		if uc.last[i].key == key {
			return i
		}
	}
	return -1
}

// maxMemos bounds the fields remembered per connection.
const maxMemos = 32

func (uc *headCache) hostString(b []byte) string {
	if uc == nil {
		return string(b)
	}
	if string(b) != uc.host {
		uc.host = string(b)
	}
	return uc.host
}

func (uc *headCache) startFields() {
	if uc != nil {
		uc.next = uc.next[:0]
	}
}

func (uc *headCache) endFields() {
	if uc != nil {
		uc.last, uc.next = uc.next, uc.last
	}
}

// value returns a one-element header value holding b for the field key.
// When the last head had the same value for key, and the slice handed out
// then still holds it, that slice is handed out again: clients repeat most
// fields verbatim on every request of a connection, and a browser's head
// would otherwise cost two allocations per field. The slice has no spare
// capacity, so a handler appending to it gets a copy; a handler that
// overwrites its element makes the next request get a fresh one.
func (uc *headCache) value(key string, b []byte) []string {
	if uc == nil {
		return []string{string(b)}
	}
	var m fieldMemo
	if i := uc.find(key); i >= 0 {
		if l := uc.last[i]; l.val == string(b) && l.vals[0] == l.val {
			m = l
		}
	}
	if m.vals == nil {
		v := string(b)
		m = fieldMemo{key: key, val: v, vals: []string{v}}
	}
	if len(uc.next) < maxMemos {
		uc.next = append(uc.next, m)
	}
	return m.vals
}

// parse returns target as a string and its URL, parsed as
// url.ParseRequestURI does, and false when that refuses it. The URL is a
// fresh copy for each request: a handler that changes it changes nothing
// for the next one. A nil uc parses afresh every time.
func (uc *headCache) parse(target []byte) (string, *url.URL, bool) {
	if uc != nil && uc.raw != "" && string(target) == uc.raw {
		uc.url = uc.parsed
		return uc.raw, &uc.url, true
	}
	raw := string(target)
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return "", nil, false
	}
	if uc != nil && u.User == nil {
		uc.raw, uc.parsed = raw, *u
	}
	return raw, u, true
}

// couldBeServed reports whether b may begin a head in the subset: whether
// it starts with "GET /" or "HEAD /", or a prefix of one.
func couldBeServed(b []byte) bool {
	for _, m := range [...]string{"GET /", "HEAD /"} {
		n := min(len(b), len(m))
		if string(b[:n]) == m[:n] {
			return true
		}
	}
	return false
}

// requestLine splits "GET /path HTTP/1.1" and reports whether it is in the
// subset served here.
func requestLine(line []byte) (method string, target []byte, ok bool) {
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		method, line = http.MethodHead, line[5:]
	default:
		return "", nil, false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || line[0] != '/' || string(line[sp+1:]) != "HTTP/1.1" {
		return "", nil, false
	}
	target = line[:sp]
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return "", nil, false
		}
	}
	return method, target, true
}

// connectionClose reads a Connection field value: whether it asks to close,
// and false when it holds an option other than close and keep-alive.
func connectionClose(v []byte) (closing, ok bool) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		tok = trimOWS(tok)
		switch {
		case len(tok) == 0:
		case bytes.EqualFold(tok, []byte("close")):
			closing = true
		case bytes.EqualFold(tok, []byte("keep-alive")):
		default:
			return false, false
		}
	}
	return closing, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isToken reports whether b is an RFC 9110 token (a field name).
func isToken(b []byte) bool {
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return len(b) > 0
}

var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isFieldValue reports whether b holds only visible ASCII, spaces and tabs:
// obs-text (bytes from 0x80) is legal but rare, and left to net/http.
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// isHost reports whether b is a non-empty host[:port] of the characters
// host names, IPv4 and bracketed IPv6 literals use; a subset of what
// net/http accepts.
func isHost(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return len(b) > 0
}

// canonicalKey returns the canonical form of a field name, without
// allocating for the names browsers send.
func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

var commonKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Cookie", "Dnt", "Host", "If-Match",
		"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Origin",
		"Pragma", "Priority", "Range", "Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile",
		"Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site",
		"Sec-Fetch-User", "Te", "Transfer-Encoding", "Upgrade", "Upgrade-Insecure-Requests",
		"User-Agent", "Expect", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip",
	} {
		m[k] = k
		m[bytesToLower(k)] = k
	}
	return m
}()

func bytesToLower(s string) string { return string(bytes.ToLower([]byte(s))) }
