// Command mknomad fills in the gohttp-smol Nomad job from smol's outputs:
// it reads the binary's sha256 from dist/SHA256SUMS and the version from
// dist/manifest.json, and writes dist/gohttp-smol.nomad.hcl from the
// template deploy/nomad/gohttp-smol.nomad.hcl.
//
// Usage:
//
//	mknomad [flags]
//
// The job's artifact block downloads RELEASE_URL/VERSION/gohttp-smol_linux_ARCH
// and Nomad refuses it unless its sha256 is the one written here, so the
// binary must be the one smol built: SHA256SUMS, the manifest and (when
// present) the file itself must all agree, or nothing is written.
//
// Flags:
//
//	-dist DIR        smol's output directory (default dist)
//	-template FILE   job template (default deploy/nomad/gohttp-smol.nomad.hcl)
//	-arch GOARCH     architecture of the Nomad clients (default amd64)
//	-o FILE          output (default DIST/gohttp-smol.nomad.hcl)
//
// Exit status: 0 on success, 1 on failure (an earlier output is left as it
// was), 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gohttp-smol/gohttp-smol/internal/atomicfile"
	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/nomadjob"
)

func main() { cli.Main("mknomad", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("mknomad", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dist := fl.String("dist", "dist", "smol's output directory")
	tmplPath := fl.String("template", filepath.Join("deploy", "nomad", "gohttp-smol.nomad.hcl"), "job template")
	arch := fl.String("arch", "amd64", "GOARCH of the Nomad clients")
	out := fl.String("o", "", "output (default DIST/gohttp-smol.nomad.hcl)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: mknomad [-dist DIR] [-template FILE] [-arch GOARCH] [-o FILE]")
		fl.PrintDefaults()
	}
	if err := cli.Parse(fl, args); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(*dist, "gohttp-smol.nomad.hcl")
	}

	v, err := values(*dist, *arch)
	if err != nil {
		return err
	}
	tmpl, err := os.ReadFile(*tmplPath)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	job, err := nomadjob.Render(tmpl, v)
	if err != nil {
		return fmt.Errorf("%s: %w", *tmplPath, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, job, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mknomad: wrote %s (version %s, linux/%s, sha256 %s)\n", *out, v.Version, v.Arch, v.SHA256)
	return nil
}

// values reads the version and the checksum of the linux/arch binary, and
// refuses when SHA256SUMS, the manifest and the file disagree.
func values(dist, arch string) (nomadjob.Values, error) {
	name := "gohttp-smol_linux_" + arch
	sumsPath := filepath.Join(dist, manifest.SumsFile)
	data, err := os.ReadFile(sumsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nomadjob.Values{}, fmt.Errorf("no %s: run `make build` (smol build) first", sumsPath)
	} else if err != nil {
		return nomadjob.Values{}, err
	}
	sums, err := manifest.ParseSums(data)
	if err != nil {
		return nomadjob.Values{}, fmt.Errorf("%s: %w", sumsPath, err)
	}
	sum, ok := sums[name]
	if !ok {
		return nomadjob.Values{}, fmt.Errorf("%s lists no %s: build it with smol build --platform linux/%s", sumsPath, name, arch)
	}
	m, err := manifest.Read(filepath.Join(dist, manifest.ManifestFile))
	if err != nil {
		return nomadjob.Values{}, err
	}
	var recorded string
	for _, o := range m.Outputs {
		if o.Name == name {
			recorded = o.SHA256
		}
	}
	if recorded != sum {
		return nomadjob.Values{}, fmt.Errorf("%s says %s has sha256 %s, the manifest says %q: dist/ mixes two builds; run `make build` again", sumsPath, name, sum, recorded)
	}
	// The binary itself is what gets published; when it is here, it must
	// be the one listed.
	if got, _, err := manifest.HashFile(filepath.Join(dist, name)); err == nil && got != sum {
		return nomadjob.Values{}, fmt.Errorf("%s has sha256 %s, but %s lists %s: run `make build` again", filepath.Join(dist, name), got, sumsPath, sum)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nomadjob.Values{}, err
	}
	return nomadjob.Values{Version: m.Version, Arch: arch, SHA256: sum}, nil
}
