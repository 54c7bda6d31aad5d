package builderimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// fakeGOROOT is a small GOROOT with one file of each kind the rules treat
// differently, laid out as the toolchain module is after the go command
// installed it (src/cmd holds both go.mod and _go.mod).
func fakeGOROOT() fstest.MapFS {
	return fstest.MapFS{
		"VERSION":                      {Data: []byte("go1.26.8\ntime 2026-08-28T16:20:06Z\n"), Mode: 0o444},
		"go.env":                       {Data: []byte("GOPROXY=https://proxy.golang.org,direct\nGOSUMDB=sum.golang.org\nGOTOOLCHAIN=local\n")},
		"README.md":                    {Data: []byte("readme\n"), Mode: 0o600},
		"bin/go":                       {Data: []byte("\x7fELF go"), Mode: 0o555},
		"bin/gofmt":                    {Data: []byte("\x7fELF gofmt"), Mode: 0o444}, // as unzipped: no exec bits
		"pkg/tool/linux_amd64/compile": {Data: []byte("\x7fELF compile"), Mode: 0o444},
		"lib/wasm/go_js_wasm_exec":     {Data: []byte("#!/bin/bash\n"), Mode: 0o755},
		"lib/wasm/wasm_exec.js":        {Data: []byte("js\n"), Mode: 0o755},
		"lib/time/update.bash":         {Data: []byte("#!/bin/bash\n"), Mode: 0o755},
		"src/make.bash":                {Data: []byte("#!/bin/bash\n"), Mode: 0o755},
		"src/_go.mod":                  {Data: []byte("module std\n")},
		"src/cmd/_go.mod":              {Data: []byte("module cmd\n")},
		"src/cmd/go.mod":               {Data: []byte("module cmd\n")},
		"src/test/keep.go":             {Data: []byte("package test\n")}, // only top-level test/ goes
		"src/link":                     {Data: []byte("make.bash"), Mode: fs.ModeSymlink},
		"api/go1.txt":                  {Data: []byte("pkg x\n")},
		"doc/go_spec.html":             {Data: []byte("<html>\n")},
		"misc/wasm/wasm_exec.html":     {Data: []byte("<html>\n")},
		"test/fixedbugs/bug1.go":       {Data: []byte("package main\n")},
	}
}

// listLayer renders the layer's headers one per line, for golden files.
func listLayer(files []layerFile) string {
	var b strings.Builder
	for _, f := range files {
		h := f.hdr
		fmt.Fprintf(&b, "%c %05o %d:%d %q:%q %s %6d %s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname,
			h.ModTime.UTC().Format(time.RFC3339), h.Size, h.Name)
		if h.Linkname != "" {
			fmt.Fprintf(&b, " -> %s", h.Linkname)
		}
		if h.Typeflag == tar.TypeReg && !strings.HasSuffix(h.Name, "ca-certificates.crt") {
			fmt.Fprintf(&b, " %x", f.sum[:4])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestWriteArchiveFake(t *testing.T) {
	spec := Spec{GoVersion: "1.26.8", Arch: "amd64"}
	var a, b bytes.Buffer
	info, err := writeArchive(&a, fakeGOROOT(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeArchive(&b, fakeGOROOT(), spec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two archives of the same GOROOT differ")
	}
	c := readArchive(t, bytes.NewReader(a.Bytes()))
	checkArchive(t, c, info, spec)

	golden(t, "fake-layer.golden", []byte(listLayer(c.layer)))
	var config bytes.Buffer
	if err := json.Indent(&config, c.config, "", "\t"); err != nil {
		t.Fatal(err)
	}
	config.WriteByte('\n')
	golden(t, "fake-config.golden.json", config.Bytes())

	// go.env: the GOTOOLCHAIN line is the release's again, the rest kept.
	goEnv := layerFileData(t, a.Bytes(), "usr/local/go/go.env")
	if want := "GOPROXY=https://proxy.golang.org,direct\nGOSUMDB=sum.golang.org\nGOTOOLCHAIN=auto\n"; goEnv != want {
		t.Errorf("go.env in the image = %q, want %q", goEnv, want)
	}
}

// layerFileData returns the content of the layer's member name.
func layerFileData(t *testing.T, archive []byte, name string) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no layer in archive: %v", err)
		}
		if !strings.HasSuffix(hdr.Name, "/layer.tar") {
			continue
		}
		lr := tar.NewReader(tr)
		for {
			lh, err := lr.Next()
			if err != nil {
				t.Fatalf("no %s in layer: %v", name, err)
			}
			if lh.Name == name {
				data, err := io.ReadAll(lr)
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
		}
	}
}

func TestWriteArchiveRejects(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(fstest.MapFS)
		spec    Spec
		wantErr string
	}{
		{
			name:    "named pipe",
			edit:    func(m fstest.MapFS) { m["src/fifo"] = &fstest.MapFile{Mode: fs.ModeNamedPipe} },
			wantErr: "GOROOT/src/fifo: unsupported file type p---------",
		},
		{
			name:    "device",
			edit:    func(m fstest.MapFS) { m["dev/null"] = &fstest.MapFile{Mode: fs.ModeDevice | fs.ModeCharDevice} },
			wantErr: "GOROOT/dev/null: unsupported file type",
		},
		{
			name:    "socket",
			edit:    func(m fstest.MapFS) { m["s"] = &fstest.MapFile{Mode: fs.ModeSocket} },
			wantErr: "GOROOT/s: unsupported file type",
		},
		{
			name: "absolute symlink",
			edit: func(m fstest.MapFS) {
				m["bin/cc"] = &fstest.MapFile{Data: []byte("/usr/bin/gcc"), Mode: fs.ModeSymlink}
			},
			wantErr: "GOROOT/bin/cc: symbolic link to /usr/bin/gcc leaves GOROOT",
		},
		{
			name:    "symlink out of GOROOT",
			edit:    func(m fstest.MapFS) { m["src/up"] = &fstest.MapFile{Data: []byte("../../etc"), Mode: fs.ModeSymlink} },
			wantErr: "GOROOT/src/up: symbolic link to ../../etc leaves GOROOT",
		},
		{
			name:    "whiteout name",
			edit:    func(m fstest.MapFS) { m["src/.wh.go"] = &fstest.MapFile{} },
			wantErr: "GOROOT/src/.wh.go: a name starting with .wh. is a layer whiteout",
		},
		{
			name:    "_go.mod and go.mod differ",
			edit:    func(m fstest.MapFS) { m["src/go.mod"] = &fstest.MapFile{Data: []byte("module other\n")} },
			wantErr: "GOROOT/src/_go.mod and GOROOT/src/go.mod differ",
		},
		{
			name:    "other version",
			edit:    func(m fstest.MapFS) {},
			spec:    Spec{GoVersion: "1.26.7"},
			wantErr: "GOROOT holds go1.26.8, want go1.26.7",
		},
		{
			name:    "no VERSION",
			edit:    func(m fstest.MapFS) { delete(m, "VERSION") },
			wantErr: "GOROOT: read VERSION: open VERSION: file does not exist",
		},
		{
			name:    "bad release time",
			edit:    func(m fstest.MapFS) { m["VERSION"] = &fstest.MapFile{Data: []byte("go1.26.8\ntime yesterday\n")} },
			wantErr: `VERSION: release time: parsing time "yesterday"`,
		},
		{
			name:    "bad spec",
			edit:    func(m fstest.MapFS) {},
			spec:    Spec{GoVersion: "1.26"},
			wantErr: `Go version "1.26"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fakeGOROOT()
			tt.edit(fsys)
			spec := tt.spec
			if spec.GoVersion == "" {
				spec.GoVersion = "1.26.8"
			}
			var buf bytes.Buffer
			_, err := writeArchive(&buf, fsys, spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("writeArchive error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIsExecutable(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"bin/go", true},
		{"bin/gofmt", true},
		{"pkg/tool/linux_amd64/compile", true},
		{"lib/wasm/go_js_wasm_exec", true},
		{"lib/wasm/go_wasip1_wasm_exec", true},
		{"lib/wasm/wasm_exec.js", false},
		{"lib/go_exec", false},
		{"lib/time/update.bash", false},
		{"src/make.bash", false},
		{"src/bin/x", false},
		{"pkg/include/asm_amd64.h", false},
		{"binx", false},
	}
	for _, tt := range tests {
		if got := isExecutable(tt.path); got != tt.want {
			t.Errorf("isExecutable(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// checkArchive checks the archive structure, the image config and the
// layer's normalization.
func checkArchive(t *testing.T, c archiveContents, info ImageInfo, spec Spec) {
	t.Helper()
	spec, _ = spec.withDefaults()
	configHex := strings.TrimPrefix(info.ID, "sha256:")
	layerHex := strings.TrimPrefix(info.LayerDigest, "sha256:")
	if want := []string{"manifest.json", configHex + ".json", layerHex + "/layer.tar"}; !slices.Equal(c.names, want) {
		t.Errorf("archive members = %q, want %q", c.names, want)
	}
	for _, h := range c.outer {
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Mode != 0o644 || len(h.PAXRecords) != 0 {
			t.Errorf("archive member %s: uid %d gid %d uname %q gname %q mode %o pax %v, want 0 0 \"\" \"\" 644 none",
				h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Mode, h.PAXRecords)
		}
	}
	if c.configDigest != info.ID {
		t.Errorf("config digest %s, ImageInfo.ID %s", c.configDigest, info.ID)
	}
	if c.layerDigest != info.LayerDigest {
		t.Errorf("layer digest %s, ImageInfo.LayerDigest %s", c.layerDigest, info.LayerDigest)
	}
	if !c.layerTrailing0 {
		t.Error("layer does not end with tar's end-of-archive blocks")
	}
	want := []manifestEntry{{Config: c.configName, RepoTags: []string{spec.Tag}, Layers: []string{c.layerName}}}
	if !slices.EqualFunc(c.manifest, want, func(a, b manifestEntry) bool {
		return a.Config == b.Config && slices.Equal(a.RepoTags, b.RepoTags) && slices.Equal(a.Layers, b.Layers)
	}) {
		t.Errorf("manifest.json = %+v, want %+v", c.manifest, want)
	}
	if info.Tag != spec.Tag || info.GoVersion != spec.GoVersion {
		t.Errorf("ImageInfo tag %q version %q, want %q %q", info.Tag, info.GoVersion, spec.Tag, spec.GoVersion)
	}

	var cfg imageConfig
	if err := json.Unmarshal(c.config, &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.Architecture != spec.Arch || cfg.OS != "linux" {
		t.Errorf("config platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, spec.Arch)
	}
	if !slices.Equal(cfg.RootFS.DiffIDs, []string{info.LayerDigest}) || cfg.RootFS.Type != "layers" {
		t.Errorf("config rootfs = %+v, want the one layer %s", cfg.RootFS, info.LayerDigest)
	}
	wantEnv := []string{
		"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"GOLANG_VERSION=" + spec.GoVersion, "GOTOOLCHAIN=local", "GOPATH=/go",
	}
	if !slices.Equal(cfg.Config.Env, wantEnv) || cfg.Config.WorkingDir != "/go" {
		t.Errorf("config Env %q WorkingDir %q, want %q /go", cfg.Config.Env, cfg.Config.WorkingDir, wantEnv)
	}
	created, err := time.Parse(time.RFC3339, cfg.Created)
	if err != nil {
		t.Fatalf("config created: %v", err)
	}

	var prev string
	seen := map[string]*tar.Header{}
	for i, f := range c.layer {
		h := f.hdr
		name := strings.TrimSuffix(h.Name, "/")
		if i > 0 && name <= prev {
			t.Errorf("layer not sorted: %q after %q", name, prev)
		}
		prev = name
		seen[name] = h
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 with empty names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(created) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v, want mtime %v only", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, created)
		}
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" {
				t.Errorf("%s: PAX record %q", h.Name, k)
			}
		}
		if h.Devmajor != 0 || h.Devminor != 0 {
			t.Errorf("%s: device numbers %d,%d", h.Name, h.Devmajor, h.Devminor)
		}
		if strings.HasPrefix(name, "usr/local/go/") {
			rel := strings.TrimPrefix(name, "usr/local/go/")
			top, _, _ := strings.Cut(rel, "/")
			if excludedTop[top] {
				t.Errorf("%s: GOROOT/%s/ should be left out", h.Name, top)
			}
			if strings.HasSuffix(name, "/_go.mod") {
				t.Errorf("%s: should be go.mod", h.Name)
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if !strings.HasSuffix(h.Name, "/") {
				t.Errorf("%s: directory name without trailing slash", h.Name)
			}
			want := int64(0o755)
			switch name {
			case "go", "go/bin", "go/src", "tmp":
				want = 0o1777
			case "root":
				want = 0o700
			}
			if h.Mode != want {
				t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
			}
		case tar.TypeReg:
			want := int64(0o644)
			if rel, ok := strings.CutPrefix(name, "usr/local/go/"); ok && isExecutable(rel) {
				want = 0o755
			}
			if h.Mode != want {
				t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
			}
		case tar.TypeSymlink:
			if h.Mode != 0o777 {
				t.Errorf("%s: symlink mode %o, want 777", h.Name, h.Mode)
			}
		default:
			t.Errorf("%s: type %q, want a file, directory or symlink", h.Name, h.Typeflag)
		}
	}
	for _, name := range []string{
		"etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/ssl/certs/ca-certificates.crt",
		"go/bin", "go/src", "tmp", "root", "usr/local/go/VERSION", "usr/local/go/go.env",
		"usr/local/go/bin/go", "usr/local/go/src/go.mod",
	} {
		if seen[name] == nil {
			t.Errorf("layer has no %s", name)
		}
	}
}

func TestCABundle(t *testing.T) {
	rest := caBundle()
	n := 0
	var cns []string
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			t.Fatalf("bundle has trailing non-PEM data %q", rest)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("certificate %d: %v", n, err)
		}
		if !cert.IsCA {
			t.Errorf("%s is not a CA", cert.Subject)
		}
		cns = append(cns, cert.Subject.CommonName)
		n++
	}
	// proxy.golang.org and sum.golang.org chain to Google Trust Services.
	for _, want := range []string{"GTS Root R1", "GTS Root R4", "ISRG Root X1"} {
		if !slices.Contains(cns, want) {
			t.Errorf("bundle lacks %q, which the module proxy or common hosts chain to", want)
		}
	}
	if n < 100 {
		t.Errorf("bundle has %d roots, want the NSS set (over 100)", n)
	}
	t.Logf("%d roots, %d bytes", n, len(caBundle()))
	if !bytes.Equal(caBundle(), caBundle()) {
		t.Error("bundle differs between calls")
	}
}

func TestWriteArchiveHostGOROOT(t *testing.T) {
	goroot, archive, info := hostArchive(t)
	spec := Spec{GoVersion: testGoVersion()}
	c := readArchiveFile(t, archive)
	checkArchive(t, c, info, spec)
	if n := len(c.layer); n < 10000 {
		t.Errorf("layer has %d members, want a whole GOROOT", n)
	}

	// Written again, the archive is the same, byte for byte.
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	first := sha256.New()
	_, err = io.Copy(first, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	second := sha256.New()
	info2, err := WriteArchive(second, goroot, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info2 != info || !bytes.Equal(first.Sum(nil), second.Sum(nil)) {
		t.Errorf("second archive differs: %+v sha256 %x, first %+v sha256 %x", info2, second.Sum(nil), info, first.Sum(nil))
	}
}

// h1 computes the go.sum hash ("h1:", golang.org/x/mod/sumdb/dirhash.Hash1)
// of the toolchain module whose files the layer's GOROOT holds: the sha256
// of the lines "<sha256 hex>  <module@version/file>\n" sorted by file name,
// with go.mod named _go.mod as the module zip names it.
func h1(layer []layerFile, mod string) string {
	var lines []string
	for _, f := range layer {
		rel, ok := strings.CutPrefix(f.hdr.Name, gorootDir+"/")
		if !ok || f.hdr.Typeflag != tar.TypeReg {
			continue
		}
		if dir, base := filepath.Split(rel); base == "go.mod" {
			rel = dir + "_go.mod"
		}
		lines = append(lines, fmt.Sprintf("%x  %s/%s\n", f.sum, mod, rel))
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	s := sha256.Sum256([]byte(strings.Join(lines, "")))
	return "h1:" + base64.StdEncoding.EncodeToString(s[:])
}

// TestSourcesAgree downloads the toolchain module into an empty module cache
// (as on a machine without the pinned go) and checks that its image is the
// host GOROOT's, byte for byte, and that the image's GOROOT is exactly the
// module the checksum database vouches for.
func TestSourcesAgree(t *testing.T) {
	_, archive, hostInfo := hostArchive(t)
	v := testGoVersion()
	modcache := t.TempDir()
	t.Cleanup(func() { removeAllWritable(t, modcache) })
	t.Setenv("GOMODCACHE", modcache)
	goCmd := "go"

	tests := []struct {
		arch    string
		compare bool // with the host's archive
	}{
		{arch: runtime.GOARCH, compare: true},
		{arch: otherArch()},
	}
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			if !tt.compare && testing.Short() {
				t.Skip("-short: cross-architecture download skipped")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			mod, err := toolchain.Download(ctx, goCmd, toolchain.Module(v, "linux", tt.arch), tlog{t})
			if err != nil {
				need(t, "module proxy unreachable? %v", err)
			}
			t.Logf("cold download of %s@%s: %v", mod.Path, mod.Version, time.Since(start).Round(time.Millisecond))

			spec := Spec{GoVersion: v, Arch: tt.arch}
			pr, pw := io.Pipe()
			defer pr.Close() // unblocks the writer if reading fails
			whole := sha256.New()
			type result struct {
				info ImageInfo
				err  error
			}
			done := make(chan result, 1)
			go func() {
				start := time.Now()
				info, err := WriteArchive(io.MultiWriter(pw, whole), mod.Dir, spec)
				t.Logf("archive from the module written in %v", time.Since(start).Round(time.Millisecond))
				pw.CloseWithError(err)
				done <- result{info, err}
			}()
			c := readArchive(t, pr)
			io.Copy(io.Discard, pr) // tar's padding after its end, if any
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			info := r.info
			checkArchive(t, c, info, spec)
			if got := h1(c.layer, mod.Path+"@"+mod.Version); got != mod.Sum {
				t.Errorf("image GOROOT hashes to %s, the checksum database says %s", got, mod.Sum)
			}
			if !tt.compare {
				return
			}
			if info != hostInfo {
				t.Errorf("module source gives %+v, host GOROOT %+v", info, hostInfo)
			}
			f, err := os.Open(archive)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hostSum := sha256.New()
			if _, err := io.Copy(hostSum, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(whole.Sum(nil), hostSum.Sum(nil)) {
				t.Error("the module's archive and the host GOROOT's differ")
			}
			t.Logf("image %s layer %s from both sources", info.ID, info.LayerDigest)
		})
	}
}

// otherArch is an architecture other than the host's, for the
// cross-architecture download.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

func BenchmarkWriteArchive(b *testing.B) {
	ctx := context.Background()
	tc, err := toolchain.Find(ctx, testGoVersion(), "linux", "", io.Discard)
	goroot := tc.GOROOT
	if err != nil {
		b.Fatal(err)
	}
	spec := Spec{GoVersion: testGoVersion()}
	for b.Loop() {
		cw := &countingWriter{w: io.Discard}
		if _, err := WriteArchive(cw, goroot, spec); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(cw.n)
	}
}
