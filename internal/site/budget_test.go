package site

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMemoryBudget(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.bin"), make([]byte, 3000))
	writeFile(t, filepath.Join(dir, "mid.bin"), make([]byte, 2000))
	writeFile(t, filepath.Join(dir, "huge.bin"), make([]byte, 9000))                // streamed: not held
	writeFile(t, filepath.Join(dir, "page.txt"), []byte(strings.Repeat("ab", 400))) // 800 bytes, gzips to a few dozen
	ctx := context.Background()
	load := func(maxMemory, held int64) (*Site, error) {
		return Load(ctx, Options{Dir: dir, MaxFileSize: 4000, MaxMemory: maxMemory, Held: held})
	}

	s, err := load(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	need := s.Stats().Bytes // 5800 and the gzip of page.txt
	if need <= 5800 {
		t.Fatalf("Stats().Bytes = %d, want the files held plus a gzip variant", need)
	}
	if _, err := load(need, 0); err != nil {
		t.Errorf("a budget of exactly %d: %v", need, err)
	}

	for _, tc := range []struct {
		name            string
		maxMemory, held int64
		want            []string
	}{
		// The sizes alone are over: refused before reading.
		{"sizes", 5000, 0, []string{"need at least 5800 bytes", "budget of 5000 bytes", "largest: big.bin (3000 bytes), mid.bin (2000 bytes), page.txt (800 bytes)"}},
		// The sizes fit, the gzip variant does not.
		{"variants", 5810, 0, []string{"budget of 5810 bytes"}},
		// It would fit alone, but not beside the content still served.
		{"beside the old content", need, 1, []string{"of which the content still served holds 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(tc.maxMemory, tc.held)
			if !errors.Is(err, ErrOverBudget) {
				t.Fatalf("Load = %v, want ErrOverBudget", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "huge.bin") {
				t.Errorf("error %q names a streamed file", err)
			}
		})
	}
}
