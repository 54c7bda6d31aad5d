package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/setup"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
	"github.com/gohttp-smol/gohttp-smol/internal/verify"
)

// verifyUID is the user rebuilds run as when smol runs as root: not the
// builder's, so a build that depends on who runs it is caught.
const verifyUID = 12345

// errVerifyFailed is returned when verification ran and something differed;
// the report has said what.
var errVerifyFailed = errors.New("verification failed: a file in dist differs from SHA256SUMS or is missing, the rebuilt bytes differ, or a rebuild failed (see above)")

func runVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("smol verify", fmt.Sprintf(`usage: smol verify [flags]

Check that every output in dist/ matches dist/SHA256SUMS, then rebuild every
output in dist/manifest.json from a clean copy of the source (git archive of
the recorded revision), at another path, with empty caches, as another user
(uid %d when smol runs as root), with the recorded Go version, and compare
with dist/SHA256SUMS. Exit 0 only when every shipped and every rebuilt file
is identical to what SHA256SUMS lists.
`, verifyUID), stderr)
	var (
		dir, eng, out, depsNetwork, goPin string
		transferMode                      string
		images                            listFlag
	)
	fs.StringVar(&dir, "C", ".", "module root `dir`ectory")
	fs.StringVar(&eng, "engine", getenv("SMOL_ENGINE"), "`engine` for the rebuild: docker, podman or native (env SMOL_ENGINE)")
	fs.StringVar(&out, "out", "dist", "`dir` holding the outputs, manifest.json and SHA256SUMS, relative to the module root")
	fs.StringVar(&depsNetwork, "deps-network", "", "docker `network` for the dependency step")
	fs.StringVar(&goPin, "go", getenv("SMOL_GO"), "Go `version` the build was pinned to with --go (env SMOL_GO); verify rebuilds with the recorded version and refuses another")
	fs.StringVar(&transferMode, "transfer", getenv("SMOL_TRANSFER"), "how files reach the engine's daemon for the rebuild: `mode` auto, mount or copy (env SMOL_TRANSFER)")
	other := fs.Bool("other-transfer", false, "also rebuild with the other transfer mode (mount when the rebuild copies, else copy); it must give the same bytes")
	native := fs.Bool("native", false, "also rebuild with the pinned toolchain on the host (the host's GOROOT, or the one the go command downloads)")
	fs.Var(&images, "image", "also rebuild with this builder `image` of the same Go version, repeatable")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smol verify: unexpected arguments %v: verify rebuilds what the manifest lists\n", fs.Args())
		return errUsage
	}
	mod, err := gomod.Read(dir)
	if err != nil {
		return err
	}
	outDir := out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(mod.Dir, outDir)
	}
	m, sums, err := verify.Load(outDir, toolVersion())
	if err != nil {
		return err
	}
	if err := checkGoPin(goPin, m); err != nil {
		return err
	}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = verifyUID, verifyUID
	}
	variants := verifyVariants(eng, *native, images, m.Image.Ref, setup.Choice{DepsNetwork: depsNetwork, ToolVersion: toolVersion(), Transfer: transferMode})
	if *other {
		variants = withOtherTransfer(variants)
	}
	var names []string
	for _, v := range variants {
		names = append(names, v.Name)
	}
	log := stderr
	fmt.Fprintf(log, "smol: verify %s at %s: %d output(s), %s, as uid %d\n", m.Module, shortRev(m.Source.Revision), len(m.Outputs), strings.Join(names, ", "), uid)
	rep, err := verify.Run(ctx, verify.Options{
		ModuleDir: mod.Dir,
		OutDir:    outDir,
		Manifest:  m,
		Sums:      sums,
		Variants:  variants,
		UID:       uid,
		GID:       gid,
		Log:       log,
	})
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

// checkGoPin refuses a --go (SMOL_GO) that is not the version the build
// used: verify proves the recorded build, so it rebuilds with the recorded
// toolchain and never with another.
func checkGoPin(pin string, m manifest.Manifest) error {
	if pin == "" || pin == m.GoVersion {
		return nil
	}
	return fmt.Errorf("refusing to verify: --go (or SMOL_GO) asks for %s, but the build used go%s, which the manifest records and verify rebuilds with: drop --go, or build again with --go %s", pin, m.GoVersion, pin)
}

// verifyVariants lists the ways to rebuild, the recorded one first: in the
// recorded builder image (imageRef; "" when the build was native, which
// then means the default image) with the chosen engine, or natively when
// the engine is native, since a CI job inside the pinned golang image has
// no container engine. Extras follow: a native rebuild, and one per image.
func verifyVariants(eng string, native bool, images []string, imageRef string, base setup.Choice) []verify.Variant {
	recorded := base
	recorded.Engine, recorded.Image = eng, imageRef
	name := "container"
	if eng == "native" {
		name, recorded.Image = "native", ""
		native = false
	}
	vs := []verify.Variant{{Name: name, Choice: recorded}}
	if native {
		c := base
		c.Engine = "native"
		vs = append(vs, verify.Variant{Name: "native", Choice: c, Extra: true})
	}
	for _, ref := range images {
		c := base
		c.Image, c.Explicit = ref, true
		if eng != "native" { // an image needs a container engine even in a native job
			c.Engine = eng
		}
		vs = append(vs, verify.Variant{Name: "image:" + ref, Choice: c, Extra: true})
	}
	return vs
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

// withOtherTransfer adds a rebuild like the recorded one (the first of vs)
// but with the other transfer mode: copy, unless the recorded rebuild asks
// for copy, then mount. Files that travel as tar streams must build the
// same bytes as files the daemon reads in place. A native rebuild has no
// transfer, so nothing is added to it.
func withOtherTransfer(vs []verify.Variant) []verify.Variant {
	first := vs[0].Choice
	if first.Engine == "native" {
		return vs
	}
	c := first
	c.Transfer = transfer.Copy
	if first.Transfer == transfer.Copy {
		c.Transfer = transfer.Mount
	}
	return append(vs, verify.Variant{Name: "transfer:" + c.Transfer, Choice: c, Extra: true})
}
