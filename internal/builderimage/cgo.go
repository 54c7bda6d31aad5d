package builderimage

// The cgo builder image (smol image --cgo) is the builder image with a
// second layer: Debian packages, pinned by version (plan.CgoImagePackages),
// downloaded with the host's apt into a private directory and unpacked
// with dpkg-deb. No registry is involved, and no package's maintainer
// script runs: the layer is the packages' files and nothing else, laid out
// as the Go layer is (sorted, uid 0, one mtime, normalised modes), so the
// same package versions give the same image ID.

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// Labels of the cgo builder image. smol build --cgo reads LabelCToolchain
// to know the image has the C toolchains it names, and records it.
const (
	LabelCToolchain = "org.gohttp-smol.cgo.toolchain"
	LabelPackages   = "org.gohttp-smol.cgo.packages"
)

// CgoPackageList is where the cgo image lists every Debian package it
// holds, one "name:arch=version sha256-of-the-.deb" line each, sorted.
const CgoPackageList = "usr/share/smol/cgo-packages.txt"

// debPackageRE is a pinned package as apt-get install takes it.
var debPackageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+:[a-z0-9]+=[A-Za-z0-9.+~:-]+$`)

// skippedDebTrees are documentation trees of the packages, left out of the
// layer: nothing in a build reads them.
var skippedDebTrees = []string{"usr/share/doc", "usr/share/info", "usr/share/lintian", "usr/share/locale", "usr/share/man"}

// MakeCgo makes the cgo builder image for spec (Tag defaults to
// plan.CgoImageTag) and loads it into the engine: it downloads the pinned
// packages (plan.CgoImagePackages, then extra, each name:arch=version)
// and their dependencies with apt-get into a temporary directory
// (which needs apt-get and dpkg-deb on the host, and its apt sources to
// reach a Debian bookworm mirror), unpacks them, and writes and loads a
// two-layer archive. Only amd64 hosts are supported: the package set names
// amd64 compilers. Progress goes to stderr, one line per step.
func MakeCgo(ctx context.Context, engineCLI string, spec Spec, extra []string, stderr io.Writer) (ImageInfo, error) {
	if spec.Tag == "" {
		spec.Tag = plan.CgoImageTag(spec.GoVersion, extra...)
	}
	for _, pkg := range extra {
		if !debPackageRE.MatchString(pkg) {
			return ImageInfo{}, fmt.Errorf("%w: package %q: want NAME:ARCH=VERSION, e.g. libsqlite3-dev:arm64=3.40.1-2+deb12u1 (apt-cache policy NAME:ARCH shows the version)", ErrSpec, pkg)
		}
	}
	pkgs := append(slices.Clone(plan.CgoImagePackages), extra...)
	spec, err := spec.withDefaults()
	if err != nil {
		return ImageInfo{}, err
	}
	if spec.Arch != "amd64" {
		return ImageInfo{}, fmt.Errorf("%w: the cgo builder image is made on amd64 hosts only (its package set names amd64 compilers); make it on one and move it with docker save/load", ErrSpec)
	}
	if stderr == nil {
		stderr = io.Discard
	}
	start := time.Now()
	tc, err := toolchain.Find(ctx, spec.GoVersion, "linux", spec.Arch, stderr)
	if err != nil {
		return ImageInfo{}, err
	}
	tmp, err := os.MkdirTemp("", "smol-cgo-image-")
	if err != nil {
		return ImageInfo{}, fmt.Errorf("make cgo image: %w", err)
	}
	defer os.RemoveAll(tmp)
	debs, err := downloadDebs(ctx, filepath.Join(tmp, "apt"), pkgs, stderr)
	if err != nil {
		return ImageInfo{}, err
	}
	root := filepath.Join(tmp, "root")
	list, err := unpackDebs(ctx, debs, root)
	if err != nil {
		return ImageInfo{}, err
	}
	fmt.Fprintf(stderr, "cgo image: %d Debian packages downloaded and unpacked (%.1fs)\n", len(list), time.Since(start).Seconds())

	start = time.Now()
	f, err := os.CreateTemp("", "smol-cgo-image-*.tar")
	if err != nil {
		return ImageInfo{}, fmt.Errorf("make cgo image: %w", err)
	}
	defer os.Remove(f.Name())
	info, err := WriteCgoArchive(f, tc.GOROOT, root, pkgs, list, spec)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("make cgo image: %w", cerr)
	}
	if err != nil {
		return ImageInfo{}, err
	}
	info.Source = tc.Source
	if err := loadArchive(ctx, engineCLI, f.Name(), info); err != nil {
		return ImageInfo{}, err
	}
	fmt.Fprintf(stderr, "cgo image: loaded %s %s (%.1fs)\n", spec.Tag, info.ID, time.Since(start).Seconds())
	return info, nil
}

// aptArgs are the options that give apt-get a state of its own under dir:
// its own package lists and cache, an empty dpkg status (so the whole
// dependency closure is resolved, as for an empty image), both
// architectures, and no lock on the host's apt.
func aptArgs(dir string) []string {
	return []string{
		"-o", "Dir::State::Lists=" + filepath.Join(dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "APT::Architecture=amd64",
		"-o", "APT::Architectures::=amd64",
		"-o", "APT::Architectures::=arm64",
		"-o", "APT::Install-Recommends=false",
		"-o", "Debug::NoLocking=true",
	}
}

// downloadDebs downloads pkgs (name:arch=version) and their dependencies
// into dir and returns the .deb files, sorted. apt checks each file against
// the signed archive indexes.
func downloadDebs(ctx context.Context, dir string, pkgs []string, stderr io.Writer) ([]string, error) {
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("make cgo image: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return nil, fmt.Errorf("make cgo image: %w", err)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return nil, errors.New("make cgo image: apt-get is not on PATH: make the image on a Debian or Ubuntu host (or container) that reaches a bookworm mirror, then move it with docker save/load")
	}
	apt := aptArgs(dir)
	if _, err := engine.Output(exec.CommandContext(ctx, "apt-get", append(apt, "-qq", "update")...), nil); err != nil {
		return nil, fmt.Errorf("make cgo image: %w", err)
	}
	args := append(apt, "-qq", "-y", "--download-only", "install")
	if _, err := engine.Output(exec.CommandContext(ctx, "apt-get", append(args, pkgs...)...), nil); err != nil {
		return nil, fmt.Errorf("make cgo image: the pinned packages (%s) cannot be downloaded: %w", strings.Join(pkgs, " "), err)
	}
	debs, err := filepath.Glob(filepath.Join(dir, "cache", "archives", "*.deb"))
	if err != nil || len(debs) == 0 {
		return nil, fmt.Errorf("make cgo image: apt-get downloaded no packages")
	}
	slices.Sort(debs)
	return debs, nil
}

// unpackDebs unpacks each .deb into root and returns the package list
// lines (see CgoPackageList), sorted.
func unpackDebs(ctx context.Context, debs []string, root string) ([]string, error) {
	var list []string
	for _, deb := range debs {
		out, err := engine.Output(exec.CommandContext(ctx, "dpkg-deb", "--show", "--showformat=${Package}:${Architecture}=${Version}", deb), nil)
		if err != nil {
			return nil, fmt.Errorf("make cgo image: %w", err)
		}
		data, err := os.ReadFile(deb)
		if err != nil {
			return nil, fmt.Errorf("make cgo image: %w", err)
		}
		sum := sha256.Sum256(data)
		list = append(list, strings.TrimSpace(string(out))+" "+hex.EncodeToString(sum[:]))
		if _, err := engine.Output(exec.CommandContext(ctx, "dpkg-deb", "--extract", deb, root), nil); err != nil {
			return nil, fmt.Errorf("make cgo image: %w", err)
		}
	}
	slices.Sort(list)
	return list, nil
}

// WriteCgoArchive writes to w a `docker load` archive of the cgo builder
// image: the builder image's layer from goroot (as WriteArchive makes it),
// then a layer of the tree root (the unpacked packages) and the package
// list. pinned are the packages asked for, which the image's
// LabelCToolchain names; list holds CgoPackageList's lines. The same
// GOROOT, tree and lists give the same bytes.
func WriteCgoArchive(w io.Writer, goroot, root string, pinned, list []string, spec Spec) (ImageInfo, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return ImageInfo{}, err
	}
	gofs, debfs := os.DirFS(goroot), os.DirFS(root)
	goLayer, mtime, err := toolchainLayer(gofs, spec.GoVersion)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("write cgo image archive: %w", err)
	}
	debEntries, err := treeEntries(debfs, []byte(strings.Join(list, "\n")+"\n"))
	if err != nil {
		return ImageInfo{}, fmt.Errorf("write cgo image archive: %w", err)
	}
	layers := []layer{goLayer, {debfs, debEntries}}
	id, diffIDs, err := writeImage(w, spec.Tag, layers, mtime, func(diffIDs []string) ([]byte, error) {
		return cgoConfigJSON(spec, diffIDs[0], diffIDs[1], mtime, pinned, list)
	})
	if err != nil {
		return ImageInfo{}, fmt.Errorf("write cgo image archive: %w", err)
	}
	return ImageInfo{ID: id, Tag: spec.Tag, LayerDigest: diffIDs[1], GoVersion: spec.GoVersion}, nil
}

// treeEntries lists the members of the packages' layer, sorted: every
// directory, file and symbolic link under fsys except the documentation
// trees, and the package list. Modes are normalised to 0755 for
// directories and for files with any execute bit, 0644 for other files;
// hard links become copies.
func treeEntries(fsys fs.FS, list []byte) ([]entry, error) {
	entries := []entry{
		{name: "usr/share/smol", typ: tar.TypeDir, mode: 0o755},
		{name: CgoPackageList, typ: tar.TypeReg, mode: 0o644, size: int64(len(list)), data: list},
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if slices.Contains(skippedDebTrees, p) {
			return fs.SkipDir
		}
		if strings.Contains("/"+p, "/.wh.") {
			return fmt.Errorf("packages: %s: a name starting with .wh. is a layer whiteout", p)
		}
		switch typ := d.Type(); {
		case typ.IsDir():
			if p != "usr/share/smol" {
				entries = append(entries, entry{name: p, typ: tar.TypeDir, mode: 0o755})
			}
		case typ.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := int64(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, entry{name: p, typ: tar.TypeReg, mode: mode, size: info.Size(), src: p})
		case typ&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: p, typ: tar.TypeSymlink, mode: 0o777, link: target})
		default:
			return fmt.Errorf("packages: %s: unsupported file type %v", p, typ)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// cgoConfigJSON is the builder image's config with the packages' layer
// added: its diff ID, a history entry, and the labels naming the C
// toolchain (the pinned packages) and every package.
func cgoConfigJSON(spec Spec, goLayer, debLayer string, created time.Time, pinned, list []string) ([]byte, error) {
	base, err := imageConfigJSON(spec, goLayer, created)
	if err != nil {
		return nil, err
	}
	var c imageConfig
	if err := json.Unmarshal(base, &c); err != nil {
		return nil, err
	}
	var pkgs []string
	for _, l := range list {
		name, _, _ := strings.Cut(l, " ")
		pkgs = append(pkgs, name)
	}
	c.Config.Labels["org.opencontainers.image.description"] = "Go " + spec.GoVersion + " with static C toolchains (gcc, musl) for linux/amd64 and linux/arm64, made by smol"
	c.Config.Labels[LabelCToolchain] = strings.Join(pinned, " ")
	c.Config.Labels[LabelPackages] = strings.Join(pkgs, " ")
	c.History = append(c.History, historyEntry{
		Created:   c.Created,
		CreatedBy: "smol builderimage: Debian packages " + strings.Join(pinned, " ") + " and their dependencies, unpacked",
	})
	c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, debLayer)
	return json.Marshal(c)
}
