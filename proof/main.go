// Command proof is the proof behind `smol verify`: it builds this
// repository's server and real third-party Go modules with smol, several
// ways, and reports whether every way gave the same bytes.
//
// Usage:
//
//	go run ./proof [flags]    (or: make proof)
//
// For each subject (the server, ./cmd/gohttp-smol of this repository, and
// the pinned third-party modules in subject.go) and each platform it makes
// five builds with the smol binary given by -smol:
//
//	cold     checkout A, the invoking user, an empty cache, smol's builder image
//	warm     the same again with the cache the cold build filled
//	uid      a clone at another path, as uid 12345 (when run as root), an empty cache
//	verify   smol verify --native: a git archive at a third path with fresh
//	         caches as uid 12345 in the image, then with the host's Go toolchain
//
// and prints a Markdown report: the sha256 of every output in every build,
// whether they are all identical, and the wall times (smol verify against a
// cold smol build of the same targets). The report replaces the section
// between <!-- bench:repro:begin --> and <!-- bench:repro:end --> of
// BENCHMARKS.md (-o; "-" prints it only).
//
// A third-party module is fetched with `go mod download -json` into a
// scratch module cache, copied out, given the toolchain line smol needs
// (smol builds only with an exactly pinned Go; third-party go.mod files
// rarely pin one, so this is the one line a user of smol adds), tidied only
// if its go.sum lacks entries (said in the report), and committed to a new
// git repository with a fixed author and the module version's date, so the
// revision, and with it every stamped version, is the same on every run.
//
// The dependency steps reach the Go module proxy; everything else is local.
// It needs Docker with smol's builder image (or one smol can make), git, and
// the pinned Go toolchain on PATH for the native rebuild.
//
// Exit status: 0 when every output of every subject is identical across all
// builds; 1 when one differs, a build fails or a build could not run (the
// report is still written); 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

func main() { cli.Main("proof", run) }

// errNotReproducible is returned after the report is written when the
// matrix is not 100% identical.
var errNotReproducible = errors.New("not every output is identical across the builds (see the report)")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("proof", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "this repository's root `dir`ectory")
	smolBin := fs.String("smol", "", "smol `binary` to prove (default: build ./cmd/smol of -repo)")
	only := fs.String("only", "", "comma-separated subject `names` (default all: "+strings.Join(subjectNames(), ",")+")")
	platforms := fs.String("platform", "linux/amd64,linux/arm64", "comma-separated GOOS/GOARCH `list`")
	out := fs.String("o", "BENCHMARKS.md", "`file` whose bench:repro section gets the report, relative to -repo; - for stdout only")
	work := fs.String("work", "", "parent `dir` of the scratch tree (default $TMPDIR)")
	keep := fs.Bool("keep", false, "keep the scratch tree (kept anyway when an output differs)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: proof [flags]\n\nBuild the server and pinned third-party modules with smol five ways and\nreport whether every output is byte-identical.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	subjects, err := selectSubjects(*only)
	if err != nil {
		fmt.Fprintln(stderr, "proof:", err)
		return cli.ErrUsage
	}
	repoDir, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}

	start := time.Now()
	base, err := os.MkdirTemp(*work, "smol-proof-")
	if err != nil {
		return fmt.Errorf("scratch directory: %w", err)
	}
	// The second user must reach its clone and the smol binary.
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
	env := Env{Base: base, Repo: repoDir, Platforms: *platforms, Getenv: os.Getenv, Log: stderr}
	keepBase := *keep
	defer func() {
		if keepBase {
			fmt.Fprintf(stderr, "proof: scratch tree kept in %s\n", base)
			return
		}
		if err := tree.RemoveAll(base); err != nil {
			fmt.Fprintf(stderr, "proof: remove the scratch tree: %v\n", err)
		}
	}()
	if env.Smol, err = installSmol(ctx, repoDir, *smolBin, base); err != nil {
		return err
	}
	if env.Pin, err = repoPin(repoDir); err != nil {
		return err
	}

	// HEAD now, unless the server's clone below says which commit it built:
	// other commits may land while the proof runs.
	revision := headRevision(ctx, repoDir)
	var results []Result
	for _, s := range subjects {
		r, err := Prove(ctx, env, s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		results = append(results, r)
		if s.Module == "" {
			revision = r.Checkout.Revision
		}
	}
	rep := Report{
		Date:      start.UTC().Format("2006-01-02"),
		Revision:  revision,
		GoVersion: "go" + env.Pin,
		Platforms: *platforms,
		Command:   "make proof",
		Results:   results,
		CPUs:      runtime.NumCPU(),
		Minutes:   time.Since(start).Minutes(),
	}
	text := rep.Markdown()
	if *out == "-" {
		fmt.Fprint(stdout, text)
	} else {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(repoDir, path)
		}
		if err := benchdoc.Write(path, section, []byte(text)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "proof: wrote the bench:repro section of %s (%.1f min)\n", path, rep.Minutes)
	}
	if !rep.AllIdentical() {
		keepBase = true
		return errNotReproducible
	}
	return nil
}
