// Package debpkg writes Debian binary packages (.deb) with nfpm, so that the
// same inputs always give the same bytes: every file, directory and archive
// member carries the package's MTime, owners are root, entries are sorted,
// and nothing of the build host (user, time, umask) reaches the output.
package debpkg

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Package describes one .deb. Name, Version, Arch, Maintainer, Description
// and MTime are required; Version and Arch must already be in Debian's form
// (see Version and Arch).
type Package struct {
	Name        string
	Version     string
	Arch        string
	Maintainer  string
	Description string // first line is the synopsis
	Homepage    string
	License     string
	Section     string // default "httpd"
	Depends     []string
	Files       []File
	Scripts     Scripts
	// MTime is stamped on every file and archive member: the source's
	// commit time (SOURCE_DATE_EPOCH), never the clock.
	MTime time.Time
}

// File is one regular file the package installs.
type File struct {
	Src  string      // path on the build host
	Dst  string      // absolute path on the target
	Mode fs.FileMode // permission bits; owner and group are root
	// Conf marks a conffile: dpkg keeps the administrator's edits on
	// upgrade and leaves the file on remove (Debian Policy 10.7.3).
	Conf bool
}

// Scripts are the maintainer scripts, by path on the build host; "" for none.
type Scripts struct {
	PostInst, PreRm, PostRm string
}

// Write writes the package to w. The caller owns w: on error it holds a
// partial package, so write to a temporary file and rename on success.
func Write(w io.Writer, p Package) error {
	info, err := p.info()
	if err != nil {
		return fmt.Errorf("build %s.deb: %w", p.Name, err)
	}
	if err := deb.Default.Package(info, w); err != nil {
		return fmt.Errorf("build %s.deb: %w", p.Name, err)
	}
	return nil
}

// info maps p onto nfpm's description, fixing everything nfpm would
// otherwise take from the host or guess.
func (p Package) info() (*nfpm.Info, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"name", p.Name}, {"version", p.Version}, {"arch", p.Arch},
		{"maintainer", p.Maintainer}, {"description", p.Description},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("package fields not set: %v", missing)
	}
	if p.MTime.IsZero() {
		return nil, errors.New("no mtime: pass the source's commit time (SOURCE_DATE_EPOCH) so the package is reproducible")
	}
	if err := checkVersion(p.Version); err != nil {
		return nil, err
	}
	mtime := p.MTime.UTC()
	var contents files.Contents
	for _, f := range p.Files {
		if !path.IsAbs(f.Dst) || path.Clean(f.Dst) != f.Dst {
			return nil, fmt.Errorf("file %s: destination %q is not a clean absolute path", f.Src, f.Dst)
		}
		c := &files.Content{
			Source:      f.Src,
			Destination: f.Dst,
			FileInfo:    &files.ContentFileInfo{Owner: "root", Group: "root", Mode: f.Mode.Perm(), MTime: mtime},
		}
		if f.Conf {
			c.Type = files.TypeConfig
		}
		contents = append(contents, c)
	}
	section := p.Section
	if section == "" {
		section = "httpd"
	}
	info := &nfpm.Info{
		Name:          p.Name,
		Arch:          p.Arch,
		Platform:      "linux",
		Version:       p.Version,
		VersionSchema: "none", // p.Version is already Debian's; no semver rewriting
		Section:       section,
		Priority:      "optional",
		Maintainer:    p.Maintainer,
		Description:   p.Description,
		Homepage:      p.Homepage,
		License:       p.License,
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			Depends:  p.Depends,
			Contents: contents,
			Umask:    0o022,
			Scripts: nfpm.Scripts{
				PostInstall: p.Scripts.PostInst,
				PreRemove:   p.Scripts.PreRm,
				PostRemove:  p.Scripts.PostRm,
			},
			Deb: nfpm.Deb{Compression: "gzip:9"},
		},
	}
	// Directories are implied by the files; DisableGlobbing keeps a source
	// path with [ or * from matching other files.
	info.DisableGlobbing = true
	return nfpm.WithDefaults(info), nil
}
