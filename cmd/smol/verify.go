package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/builderimage"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/verify"
)

// verifyUID is the user rebuilds run as when smol runs as root: not the
// builder's, so a build that depends on who runs it is caught.
const verifyUID = 12345

// errVerifyFailed is returned when verification ran and something differed;
// the report has said what.
var errVerifyFailed = errors.New("verification failed: the rebuilt bytes differ or a rebuild failed (see above)")

func runVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol verify", fmt.Sprintf(`usage: smol verify [flags]

Rebuild every output in dist/manifest.json from a clean copy of the source
(git archive of the recorded revision), at another path, with empty caches,
as another user (uid %d when smol runs as root), and compare with
dist/SHA256SUMS. Exit 0 only when every rebuilt file is identical.
`, verifyUID), stderr)
	var s setup
	fs.StringVar(&s.dir, "C", ".", "module root `dir`ectory")
	fs.StringVar(&s.engine, "engine", getenv("SMOL_ENGINE"), "`engine` for the rebuild: docker or podman (env SMOL_ENGINE)")
	fs.StringVar(&s.out, "out", "dist", "`dir` holding manifest.json and SHA256SUMS, relative to the module root")
	fs.StringVar(&s.depsNetwork, "deps-network", "", "docker `network` for the dependency step")
	native := fs.Bool("native", false, "also rebuild with the host's Go toolchain (fetched via GOTOOLCHAIN when the host's is another version)")
	var images listFlag
	fs.Var(&images, "image", "also rebuild with this builder `image` of the same Go version, repeatable")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smol verify: unexpected arguments %v: verify rebuilds what the manifest lists\n", fs.Args())
		return errUsage
	}
	mod, err := gomod.Read(s.dir)
	if err != nil {
		return err
	}
	outDir := s.out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(mod.Dir, outDir)
	}
	m, _, err := verify.Load(outDir, toolVersion())
	if err != nil {
		return err
	}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = verifyUID, verifyUID
	}
	// Inside the pinned golang image (a CI job with SMOL_ENGINE=native) there
	// is no container engine: the rebuild itself is native there.
	variations := []string{"container"}
	if s.engine == "native" {
		variations = []string{"native"}
	} else if *native {
		variations = append(variations, "native")
	}
	for _, ref := range images {
		variations = append(variations, "image:"+ref)
	}
	log := stderr
	rebuild := func(ctx context.Context, v string, p plan.Plan) (manifest.Manifest, error) {
		return rebuildVariation(ctx, s, m, v, p, log)
	}
	fmt.Fprintf(log, "smol: verify %s at %s: %d output(s), %s, as uid %d\n", m.Module, shortRev(m.Source.Revision), len(m.Outputs), strings.Join(variations, ", "), uid)
	rep, err := verify.Run(ctx, verify.Options{
		ModuleDir:   mod.Dir,
		OutDir:      outDir,
		Variations:  variations,
		UID:         uid,
		GID:         gid,
		ToolVersion: toolVersion(),
		Log:         log,
	}, rebuild)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return errVerifyFailed
	}
	if uid == os.Getuid() {
		fmt.Fprintf(log, "SKIP different uid: smol is not root, so the rebuild ran as the same user\n")
	}
	return nil
}

func shortRev(rev string) string {
	if rev == "" {
		return "(no git revision)"
	}
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// rebuildVariation builds p the way variation v says: in the recorded
// builder image, with a native toolchain, or with another image.
func rebuildVariation(ctx context.Context, s setup, m manifest.Manifest, v string, p plan.Plan, log io.Writer) (manifest.Manifest, error) {
	explicit := false
	switch {
	case v == "container": // never planned with --engine native (see runVerify)
		if m.Image.Ref != "" {
			p.Image = m.Image.Ref
		}
	case v == "native":
		s.engine = "native"
	case strings.HasPrefix(v, "image:"):
		p.Image, explicit = strings.TrimPrefix(v, "image:"), true
		if s.engine == "native" { // an image needs a container engine even in a native job
			s.engine = ""
		}
	default:
		return manifest.Manifest{}, fmt.Errorf("unknown variation %q", v)
	}
	scratch := filepath.Join(p.OutDir, ".smol-"+strconv.Itoa(os.Getpid()))
	var x engine.Executor
	host := p.HostLayout(scratch)
	rec := build.Record{ToolVersion: toolVersion()}
	if s.engine == "native" {
		var as *syscall.Credential
		if p.UID != os.Getuid() {
			as = &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID)}
		}
		gobin, err := nativeGo(ctx, p.GoVersion)
		if err != nil {
			// A fetched toolchain lives in the caller's module cache, which
			// the second user may not reach: run it as the caller.
			as = nil
			// Not the pinned version on PATH: take the exact toolchain the go
			// command downloads and checksum-verifies for GOTOOLCHAIN.
			goroot, src, terr := builderimage.Toolchain(ctx, p.GoVersion, log)
			if terr != nil {
				return manifest.Manifest{}, fmt.Errorf("%w: %v; and fetching go%s failed: %v", verify.ErrSkip, err, p.GoVersion, terr)
			}
			gobin = filepath.Join(goroot, "bin", "go")
			fmt.Fprintf(log, "smol: native toolchain %s\n", src)
		}
		x = &engine.Native{Go: gobin, Host: host, As: as}
	} else {
		var err error
		x, host, err = s.executor(ctx, p, scratch)
		if err != nil {
			return manifest.Manifest{}, fmt.Errorf("%w: %v", verify.ErrSkip, err)
		}
		c := x.(*engine.Container)
		ref, id, err := resolveImage(ctx, c, p, explicit, log)
		if err != nil {
			if explicit {
				return manifest.Manifest{}, fmt.Errorf("%w: %v", verify.ErrSkip, err)
			}
			return manifest.Manifest{}, err
		}
		c.Image = id
		rec.ImageRef, rec.ImageID = ref, id
		fmt.Fprintf(log, "smol: verify %s: image %s %s\n", v, ref, shortID(id))
	}
	return build.Run(ctx, p, x, host, rec, log, log)
}
