package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The files are part of the benchmark's definition: results from different
// days are comparable only if the bytes are the same. These digests pin them.
var wantDigests = map[string]string{
	"hello.html": "f85b55ab46ef2f344feca478c46ed3f2d299654fb71fb5d4011c463d0a120911",
	"blob.bin":   "39f946357d72e931a71c7f5f786610510254f816bfc02fcd85cb59f733b9efad",
}

func TestDocroot(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	filesA, err := writeDocroot(a, benchFiles())
	if err != nil {
		t.Fatal(err)
	}
	filesB, err := writeDocroot(b, benchFiles())
	if err != nil {
		t.Fatal(err)
	}
	wantSize := map[string]int{"hello.html": 1 << 10, "app.js": 100 << 10, "blob.bin": 10 << 20}
	for i, f := range filesA {
		t.Run(f.Name, func(t *testing.T) {
			if f.Size != wantSize[f.Name] {
				t.Errorf("size %d, want %d", f.Size, wantSize[f.Name])
			}
			if want, ok := wantDigests[f.Name]; ok && f.SHA256 != want {
				t.Errorf("sha256 %s, want %s: the generator changed, so old results are no longer comparable", f.SHA256, want)
			}
			if f.SHA256 != filesB[i].SHA256 || f.GzipSHA256 != filesB[i].GzipSHA256 {
				t.Error("two docroots differ: the generator is not deterministic")
			}
			onDisk, err := os.ReadFile(filepath.Join(a, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if len(onDisk) != f.Size {
				t.Errorf("file on disk has %d bytes, want %d", len(onDisk), f.Size)
			}
			fi, err := os.Stat(filepath.Join(a, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644 (nginx's workers run as nobody)", fi.Mode().Perm())
			}
			if !f.Gzip {
				if _, err := os.Stat(filepath.Join(a, f.Name+".gz")); err == nil {
					t.Error("a .gz sibling exists for a file not requested with gzip")
				}
				return
			}
			gz, err := os.ReadFile(filepath.Join(a, f.Name+".gz"))
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, onDisk) {
				t.Error("the .gz sibling does not decompress to the file")
			}
			if zr.Name != f.Name {
				t.Errorf("gzip header name %q, want %q (it tells the sibling from a server's own compression)", zr.Name, f.Name)
			}
			// Compressible like real application code, not like a run of
			// one repeated byte.
			if ratio := float64(f.Size) / float64(f.GzipSize); ratio < 3 || ratio > 8 {
				t.Errorf("gzip ratio %.1f:1, want between 3:1 and 8:1", ratio)
			}
		})
	}
	if fi, err := os.Stat(a); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("docroot mode %v (%v), want 0755", fi.Mode().Perm(), err)
	}
}
