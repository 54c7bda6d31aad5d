package site

import (
	"io"
	"math"
	"strconv"
	"strings"
)

// maxRanges bounds the ranges served in one multipart response. RFC 9110
// §14.2 lets a server ignore requests for many ranges, a sign of a broken
// client or of an attempt to make the server do much work for little.
const maxRanges = 16

// byteRange is a satisfiable range of a representation: 0 <= start,
// 0 < length, start+length <= size.
type byteRange struct {
	start, length int64
}

// rangeResult says how to answer a Range header.
type rangeResult int8

const (
	rangeIgnore        rangeResult = iota // send the whole representation, 200
	rangeOK                               // send the ranges, 206
	rangeUnsatisfiable                    // 416 with "Content-Range: bytes */size"
)

// parseRange interprets a Range field value (RFC 9110 §14.1.2) for a
// representation of size bytes, appending the satisfiable ranges to buf.
//
// The header is ignored (RFC 9110 §14.2 allows it) when its unit is not
// bytes, when it is malformed, when it asks for more than maxRanges ranges,
// or when the ranges overlap: overlapping ranges cost bandwidth and serve no
// honest client. It is unsatisfiable when it is well formed but none of its
// ranges overlaps the representation. A range reaching past the end is cut
// at the end; a suffix range longer than the representation means all of it.
func parseRange(s string, size int64, buf []byteRange) ([]byteRange, rangeResult) {
	unit, set, ok := strings.Cut(s, "=")
	if !ok || !strings.EqualFold(trimOWS(unit), "bytes") {
		return nil, rangeIgnore
	}
	ranges := buf[:0]
	specs := 0
	for set != "" {
		var spec string
		spec, set, _ = strings.Cut(set, ",")
		spec = trimOWS(spec)
		if spec == "" {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		if specs++; specs > maxRanges {
			return nil, rangeIgnore
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return nil, rangeIgnore
		}
		var r byteRange
		if first == "" {
			// suffix-range: the last n bytes.
			n, ok := parseDigits(last)
			if !ok {
				return nil, rangeIgnore
			}
			if n == 0 || size == 0 {
				continue // unsatisfiable
			}
			r.length = min(n, size)
			r.start = size - r.length
		} else {
			a, ok := parseDigits(first)
			if !ok {
				return nil, rangeIgnore
			}
			b := int64(math.MaxInt64)
			if last != "" {
				if b, ok = parseDigits(last); !ok || b < a {
					return nil, rangeIgnore // invalid: last-pos < first-pos
				}
			}
			if a >= size {
				continue // unsatisfiable
			}
			r.start = a
			r.length = min(b, size-1) - a + 1
		}
		ranges = append(ranges, r)
	}
	if specs == 0 {
		return nil, rangeIgnore
	}
	if len(ranges) == 0 {
		return nil, rangeUnsatisfiable
	}
	for i := range ranges {
		for j := i + 1; j < len(ranges); j++ {
			if ranges[i].start < ranges[j].start+ranges[j].length &&
				ranges[j].start < ranges[i].start+ranges[i].length {
				return nil, rangeIgnore
			}
		}
	}
	return ranges, rangeOK
}

// parseDigits parses 1*DIGIT, saturating at math.MaxInt64: a position too
// large to represent is beyond the end of any representation anyway.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	return n, true
}

// contentRange formats a Content-Range field value (RFC 9110 §14.4).
func contentRange(r byteRange, size int64) string {
	b := make([]byte, 0, 64)
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, r.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.start+r.length-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return string(b)
}

// unsatisfiedRange formats the Content-Range of a 416 response.
func unsatisfiedRange(size int64) string {
	return "bytes */" + strconv.FormatInt(size, 10)
}

// byteranges lays out a multipart/byteranges body (RFC 9110 §14.6) so that
// its length is known before it is written.
type byteranges struct {
	boundary string
	ctype    string
	size     int64
	ranges   []byteRange
}

// partHeader returns the delimiter and header block that precede part i.
func (m *byteranges) partHeader(i int) string {
	lead := "\r\n--"
	if i == 0 {
		lead = "--" // no preamble, so no CRLF before the first delimiter
	}
	return lead + m.boundary + "\r\nContent-Type: " + m.ctype +
		"\r\nContent-Range: " + contentRange(m.ranges[i], m.size) + "\r\n\r\n"
}

// trailer returns the close delimiter.
func (m *byteranges) trailer() string {
	return "\r\n--" + m.boundary + "--\r\n"
}

// length returns the exact number of bytes writeTo writes.
func (m *byteranges) length() int64 {
	n := int64(len(m.trailer()))
	for i, r := range m.ranges {
		n += int64(len(m.partHeader(i))) + r.length
	}
	return n
}

// writeTo writes the body, taking each range's bytes from content.
func (m *byteranges) writeTo(w io.Writer, content io.ReadSeeker) error {
	for i, r := range m.ranges {
		if _, err := io.WriteString(w, m.partHeader(i)); err != nil {
			return err
		}
		if _, err := content.Seek(r.start, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(w, content, r.length); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, m.trailer())
	return err
}
