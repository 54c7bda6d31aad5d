// Package verify proves that a smol build is reproducible: it rebuilds
// every output listed in a manifest from a clean copy of the source, at
// another absolute path, with empty caches, as another user where it can,
// and compares the bytes with SHA256SUMS.
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

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
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
}

// OK reports whether every record passed and at least one variation ran.
func (r Report) OK() bool {
	ran := false
	for _, v := range r.Variations {
		if v.Status == Fail {
			return false
		}
		ran = ran || v.Status == Pass
	}
	return ran
}

// Rebuild builds p for one variation and returns its manifest. The CLI
// supplies it, choosing the executor and image for the variation name.
// ErrSkip in the returned error chain makes the variation SKIP instead of
// FAIL: it could not run here (no matching toolchain, image absent).
type Rebuild func(ctx context.Context, variation string, p plan.Plan) (manifest.Manifest, error)

// ErrSkip marks a variation that cannot run on this host.
var ErrSkip = errors.New("cannot run here")

// Options control Run.
type Options struct {
	ModuleDir  string   // the module whose outputs are verified
	OutDir     string   // where manifest.json and SHA256SUMS are
	Variations []string // "container" first, then "native", "image:REF", ...
	// UID and GID run the rebuilds: a user other than the one who built,
	// where smol can switch (it runs as root).
	UID, GID    int
	ToolVersion string
	ScratchDir  string    // parent of the scratch tree; default os.TempDir()
	Log         io.Writer // the PASS/FAIL/SKIP log
}

// Run verifies the outputs in o.OutDir. Checks that need no rebuild come
// first, so that a bad manifest or a changed tree is reported at once.
func Run(ctx context.Context, o Options, rebuild Rebuild) (Report, error) {
	m, sums, err := Load(o.OutDir, o.ToolVersion)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Module: m.Module, Revision: m.Source.Revision, Version: m.Version}
	if err := checkSource(ctx, o.ModuleDir, m); err != nil {
		return rep, err
	}
	opts, err := optionsFrom(m)
	if err != nil {
		return rep, err
	}

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
			removeAll(scratch)
		}
	}()
	os.Chmod(scratch, 0o755)

	for _, v := range o.Variations {
		start := time.Now()
		res := Variation{Name: v}
		recs, kept, err := rebuildOne(ctx, o, m, sums, opts, scratch, v, rebuild)
		res.Seconds = time.Since(start).Seconds()
		switch {
		case ctx.Err() != nil:
			return rep, ctx.Err()
		case errors.Is(err, ErrSkip):
			res.Status, res.Reason = Skip, err.Error()
			for _, o := range m.Outputs {
				recs = append(recs, Record{Name: o.Name, Variation: v, Expected: o.SHA256, Size: o.Size, Status: Skip})
			}
		case err != nil:
			res.Status, res.Reason = Fail, err.Error()
			for _, o := range m.Outputs {
				recs = append(recs, Record{Name: o.Name, Variation: v, Expected: o.SHA256, Size: o.Size, Status: Fail})
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
			logRecord(o.Log, r)
		}
		if res.Reason != "" {
			fmt.Fprintf(o.Log, "%s %s: %s\n", res.Status, v, res.Reason)
		}
		fmt.Fprintf(o.Log, "smol: verify %-18s %s %6.1fs\n", v, res.Status, res.Seconds)
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

func logRecord(w io.Writer, r Record) {
	switch r.Status {
	case Pass:
		fmt.Fprintf(w, "PASS %s [%s] sha256 %s\n", r.Name, r.Variation, r.Got)
	case Fail:
		if r.Got == "" {
			fmt.Fprintf(w, "FAIL %s [%s] not rebuilt\n", r.Name, r.Variation)
			return
		}
		fmt.Fprintf(w, "FAIL %s [%s] expected sha256 %s (%d bytes), rebuilt %s (%d bytes)\n", r.Name, r.Variation, r.Expected, r.Size, r.Got, r.GotSize)
	default:
		fmt.Fprintf(w, "SKIP %s [%s]\n", r.Name, r.Variation)
	}
}

// rebuildOne copies the source, plans the same build in the copy with fresh
// caches, runs it and compares. kept reports that differing rebuilds were
// left in the scratch tree for inspection.
func rebuildOne(ctx context.Context, o Options, m manifest.Manifest, sums map[string]string, opts plan.Options, scratch, v string, rebuild Rebuild) (recs []Record, kept bool, err error) {
	slug := strings.NewReplacer(":", "-", "/", "-").Replace(v)
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
		if err := chownTree(filepath.Join(scratch, slug), o.UID, o.GID); err != nil {
			return nil, false, err
		}
	}
	got, err := rebuild(ctx, v, p)
	if err != nil {
		return nil, false, err
	}
	byName := map[string]manifest.Output{}
	for _, out := range got.Outputs {
		byName[out.Name] = out
	}
	for _, want := range m.Outputs {
		r := Record{Name: want.Name, Variation: v, Expected: sums[want.Name], Size: want.Size}
		g, ok := byName[want.Name]
		switch {
		case !ok:
			r.Status = Fail
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

// optionsFrom recovers the user's build options from a manifest.
func optionsFrom(m manifest.Manifest) (plan.Options, error) {
	prefix := "-s -w -buildid= -X " + m.VersionVar + "=" + m.Version
	if !strings.HasPrefix(m.LDFlags, prefix) {
		return plan.Options{}, fmt.Errorf("refusing to verify: %w: ldflags %q do not start with smol's %q", manifest.ErrInvalid, m.LDFlags, prefix)
	}
	var knobs []string
	for _, kv := range m.Env {
		k, v, _ := strings.Cut(kv, "=")
		if v != "" && slices.Contains(plan.Knobs, k) {
			knobs = append(knobs, kv)
		}
	}
	return plan.Options{
		Packages:   m.Packages,
		Platforms:  strings.Join(m.Platforms, ","),
		VersionVar: m.VersionVar,
		Version:    m.Version,
		Tags:       strings.Join(m.Tags, ","),
		LDFlags:    strings.TrimPrefix(strings.TrimPrefix(m.LDFlags, prefix), " "),
		Env:        knobs,
	}, nil
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
