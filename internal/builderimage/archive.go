package builderimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// WriteArchive writes to w a `docker load` archive (docker-archive format)
// of the builder image for spec, with GOROOT taken from the directory
// goroot, and returns the image's ID and layer digest (Source is left
// empty). The same spec and the same toolchain give the same bytes, on any
// machine and from either kind of GOROOT toolchain.Find returns; the package doc
// lists what goes in.
//
// goroot/VERSION must name go<spec.GoVersion>. goroot is read twice (once
// to digest the layer, whose digest the config and the archive's layout
// need, once to write it); a file that changes in between is an error. On
// error, w may hold part of an archive.
func WriteArchive(w io.Writer, goroot string, spec Spec) (ImageInfo, error) {
	return writeArchive(w, os.DirFS(goroot), spec)
}

func writeArchive(w io.Writer, fsys fs.FS, spec Spec) (ImageInfo, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return ImageInfo{}, err
	}
	goLayer, mtime, err := toolchainLayer(fsys, spec.GoVersion)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("write image archive: %w", err)
	}

	id, diffIDs, err := writeImage(w, spec.Tag, []layer{goLayer}, mtime, func(diffIDs []string) ([]byte, error) {
		return imageConfigJSON(spec, diffIDs[0], mtime)
	})
	if err != nil {
		return ImageInfo{}, fmt.Errorf("write image archive: %w", err)
	}
	return ImageInfo{ID: id, Tag: spec.Tag, LayerDigest: diffIDs[0], GoVersion: spec.GoVersion}, nil
}

// layer is one layer of an image: its members, with the content of files
// read from fsys.
type layer struct {
	fsys    fs.FS
	entries []entry
}

// toolchainLayer checks that the GOROOT in fsys holds Go goVersion and
// returns its layer and the release time that every entry of the image
// carries, so that the same toolchain always gives the same bytes.
func toolchainLayer(fsys fs.FS, goVersion string) (layer, time.Time, error) {
	version, timeLine, err := toolchain.ReadVersion(fsys)
	if err != nil {
		return layer{}, time.Time{}, fmt.Errorf("GOROOT: %w", err)
	}
	if version != "go"+goVersion {
		return layer{}, time.Time{}, fmt.Errorf("GOROOT holds %s, want go%s", version, goVersion)
	}
	mtime, err := releaseTime(timeLine)
	if err != nil {
		return layer{}, time.Time{}, fmt.Errorf("GOROOT: %w", err)
	}
	entries, err := layerEntries(fsys)
	if err != nil {
		return layer{}, time.Time{}, err
	}
	return layer{fsys, entries}, mtime, nil
}

// writeImage writes to w a docker-archive of one image tagged tag, made of
// layers, with every mtime set to mtime. config makes the image config
// from the layers' diff IDs ("sha256:" and the hex digest of each layer
// tar). It returns the image ID and the diff IDs.
//
// Each layer is written twice: first only to digest it and count its
// bytes, which the config, the manifest and the outer tar header need
// before the layer itself, then into the archive, checked against the
// first pass, so a file that changes in between is an error.
func writeImage(w io.Writer, tag string, layers []layer, mtime time.Time, config func(diffIDs []string) ([]byte, error)) (id string, diffIDs []string, err error) {
	var hexes []string
	var sizes []int64
	for _, l := range layers {
		h := sha256.New()
		n, err := countWrite(h, func(w io.Writer) error { return writeLayer(w, l.fsys, l.entries, mtime) })
		if err != nil {
			return "", nil, err
		}
		hexes, sizes = append(hexes, hex.EncodeToString(h.Sum(nil))), append(sizes, n)
		diffIDs = append(diffIDs, "sha256:"+hexes[len(hexes)-1])
	}
	cfg, err := config(diffIDs)
	if err != nil {
		return "", nil, err
	}
	configSum := sha256.Sum256(cfg)
	configHex := hex.EncodeToString(configSum[:])
	var names []string
	for _, x := range hexes {
		names = append(names, x+"/layer.tar")
	}
	manifest, err := json.Marshal([]manifestEntry{{
		Config:   configHex + ".json",
		RepoTags: []string{tag},
		Layers:   names,
	}})
	if err != nil {
		return "", nil, err
	}

	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {configHex + ".json", cfg}} {
		if err := tw.WriteHeader(fileHeader(f.name, 0o644, int64(len(f.data)), mtime)); err != nil {
			return "", nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", nil, err
		}
	}
	for i, l := range layers {
		if err := tw.WriteHeader(fileHeader(names[i], 0o644, sizes[i], mtime)); err != nil {
			return "", nil, err
		}
		h := sha256.New()
		if err := writeLayer(io.MultiWriter(tw, h), l.fsys, l.entries, mtime); err != nil {
			return "", nil, err
		}
		if hex.EncodeToString(h.Sum(nil)) != hexes[i] {
			return "", nil, fmt.Errorf("the files of layer %d (GOROOT, or the packages above it) changed while they were being read", i+1)
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	return "sha256:" + configHex, diffIDs, nil
}

// releaseTime parses the "time" line of GOROOT/VERSION, the moment the
// release was cut, which serves as the creation time of the image and the
// mtime of every file in it (the release tarball's own file times are that
// too). Without one (toolchains before go1.21) it is the Unix epoch.
func releaseTime(timeLine string) (time.Time, error) {
	if timeLine == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, timeLine)
	if err != nil {
		return time.Time{}, fmt.Errorf("VERSION: release time: %w", err)
	}
	return t.UTC().Truncate(time.Second), nil
}

// countWrite calls write with a writer that forwards to w and counts.
func countWrite(w io.Writer, write func(io.Writer) error) (int64, error) {
	cw := &countingWriter{w: w}
	err := write(cw)
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileHeader is the header of a regular file in either tar, normalized.
func fileHeader(name string, mode, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: mtime}
}

// manifestEntry is one image in a docker-archive's manifest.json.
type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// The image config, in the field order of the Docker and OCI image specs.
// Its bytes are the image ID's preimage, so nothing in it may vary.
type imageConfig struct {
	Architecture string          `json:"architecture"`
	Config       containerConfig `json:"config"`
	Created      string          `json:"created"`
	History      []historyEntry  `json:"history"`
	OS           string          `json:"os"`
	RootFS       rootFS          `json:"rootfs"`
}

type containerConfig struct {
	Env        []string          `json:"Env"`
	Cmd        []string          `json:"Cmd"`
	WorkingDir string            `json:"WorkingDir"`
	Labels     map[string]string `json:"Labels"`
}

type historyEntry struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// imageConfigJSON returns the image config for spec with one layer.
func imageConfigJSON(spec Spec, layerDigest string, created time.Time) ([]byte, error) {
	ts := created.Format(time.RFC3339)
	mod := toolchain.Module(spec.GoVersion, "linux", spec.Arch)
	return json.Marshal(imageConfig{
		Architecture: spec.Arch,
		Config: containerConfig{
			// The official image's environment, in its order.
			Env: []string{
				"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"GOLANG_VERSION=" + spec.GoVersion,
				"GOTOOLCHAIN=local",
				"GOPATH=/go",
			},
			Cmd:        []string{"go", "version"},
			WorkingDir: "/go",
			Labels: map[string]string{
				"org.opencontainers.image.description": "Go " + spec.GoVersion + " toolchain (" + mod + ") for reproducible builds, made by smol",
				"org.opencontainers.image.version":     spec.GoVersion,
			},
		},
		Created: ts,
		History: []historyEntry{{
			Created:   ts,
			CreatedBy: "smol builderimage: GOROOT of " + mod + ", GOPATH, CA roots",
		}},
		OS:     "linux",
		RootFS: rootFS{Type: "layers", DiffIDs: []string{layerDigest}},
	})
}

// entry is one member of the layer tar.
type entry struct {
	name string // slash-separated, relative, no trailing slash
	typ  byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	mode int64
	size int64
	link string // symlink target
	data []byte // content of a file made here, or of a rewritten one
	src  string // path of the content in the GOROOT fs, when data is nil
}

// gorootDir is where GOROOT goes in the image.
const gorootDir = "usr/local/go"

// excludedTop are the top-level GOROOT trees that the toolchain module
// leaves out of the release tarball; see the package doc.
var excludedTop = map[string]bool{"api": true, "doc": true, "misc": true, "test": true}

// layerEntries lists the layer's members, sorted by name: the fixed files
// and directories of the image, and GOROOT under /usr/local/go.
func layerEntries(fsys fs.FS) ([]entry, error) {
	entries := baseEntries()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			entries = append(entries, entry{name: gorootDir, typ: tar.TypeDir, mode: 0o755})
			return nil
		}
		if !strings.Contains(p, "/") && excludedTop[p] {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		for _, elem := range strings.Split(p, "/") {
			// Docker and podman read these names as deletions of the
			// lower layers' files (OCI image spec, "Whiteouts").
			if strings.HasPrefix(elem, ".wh.") {
				return fmt.Errorf("GOROOT/%s: a name starting with .wh. is a layer whiteout", p)
			}
		}
		e, keep, err := gorootEntry(fsys, p, d)
		if err != nil {
			return err
		}
		if keep {
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(entries); i++ {
		if entries[i].name == entries[i-1].name {
			return nil, fmt.Errorf("layer: %s appears twice", entries[i].name)
		}
	}
	return entries, nil
}

// goToolchainLine matches the GOTOOLCHAIN setting in GOROOT/go.env.
var goToolchainLine = regexp.MustCompile(`(?m)^GOTOOLCHAIN=.*$`)

// gorootEntry returns the layer entry for GOROOT's p, and whether it goes
// in at all.
func gorootEntry(fsys fs.FS, p string, d fs.DirEntry) (entry, bool, error) {
	name := gorootDir + "/" + p
	switch typ := d.Type(); {
	case typ.IsDir():
		return entry{name: name, typ: tar.TypeDir, mode: 0o755}, true, nil

	case typ.IsRegular():
		e := entry{name: name, typ: tar.TypeReg, mode: 0o644, src: p}
		if isExecutable(p) {
			e.mode = 0o755
		}
		switch dir, base := path.Split(p); {
		case base == "_go.mod":
			// The toolchain module's name for a nested go.mod; an
			// installed module may hold both, copies of each other.
			goMod := dir + "go.mod"
			if _, err := fs.Stat(fsys, goMod); err == nil {
				same, err := sameContent(fsys, p, goMod)
				if err != nil {
					return e, false, err
				}
				if !same {
					return e, false, fmt.Errorf("GOROOT/%s and GOROOT/%s differ", p, goMod)
				}
				return e, false, nil
			}
			e.name = gorootDir + "/" + goMod

		case p == "go.env":
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return e, false, err
			}
			e.data = goToolchainLine.ReplaceAll(data, []byte("GOTOOLCHAIN=auto"))
			e.size = int64(len(e.data))
			return e, true, nil
		}
		info, err := d.Info()
		if err != nil {
			return e, false, err
		}
		e.size = info.Size()
		return e, true, nil

	case typ&fs.ModeSymlink != 0:
		target, err := fs.ReadLink(fsys, p)
		if err != nil {
			return entry{}, false, err
		}
		// A link must resolve inside GOROOT, or the image would depend on
		// whatever the host or the image happens to have there.
		if path.IsAbs(target) || !fs.ValidPath(path.Join(path.Dir(p), target)) {
			return entry{}, false, fmt.Errorf("GOROOT/%s: symbolic link to %s leaves GOROOT", p, target)
		}
		return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, link: target}, true, nil

	default:
		return entry{}, false, fmt.Errorf("GOROOT/%s: unsupported file type %v (want regular files, directories and symbolic links)", p, typ)
	}
}

// isExecutable reports whether GOROOT's file p gets mode 0755: the files
// the go command marks executable when it installs a toolchain module
// (cmd/go/internal/toolchain, "allowExec"): everything in bin and pkg/tool,
// and lib's go_$GOOS_$GOARCH_exec wrappers.
func isExecutable(p string) bool {
	if strings.HasPrefix(p, "bin/") || strings.HasPrefix(p, "pkg/tool/") {
		return true
	}
	if strings.HasPrefix(p, "lib/") {
		ok, _ := path.Match("go_?*_?*_exec", path.Base(p))
		return ok
	}
	return false
}

func sameContent(fsys fs.FS, a, b string) (bool, error) {
	da, err := fs.ReadFile(fsys, a)
	if err != nil {
		return false, err
	}
	db, err := fs.ReadFile(fsys, b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(da, db), nil
}

// writeLayer writes the layer tar of entries, reading GOROOT files from
// fsys, with every mtime set to mtime.
func writeLayer(w io.Writer, fsys fs.FS, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: e.typ, Name: e.name, Mode: e.mode, ModTime: mtime}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeSymlink:
			hdr.Linkname = e.link
		case tar.TypeReg:
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if e.typ != tar.TypeReg {
			continue
		}
		if e.data != nil {
			if _, err := tw.Write(e.data); err != nil {
				return fmt.Errorf("layer: %s: %w", e.name, err)
			}
			continue
		}
		if err := copyFile(tw, fsys, e.src, e.size); err != nil {
			return fmt.Errorf("layer: %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	return nil
}

// copyFile copies GOROOT's file p, which must be size bytes long, to w.
func copyFile(w io.Writer, fsys fs.FS, p string, size int64) error {
	f, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(w, f, size); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("GOROOT/%s shrank while it was being read", p)
		}
		return err
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return fmt.Errorf("GOROOT/%s grew while it was being read", p)
	}
	return nil
}
