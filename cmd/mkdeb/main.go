// Command mkdeb packages the gohttp-smol server that smol built as a Debian
// package: dist/gohttp-smol_VERSION_ARCH.deb.
//
// Usage:
//
//	mkdeb [flags]
//
// The package installs
//
//	/usr/bin/gohttp-smol                       the server (from dist/)
//	/lib/systemd/system/gohttp-smol.socket     port 80, socket-activated
//	/lib/systemd/system/gohttp-smol.service    the sandboxed service
//	/lib/systemd/system/gohttp-smol-https.service, gohttp-smol-https.socket,
//	gohttp-smol-http.socket                    automatic HTTPS (ACME), off until
//	                                           enabled instead of the two above
//	/etc/default/gohttp-smol                   settings (a conffile)
//	/usr/share/gohttp-smol/index.html          first page, copied to
//	                                           /var/www/gohttp-smol on first install
//
// and its maintainer scripts enable and start the socket and the service. It
// depends on procps, for the /bin/kill of the unit's ExecReload.
//
// The version, the binary and the file times come from dist/manifest.json:
// the binary is dist/gohttp-smol_linux_<arch>, refused unless its sha256 is
// the one the manifest records; the version is the manifest's (git describe)
// turned into a Debian version (v1.2.3-4-gabc1234 becomes 1.2.3+4.gabc1234);
// every file carries the source's commit time. The same dist/ therefore
// always gives the same .deb, byte for byte.
//
// Flags:
//
//	-dist DIR       smol's output directory (default dist)
//	-deploy DIR     directory holding systemd/ and deb/ (default deploy)
//	-arch GOARCH    architecture to package (default: this machine's)
//	-version V      Debian version, instead of the manifest's
//	-binary FILE    package FILE instead of the manifest's binary; needs
//	                -version and SOURCE_DATE_EPOCH when there is no manifest
//	-o FILE         output file (default DIST/gohttp-smol_VERSION_ARCH.deb)
//	-check          build in memory and compare with the existing output
//	                instead of writing it; exit 1 if they differ
//
// Environment:
//
//	SOURCE_DATE_EPOCH   time of every file in the package, in seconds since
//	                    1970 (default: the manifest's source_date_epoch)
//
// Exit status: 0 on success, 1 on failure (nothing is written: an existing
// package is replaced only by a complete new one), 2 for a usage error.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/debpkg"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

func main() { cli.Main("mkdeb", run) }

const name = "gohttp-smol"

type options struct {
	dist, deploy, arch, version, binary, out string
	check                                    bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fl := flag.NewFlagSet("mkdeb", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.dist, "dist", "dist", "smol's output directory")
	fl.StringVar(&o.deploy, "deploy", "deploy", "directory holding systemd/ and deb/")
	fl.StringVar(&o.arch, "arch", runtime.GOARCH, "GOARCH of the binary to package")
	fl.StringVar(&o.version, "version", "", "Debian version (default: from the manifest)")
	fl.StringVar(&o.binary, "binary", "", "binary to package (default: the manifest's)")
	fl.StringVar(&o.out, "o", "", "output file (default DIST/gohttp-smol_VERSION_ARCH.deb)")
	fl.BoolVar(&o.check, "check", false, "compare a fresh build with the existing output instead of writing")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: mkdeb [-dist DIR] [-deploy DIR] [-arch GOARCH] [-version V] [-binary FILE] [-o FILE] [-check]")
		fl.PrintDefaults()
	}
	if err := cli.Parse(fl, args); err != nil {
		return err
	}

	pkg, err := plan(o, os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(o.dist, fmt.Sprintf("%s_%s_%s.deb", name, pkg.Version, pkg.Arch))
	}
	var b bytes.Buffer
	if err := debpkg.Write(&b, pkg); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sum := sha256.Sum256(b.Bytes())
	if o.check {
		old, err := os.ReadFile(o.out)
		if err != nil {
			return fmt.Errorf("check: %w (run mkdeb without -check first)", err)
		}
		if oldSum := sha256.Sum256(old); oldSum != sum {
			return fmt.Errorf("check: %s is not reproducible: on disk sha256 %x (%d bytes), rebuilt %x (%d bytes); compare them with diffoscope",
				o.out, oldSum, len(old), sum, b.Len())
		}
		fmt.Fprintf(stdout, "mkdeb: %s reproduced, sha256 %x\n", o.out, sum)
		return nil
	}
	if err := atomicfile.WriteFile(o.out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mkdeb: wrote %s (%d bytes, sha256 %x)\n", o.out, b.Len(), sum)
	return nil
}

// plan works out the package from the options, the manifest and
// SOURCE_DATE_EPOCH, checking every input before anything is built.
func plan(o options, sourceDateEpoch string) (debpkg.Package, error) {
	debArch, err := debpkg.Arch(o.arch)
	if err != nil {
		return debpkg.Package{}, err
	}
	var (
		version = o.version
		binary  = o.binary
		epoch   int64
	)
	mpath := filepath.Join(o.dist, manifest.ManifestFile)
	m, err := manifest.Read(mpath)
	switch {
	case err == nil:
		if binary == "" {
			if binary, err = manifestBinary(m, o.dist, "linux/"+o.arch); err != nil {
				return debpkg.Package{}, err
			}
		}
		if version == "" {
			if version, err = debpkg.Version(m.Version, m.Source.Revision); err != nil {
				return debpkg.Package{}, fmt.Errorf("%s: %w", mpath, err)
			}
		}
		epoch = m.Source.Epoch
	case errors.Is(err, fs.ErrNotExist) && binary != "":
		if version == "" {
			return debpkg.Package{}, fmt.Errorf("no %s: -binary needs -version too", mpath)
		}
	case errors.Is(err, fs.ErrNotExist):
		return debpkg.Package{}, fmt.Errorf("no %s: run `make build` (smol build) first, or pass -binary and -version", mpath)
	default:
		return debpkg.Package{}, err
	}
	if sourceDateEpoch != "" {
		if epoch, err = strconv.ParseInt(sourceDateEpoch, 10, 64); err != nil || epoch <= 0 {
			return debpkg.Package{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a positive number of seconds since 1970", sourceDateEpoch)
		}
	}
	if epoch <= 0 {
		return debpkg.Package{}, errors.New("no file time: the manifest records no source_date_epoch (not a git checkout?); set SOURCE_DATE_EPOCH")
	}
	return debpkg.Package{
		Name:       name,
		Version:    version,
		Arch:       debArch,
		Maintainer: "gohttp-smol developers <gohttp-smol@users.noreply.github.com>",
		Description: "static web server in one small static binary\n" +
			" gohttp-smol serves a directory over HTTP/1.1 and HTTP/2 with precomputed\n" +
			" compression, ETags and caching headers, health and metrics endpoints, and\n" +
			" graceful reloads. It runs socket-activated under a locked-down systemd\n" +
			" sandbox and serves /var/www/gohttp-smol on port 80 once installed.",
		Homepage: "https://github.com/gohttp-smol/gohttp-smol",
		// The unit's ExecReload runs /bin/kill, which minimal Debian
		// systems (debootstrap minbase, container images) lack.
		Depends: []string{"procps"},
		Files:   layout(binary, o.deploy),
		Scripts: debpkg.Scripts{
			PostInst: filepath.Join(o.deploy, "deb", "postinst"),
			PreRm:    filepath.Join(o.deploy, "deb", "prerm"),
			PostRm:   filepath.Join(o.deploy, "deb", "postrm"),
		},
		MTime: time.Unix(epoch, 0),
	}, nil
}

// manifestBinary returns the path of the output built for platform, after
// checking that the file on disk is the one the manifest describes: a
// binary rebuilt or edited since must not be packaged under the old name.
func manifestBinary(m manifest.Manifest, dist, platform string) (string, error) {
	var have []string
	for _, out := range m.Outputs {
		if out.Platform != platform {
			have = append(have, out.Platform)
			continue
		}
		path := filepath.Join(dist, out.Name)
		sum, size, err := manifest.HashFile(path)
		if err != nil {
			return "", fmt.Errorf("binary for %s: %w", platform, err)
		}
		if sum != out.SHA256 || size != out.Size {
			return "", fmt.Errorf("%s: sha256 %s (%d bytes), but the manifest records %s (%d bytes): run `make build` again",
				path, sum, size, out.SHA256, out.Size)
		}
		return path, nil
	}
	return "", fmt.Errorf("%s has no %s binary (it has %v): build it with smol build --platform %s, or pass -arch",
		filepath.Join(dist, manifest.ManifestFile), platform, have, platform)
}

// layout is where each file goes in the package.
func layout(binary, deploy string) []debpkg.File {
	return []debpkg.File{
		{Src: binary, Dst: "/usr/bin/gohttp-smol", Mode: 0o755},
		{Src: filepath.Join(deploy, "systemd", "gohttp-smol.service"), Dst: "/lib/systemd/system/gohttp-smol.service", Mode: 0o644},
		{Src: filepath.Join(deploy, "systemd", "gohttp-smol.socket"), Dst: "/lib/systemd/system/gohttp-smol.socket", Mode: 0o644},
		{Src: filepath.Join(deploy, "systemd", "gohttp-smol-https.service"), Dst: "/lib/systemd/system/gohttp-smol-https.service", Mode: 0o644},
		{Src: filepath.Join(deploy, "systemd", "gohttp-smol-https.socket"), Dst: "/lib/systemd/system/gohttp-smol-https.socket", Mode: 0o644},
		{Src: filepath.Join(deploy, "systemd", "gohttp-smol-http.socket"), Dst: "/lib/systemd/system/gohttp-smol-http.socket", Mode: 0o644},
		{Src: filepath.Join(deploy, "deb", "default"), Dst: "/etc/default/gohttp-smol", Mode: 0o644, Conf: true},
		{Src: filepath.Join(deploy, "deb", "index.html"), Dst: "/usr/share/gohttp-smol/index.html", Mode: 0o644},
	}
}
