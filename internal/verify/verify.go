// Package verify proves that a smol build is reproducible and that the
// files in the output directory are the ones it built: it hashes every
// output in the output directory and compares it with SHA256SUMS, then
// rebuilds every output listed in the manifest from a clean copy of the
// source, at another absolute path, with empty caches, as another user where
// it can, and compares the bytes with SHA256SUMS too. An output passes only
// when both agree: a PASS is about the file the user will ship.
//
// Like gorebuild, the log is the report: every output of every variation
// ends PASS, FAIL or SKIP, and the same records become the JSON report. A
// variation that could not run is SKIP with its reason, never a pass.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/build"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/setup"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

// Status of a record or variation.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// Report is the outcome of a verification. It marshals as the --json report.
type Report struct {
	Module     string      `json:"module"`
	Revision   string      `json:"revision,omitempty"`
	Version    string      `json:"version"`
	Scratch    string      `json:"scratch,omitempty"` // kept rebuilds, when any output differed
	Variations []Variation `json:"variations"`
	Outputs    []Record    `json:"outputs"`
}

// Variation is one way of rebuilding.
type Variation struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Record compares one output of one variation with SHA256SUMS.
type Record struct {
	Name      string `json:"name"`
	Variation string `json:"variation"`
	Expected  string `json:"expected"`
	Got       string `json:"got,omitempty"`
	Size      int64  `json:"size"`
	GotSize   int64  `json:"got_size,omitempty"`
	Status    string `json:"status"`
	Rebuilt   string `json:"rebuilt,omitempty"` // path of the differing rebuild
	// Reason says why a record failed when the hashes alone do not: the
	// file is missing from the output directory, or the rebuild matches
	// SHA256SUMS but the shipped file does not.
	Reason string `json:"reason,omitempty"`
}

// Shipped is the name of the check of the files in the output directory
// against SHA256SUMS; it comes first in a Report, before the rebuilds.
const Shipped = "dist"

// OK reports whether every record passed and at least one rebuild ran.
func (r Report) OK() bool {
	ran := false
	for _, v := range r.Variations {
		if v.Status == Fail {
			return false
		}
		ran = ran || v.Status == Pass && v.Name != Shipped
	}
	return ran
}

// Variant is one way of rebuilding, as data: the engine and image to
// rebuild with, chosen as smol build chooses them (package setup).
type Variant struct {
	Name   string       // in the log and the report: "container", "native", "image:REF"
	Choice setup.Choice // the engine and image
	// Extra marks a variant asked for on top of the recorded way of
	// building (--native, --image): when it cannot be set up here (no
	// engine, no toolchain, image absent) it is SKIP with the reason, not
	// FAIL.
	Extra bool
}

// ErrSkip marks a variation that cannot run on this host.
var ErrSkip = errors.New("cannot run here")

// Options control Run.
type Options struct {
	ModuleDir string // the module whose outputs are verified
	OutDir    string // where the outputs, manifest.json and SHA256SUMS are
	// Manifest and Sums are OutDir's manifest and SHA256SUMS, as Load
	// returns them.
	Manifest manifest.Manifest
	Sums     map[string]string
	Variants []Variant // the recorded way first, then extras
	// UID and GID run the rebuilds: a user other than the one who built,
	// where smol can switch (it runs as root).
	UID, GID   int
	ScratchDir string    // parent of the scratch tree; default os.TempDir()
	Log        io.Writer // the PASS/FAIL/SKIP log
}

// Run verifies the outputs in o.OutDir. Checks that need no rebuild come
// first, so that a bad manifest, a changed tree or a file in the output
// directory that differs from SHA256SUMS is reported at once.
func Run(ctx context.Context, o Options) (Report, error) {
	m, sums := o.Manifest, o.Sums
	rep := Report{Module: m.Module, Revision: m.Source.Revision, Version: m.Version}
	if err := checkSource(ctx, o.ModuleDir, m); err != nil {
		return rep, err
	}
	opts, err := plan.OptionsFrom(m)
	if err != nil {
		return rep, fmt.Errorf("refusing to verify: %w", err)
	}

	start := time.Now()
	shipped := checkShipped(o.OutDir, m, sums)
	res := Variation{Name: Shipped, Status: Pass}
	bad := map[string]string{} // output name -> what is wrong with the shipped file
	for _, r := range shipped {
		switch {
		case r.Status == Pass:
		case r.Got == "" && strings.HasPrefix(r.Reason, "missing"):
			res.Status, bad[r.Name] = Fail, "is missing"
		case r.Got == "":
			res.Status, bad[r.Name] = Fail, "cannot be read"
		default:
			res.Status, bad[r.Name] = Fail, "differs"
		}
		logRecord(o.Log, o.OutDir, r)
	}
	res.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(o.Log, "smol: verify %-18s %s %6.1fs\n", Shipped, res.Status, res.Seconds)
	rep.Variations = append(rep.Variations, res)
	rep.Outputs = append(rep.Outputs, shipped...)

	parent := o.ScratchDir
	if parent == "" {
		parent = os.TempDir()
	}
	need, err := treeSize(o.ModuleDir, o.OutDir)
	if err != nil {
		return rep, err
	}
	if err := checkSpace(parent, need); err != nil {
		return rep, err
	}
	scratch, err := os.MkdirTemp(parent, "smol-verify-")
	if err != nil {
		return rep, fmt.Errorf("verify: scratch directory: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tree.RemoveAll(scratch)
		}
	}()
	os.Chmod(scratch, 0o755)

	for _, v := range o.Variants {
		start := time.Now()
		res := Variation{Name: v.Name}
		recs, kept, err := rebuildOne(ctx, o, m, sums, bad, opts, scratch, v)
		res.Seconds = time.Since(start).Seconds()
		switch {
		case ctx.Err() != nil:
			return rep, ctx.Err()
		case errors.Is(err, ErrSkip):
			res.Status, res.Reason = Skip, err.Error()
			for _, o := range m.Outputs {
				recs = append(recs, Record{Name: o.Name, Variation: v.Name, Expected: o.SHA256, Size: o.Size, Status: Skip})
			}
		case err != nil:
			res.Status, res.Reason = Fail, err.Error()
			for _, o := range m.Outputs {
				recs = append(recs, Record{Name: o.Name, Variation: v.Name, Expected: o.SHA256, Size: o.Size, Status: Fail})
			}
		default:
			res.Status = Pass
			for _, r := range recs {
				if r.Status != Pass {
					res.Status = Fail
				}
			}
		}
		keep = keep || kept
		for _, r := range recs {
			logRecord(o.Log, o.OutDir, r)
		}
		if res.Reason != "" {
			fmt.Fprintf(o.Log, "%s %s: %s\n", res.Status, v.Name, res.Reason)
		}
		fmt.Fprintf(o.Log, "smol: verify %-18s %s %6.1fs\n", v.Name, res.Status, res.Seconds)
		rep.Variations = append(rep.Variations, res)
		rep.Outputs = append(rep.Outputs, recs...)
	}
	if keep {
		rep.Scratch = scratch
		for _, r := range rep.Outputs {
			if r.Status == Fail && r.Rebuilt != "" {
				fmt.Fprintf(o.Log, "smol: kept the rebuild of %s; compare with: diffoscope %s %s\n", r.Name, filepath.Join(o.OutDir, r.Name), r.Rebuilt)
			}
		}
	}
	return rep, nil
}

func logRecord(w io.Writer, outDir string, r Record) {
	shipped := filepath.Join(filepath.Base(outDir), r.Name)
	switch {
	case r.Status == Pass && r.Variation == Shipped:
		fmt.Fprintf(w, "PASS %s [%s] %s matches SHA256SUMS\n", r.Name, r.Variation, shipped)
	case r.Status == Pass:
		fmt.Fprintf(w, "PASS %s [%s] sha256 %s\n", r.Name, r.Variation, r.Got)
	case r.Status == Skip:
		fmt.Fprintf(w, "SKIP %s [%s]\n", r.Name, r.Variation)
	case r.Reason != "":
		fmt.Fprintf(w, "FAIL %s [%s] %s\n", r.Name, r.Variation, r.Reason)
	case r.Got == "":
		fmt.Fprintf(w, "FAIL %s [%s] not rebuilt\n", r.Name, r.Variation)
	case r.Variation == Shipped:
		fmt.Fprintf(w, "FAIL %s [%s] %s has sha256 %s (%d bytes), SHA256SUMS says %s (%d bytes): it is not the file smol built\n", r.Name, r.Variation, shipped, r.Got, r.GotSize, r.Expected, r.Size)
	default:
		fmt.Fprintf(w, "FAIL %s [%s] expected sha256 %s (%d bytes), rebuilt %s (%d bytes)\n", r.Name, r.Variation, r.Expected, r.Size, r.Got, r.GotSize)
	}
}

// checkShipped hashes every output SHA256SUMS lists that is in outDir and
// compares it with its line there. A listed output that is missing fails
// too, as it does for sha256sum -c: the set the user ships is incomplete.
func checkShipped(outDir string, m manifest.Manifest, sums map[string]string) []Record {
	var recs []Record
	for _, want := range m.Outputs {
		r := Record{Name: want.Name, Variation: Shipped, Expected: sums[want.Name], Size: want.Size}
		got, size, err := manifest.HashFile(filepath.Join(outDir, want.Name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			r.Status, r.Reason = Fail, fmt.Sprintf("missing from %s, which SHA256SUMS and the manifest list: run \"smol build\" again to restore it", filepath.Base(outDir))
		case err != nil:
			r.Status, r.Reason = Fail, fmt.Sprintf("cannot be read: %v", err)
		default:
			r.Got, r.GotSize, r.Status = got, size, Pass
			if got != r.Expected {
				r.Status = Fail
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// rebuildOne copies the source, plans the same build in the copy with fresh
// caches, runs it and compares. kept reports that differing rebuilds were
// left in the scratch tree for inspection.
//
// A record passes only when the rebuild matches SHA256SUMS and the output
// is not among bad, the outputs whose shipped file differs or is missing.
func rebuildOne(ctx context.Context, o Options, m manifest.Manifest, sums map[string]string, bad map[string]string, opts plan.Options, scratch string, v Variant) (recs []Record, kept bool, err error) {
	slug := strings.NewReplacer(":", "-", "/", "-").Replace(v.Name)
	// A deep, different path: -trimpath must make it irrelevant.
	src := filepath.Join(scratch, slug, "elsewhere", filepath.Base(o.ModuleDir))
	if err := copySource(ctx, o.ModuleDir, o.OutDir, m, src); err != nil {
		return nil, false, err
	}
	mod, err := gomod.Read(src)
	if err != nil {
		return nil, false, fmt.Errorf("clean copy: %w", err)
	}
	opts.CacheDir = filepath.Join(scratch, slug, "cache") // empty: nothing reused
	opts.OutDir = filepath.Join(scratch, slug, "out")
	opts.UID, opts.GID = o.UID, o.GID
	p, err := plan.New(mod, m.Source, opts)
	if err != nil {
		return nil, false, fmt.Errorf("plan from manifest: %w", err)
	}
	if !slices.Equal(p.Flags(), m.Flags) || !slices.Equal(p.Env(), m.Env) || p.GoVersion != m.GoVersion {
		return nil, false, fmt.Errorf("%w: the manifest's flags, environment or Go version are not what smol plans for its own options (edited, or written by another smol)", manifest.ErrInvalid)
	}
	if o.UID != os.Getuid() {
		if err := tree.Chown(filepath.Join(scratch, slug), o.UID, o.GID); err != nil {
			return nil, false, err
		}
	}
	choice := v.Choice
	choice.TempCaches = true // as empty as the fresh cache directory above
	choice.ImageGOROOT = true
	ready, err := setup.Prepare(ctx, choice, p, o.Log)
	if err != nil {
		if v.Extra && ctx.Err() == nil {
			return nil, false, fmt.Errorf("%w: %v", ErrSkip, err)
		}
		return nil, false, err
	}
	defer ready.Close()
	got, err := build.Run(ctx, p, ready.Executor, ready.Host, ready.Record, o.Log, o.Log)
	if err != nil {
		return nil, false, err
	}
	byName := map[string]manifest.Output{}
	for _, out := range got.Outputs {
		byName[out.Name] = out
	}
	for _, want := range m.Outputs {
		r := Record{Name: want.Name, Variation: v.Name, Expected: sums[want.Name], Size: want.Size}
		g, ok := byName[want.Name]
		switch {
		case !ok:
			r.Status = Fail
		case g.SHA256 == r.Expected && bad[want.Name] != "":
			r.Status, r.Got, r.GotSize = Fail, g.SHA256, g.Size
			r.Reason = fmt.Sprintf("rebuilt sha256 %s matches SHA256SUMS, but %s %s (see [%s])", g.SHA256, filepath.Join(filepath.Base(o.OutDir), want.Name), bad[want.Name], Shipped)
		case g.SHA256 == r.Expected:
			r.Status, r.Got, r.GotSize = Pass, g.SHA256, g.Size
		default:
			r.Status, r.Got, r.GotSize = Fail, g.SHA256, g.Size
			r.Rebuilt = filepath.Join(opts.OutDir, want.Name)
			kept = true
		}
		recs = append(recs, r)
	}
	return recs, kept, nil
}

// Load reads the manifest and SHA256SUMS in outDir and checks that they
// agree with each other and with this smol.
func Load(outDir, toolVersion string) (manifest.Manifest, map[string]string, error) {
	mpath := filepath.Join(outDir, manifest.ManifestFile)
	m, err := manifest.Read(mpath)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil, fmt.Errorf("no %s: run \"smol build\" first", mpath)
	}
	if err != nil {
		return m, nil, fmt.Errorf("refusing to verify: %w", err)
	}
	if m.Tool.Version != toolVersion {
		return m, nil, fmt.Errorf("refusing to verify: %s was written by smol %s and this is smol %s: verify with that smol, or build again with this one", mpath, m.Tool.Version, toolVersion)
	}
	data, err := os.ReadFile(filepath.Join(outDir, manifest.SumsFile))
	if err != nil {
		return m, nil, fmt.Errorf("refusing to verify: %w", err)
	}
	sums, err := manifest.ParseSums(data)
	if err != nil {
		return m, nil, fmt.Errorf("refusing to verify: %w", err)
	}
	if len(sums) != len(m.Outputs) {
		return m, nil, fmt.Errorf("refusing to verify: %s lists %d files and the manifest %d: one of them was edited", manifest.SumsFile, len(sums), len(m.Outputs))
	}
	for _, o := range m.Outputs {
		if sums[o.Name] != o.SHA256 {
			return m, nil, fmt.Errorf("refusing to verify: %s and the manifest disagree on %s (%q vs %q): one of them was edited", manifest.SumsFile, o.Name, sums[o.Name], o.SHA256)
		}
	}
	return m, sums, nil
}

// checkSource compares the checkout with the manifest's revision before
// minutes are spent on a rebuild.
func checkSource(ctx context.Context, dir string, m manifest.Manifest) error {
	now, err := source.Inspect(ctx, dir, "")
	if err != nil {
		return err
	}
	switch {
	case m.Source.Revision == "" && now.Revision != "":
		return fmt.Errorf("the build was made outside git but %s is now a git checkout at %s: run \"smol build\" again", dir, short(now.Revision))
	case m.Source.Revision != "" && now.Revision != m.Source.Revision:
		return fmt.Errorf("source changed since the build: the manifest records revision %s, the checkout is at %s: check out %s, or run \"smol build\" again", short(m.Source.Revision), short(now.Revision), short(m.Source.Revision))
	}
	return nil
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
