package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sizeValue is a byte count written as an integer with an optional unit:
// B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).
type sizeValue int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first, so that "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// parseSize parses s as described at sizeValue. A negative number is
// allowed (--max-file-size -1 streams every file).
func parseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a whole number of bytes with an optional unit, e.g. 1048576, 512KiB or 1MiB", s)
	}
	if n > (1<<62)/mult || n < -(1<<62)/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (v *sizeValue) String() string { return formatSize(int64(*v)) }

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

// headersValue collects --header values.
type headersValue []Header

func (v *headersValue) multi() {}

func (v *headersValue) String() string {
	if v == nil {
		return ""
	}
	var b strings.Builder
	for i, h := range *v {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(h.Name + ": " + h.Value)
	}
	return b.String()
}

func (v *headersValue) Set(s string) error {
	h, err := parseHeader(s)
	if err != nil {
		return err
	}
	*v = append(*v, h)
	return nil
}

// parseHeader parses "Name: value". The name must be a token and the value
// must hold no control character other than tab (RFC 9110 §5.1, §5.5), so
// that no header can smuggle a line break into a response.
func parseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	value = strings.Trim(value, " \t")
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return Header{}, fmt.Errorf("header %q: the name must be a token (letters, digits and !#$%%&'*+-.^_`|~)", s)
	}
	for _, r := range value {
		if r < ' ' && r != '\t' || r == 0x7f {
			return Header{}, fmt.Errorf("header %q: the value holds a control character", s)
		}
	}
	switch strings.ToLower(name) {
	case "content-length", "content-type", "content-encoding", "content-range", "transfer-encoding", "connection", "etag", "last-modified", "vary":
		// These describe the representation; only the site handler knows them.
		return Header{}, errors.New("header " + name + ": set by the server for each response, cannot be overridden")
	}
	return Header{Name: name, Value: value}, nil
}

// isTokenChar reports whether r is a tchar (RFC 9110 §5.6.2).
func isTokenChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
