package builderimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (name → content; a "->target" content makes a
// symbolic link) under dir, with the given mode for names ending in "*"
// (the star is dropped) and every mtime set to mtime.
func writeTree(t *testing.T, dir string, files map[string]string, mtime time.Time) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o750
		}
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
}

// TestWriteCgoArchive: the cgo image archive is two layers, the second
// holding the packages' files normalised (modes, times, no documentation)
// and the package list; the config labels name the pinned toolchain; and
// trees that differ only in file times give the same
// bytes, so the same packages give the same image ID.
func TestWriteCgoArchive(t *testing.T) {
	gorootFiles := map[string]string{"VERSION": "go1.26.8\ntime 2026-08-28T16:20:06Z\n", "go.env": "GOTOOLCHAIN=local\n", "bin/go*": "\x7fELF go"}
	debFiles := map[string]string{
		"usr/bin/x86_64-linux-gnu-gcc-12*":               "\x7fELF gcc",
		"usr/bin/gcc":                                    "->x86_64-linux-gnu-gcc-12",
		"usr/lib/x86_64-linux-musl/musl-gcc.specs":       "*link: ...\n",
		"usr/share/doc/gcc-12/copyright":                 "GPL\n",
		"lib64/ld-linux-x86-64.so.2":                     "->/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/share/man/man1/gcc.1.gz":                    "man\n",
		"usr/lib/gcc/x86_64-linux-gnu/12/crtbeginS.o":    "obj",
		"usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg": "h",
	}
	pinned := []string{"gcc-12:amd64=12.2.0-14+deb12u1", "musl-dev:amd64=1.2.3-1"}
	list := []string{"gcc-12:amd64=12.2.0-14+deb12u1 " + strings.Repeat("a", 64), "musl-dev:amd64=1.2.3-1 " + strings.Repeat("b", 64)}
	spec := Spec{GoVersion: "1.26.8", Tag: "smol/go-cgo:1.26.8-test", Arch: "amd64"}

	var archives [2][]byte
	var infos [2]ImageInfo
	for i, mtime := range []time.Time{time.Unix(1e9, 0), time.Unix(2e9, 0)} {
		goroot, root := t.TempDir(), t.TempDir()
		writeTree(t, goroot, gorootFiles, mtime)
		writeTree(t, root, debFiles, mtime)
		var b bytes.Buffer
		info, err := WriteCgoArchive(&b, goroot, root, pinned, list, spec)
		if err != nil {
			t.Fatal(err)
		}
		archives[i], infos[i] = b.Bytes(), info
	}
	if !bytes.Equal(archives[0], archives[1]) || infos[0] != infos[1] {
		t.Fatalf("two writes of the same packages differ: %+v, %+v", infos[0], infos[1])
	}

	var config []byte
	var layers [][]*tar.Header
	var list2 string
	tr := tar.NewReader(bytes.NewReader(archives[0]))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(hdr.Name, ".json") && hdr.Name != "manifest.json":
			config, _ = io.ReadAll(tr)
		case strings.HasSuffix(hdr.Name, "/layer.tar"):
			var hs []*tar.Header
			lr := tar.NewReader(tr)
			for {
				lh, err := lr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if lh.Name == CgoPackageList {
					b, _ := io.ReadAll(lr)
					list2 = string(b)
				}
				hs = append(hs, lh)
			}
			layers = append(layers, hs)
		}
	}
	sum := sha256.Sum256(config)
	if infos[0].ID != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("ID %s is not the config's digest", infos[0].ID)
	}
	var c imageConfig
	if err := json.Unmarshal(config, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.RootFS.DiffIDs) != 2 || len(layers) != 2 || c.RootFS.DiffIDs[1] != infos[0].LayerDigest {
		t.Fatalf("diff IDs %v, %d layers, layer digest %s", c.RootFS.DiffIDs, len(layers), infos[0].LayerDigest)
	}
	if got := c.Config.Labels[LabelCToolchain]; got != strings.Join(pinned, " ") {
		t.Errorf("toolchain label %q", got)
	}
	if got := c.Config.Labels[LabelPackages]; got != "gcc-12:amd64=12.2.0-14+deb12u1 musl-dev:amd64=1.2.3-1" {
		t.Errorf("packages label %q", got)
	}
	if list2 != strings.Join(list, "\n")+"\n" {
		t.Errorf("package list in the image:\n%s", list2)
	}
	var names []string
	for _, h := range layers[1] {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Date(2026, 8, 28, 16, 20, 6, 0, time.UTC)) {
			t.Errorf("%s: owner %d:%d, mtime %v: not normalised", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		want := map[string]int64{"usr/bin/x86_64-linux-gnu-gcc-12": 0o755, "usr/lib/x86_64-linux-musl/musl-gcc.specs": 0o644, "usr/lib/": 0o755}[h.Name]
		if want != 0 && h.Mode != want {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("layer not sorted: %v", names)
	}
	for _, gone := range []string{"usr/share/doc/", "usr/share/man/", "usr/share/doc/gcc-12/copyright"} {
		if slices.Contains(names, gone) {
			t.Errorf("layer holds %s", gone)
		}
	}
	for _, want := range []string{"usr/bin/gcc", "lib64/ld-linux-x86-64.so.2", CgoPackageList} {
		if !slices.Contains(names, want) {
			t.Errorf("layer lacks %s: %v", want, names)
		}
	}
}
