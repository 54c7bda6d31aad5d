package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strings"
)

// explainAll compares, for every output that is not identical, each build's
// copy with the cold build's and says where they differ.
func explainAll(r Result) []string {
	cold, ok := r.Build(BuildCold)
	if !ok {
		return nil
	}
	var lines []string
	for _, name := range r.Outputs {
		if r.Identical(name) {
			continue
		}
		for _, b := range r.Builds[1:] {
			got := b.Sums[name]
			switch {
			case b.Skipped != "":
				lines = append(lines, fmt.Sprintf("%s [%s]: not covered: %s", name, b.Name, b.Skipped))
			case got == "":
				lines = append(lines, fmt.Sprintf("%s [%s]: not built", name, b.Name))
			case got != cold.Sums[name]:
				what := "no copy kept to compare"
				if f := b.Files[name]; f != "" {
					what = Explain(cold.Files[name], f)
				}
				lines = append(lines, fmt.Sprintf("%s [%s]: %s", name, b.Name, what))
			}
		}
	}
	return lines
}

// Explain says how file b differs from file a, in the spirit of diffoscope
// but for the one question that matters here: which ELF sections changed
// (.text means code generation, .rodata or .go.buildinfo usually an
// embedded path or setting, .note.go.buildid a build ID). Files that are
// not ELF get sizes and the first differing offset.
func Explain(a, b string) string {
	da, erra := os.ReadFile(a)
	db, errb := os.ReadFile(b)
	if erra != nil || errb != nil {
		return fmt.Sprintf("cannot compare: %v %v", erra, errb)
	}
	if bytes.Equal(da, db) {
		return "identical"
	}
	off := firstDiff(da, db)
	head := fmt.Sprintf("%d vs %d bytes, first difference at offset %#x", len(da), len(db), off)
	sa, err := sections(da)
	if err != nil {
		return head
	}
	sb, err := sections(db)
	if err != nil {
		return head
	}
	var changed []string
	for _, s := range sa.order {
		hb, ok := sb.hash[s]
		switch {
		case !ok:
			changed = append(changed, s+" (only in the first)")
		case hb != sa.hash[s]:
			changed = append(changed, fmt.Sprintf("%s (%d vs %d bytes)", s, sa.size[s], sb.size[s]))
		}
	}
	for _, s := range sb.order {
		if _, ok := sa.hash[s]; !ok {
			changed = append(changed, s+" (only in the second)")
		}
	}
	if len(changed) == 0 {
		return head + "; every section's content is the same (headers or padding differ)"
	}
	return head + "; sections that differ: " + strings.Join(changed, ", ")
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

type sectionSet struct {
	order []string
	hash  map[string][32]byte
	size  map[string]uint64
}

func sections(data []byte) (sectionSet, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return sectionSet{}, err
	}
	defer f.Close()
	set := sectionSet{hash: map[string][32]byte{}, size: map[string]uint64{}}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Name == "" {
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, s.Open()); err != nil {
			return sectionSet{}, err
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		set.order = append(set.order, s.Name)
		set.hash[s.Name] = sum
		set.size[s.Name] = s.Size
	}
	return set, nil
}
