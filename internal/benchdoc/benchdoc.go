// Package benchdoc rewrites one program's section of BENCHMARKS.md. Each
// benchmark program owns the text between its two markers,
//
//	<!-- bench:NAME:begin -->
//	...
//	<!-- bench:NAME:end -->
//
// and leaves the rest of the file, other programs' sections included, as
// it is.
package benchdoc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
)

// Section names a program's section, e.g. "server".
type Section string

// Begin is the marker that opens the section.
func (s Section) Begin() string { return "<!-- bench:" + string(s) + ":begin -->" }

// End is the marker that closes the section.
func (s Section) End() string { return "<!-- bench:" + string(s) + ":end -->" }

// Replace returns doc with section s replaced by text, which must carry the
// markers itself. A doc without the section gets it appended; an empty doc
// gets a title first. Markers that are missing one half, out of order or
// repeated mean the file was edited by hand: that is an error, not a guess.
func Replace(doc []byte, s Section, text []byte) ([]byte, error) {
	if !bytes.HasPrefix(text, []byte(s.Begin())) || !bytes.Contains(text, []byte(s.End())) {
		return nil, fmt.Errorf("benchmarks section %s: the new text lacks its markers", s)
	}
	begin, end := []byte(s.Begin()), []byte(s.End())
	nb, ne := bytes.Count(doc, begin), bytes.Count(doc, end)
	switch {
	case nb == 0 && ne == 0:
		out := bytes.TrimRight(doc, "\n")
		if len(out) == 0 {
			out = []byte("# Benchmarks\n\nEach section is written by the program named in it; edit the program, not the section.")
		}
		return append(append(out, "\n\n"...), text...), nil
	case nb != 1 || ne != 1:
		return nil, fmt.Errorf("benchmarks section %s: %d %s and %d %s markers, want one of each: fix the file by hand", s, nb, s.Begin(), ne, s.End())
	}
	i, j := bytes.Index(doc, begin), bytes.Index(doc, end)
	if j < i {
		return nil, fmt.Errorf("benchmarks section %s: %s comes before %s: fix the file by hand", s, s.End(), s.Begin())
	}
	j += len(end)
	if j < len(doc) && doc[j] == '\n' {
		j++
	}
	out := append([]byte(nil), doc[:i]...)
	out = append(out, text...)
	return append(out, doc[j:]...), nil
}

// Write replaces section s of the file at path with text. The file is read
// right before it is replaced (other programs write their own sections) and
// replaced through a temporary file and a rename, so a reader never sees
// half of it. On error the file is left as it was.
func Write(path string, s Section, text []byte) error {
	doc, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("update %s: %w", path, err)
	}
	out, err := Replace(doc, s, text)
	if err != nil {
		return fmt.Errorf("update %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, out, 0o644)
}
