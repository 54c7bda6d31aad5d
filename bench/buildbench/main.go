// Command buildbench measures smol's build times against GoReleaser's, both
// building the same package with the same flags in the same run, and writes
// them into the build section of BENCHMARKS.md:
//
//   - cold builds (empty caches) for every -platforms platform, with the
//     module cache each tool filled;
//   - warm rebuilds after a one-line change, with no change, and with no
//     change for the host platform alone; with a smol that has --force, also
//     smol's forced rebuild with no change (the compile path, past any
//     up-to-date check).
//
// Both tools run in the same rounds, the order alternating, and every ratio
// is taken within a round before its median is taken. GoReleaser v2.15.1
// runs `goreleaser build --snapshot --clean` with the host's go command and a
// generated .goreleaser.yaml holding its documented reproducible settings and
// smol's flags; the cold outputs of the two are compared byte for byte.
//
// Usage (`make bench-build` runs it from the repository root):
//
//	go run ./bench/buildbench [flags]
//	go run ./bench/buildbench -from-json bench/results/build.json   # re-render only
//
// It never touches the repository it measures: it clones it into a
// temporary directory, builds smol from that clone, and makes every change
// there. Only BENCHMARKS.md (its own section), the raw results (-json), the
// log beside them and, when missing, the GoReleaser binary (-goreleaser) are
// written in the repository.
//
// It needs git, go (the version go.mod pins), docker with the builder image
// smol would use (or smol makes it), and the module proxy for the cold builds
// and the GoReleaser install.
//
// Exit status: 0 when the benchmark ran, whether or not the targets were met
// (the report says); 1 when a measurement failed; 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
	"github.com/gohttp-smol/gohttp-smol/internal/cli"
)

func main() { cli.Main("buildbench", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("buildbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.repo, "repo", ".", "repository `dir` to measure (cloned, never modified)")
	fs.StringVar(&cfg.pkg, "pkg", "./cmd/gohttp-smol", "main `package` to build")
	fs.StringVar(&cfg.platforms, "platforms", "linux/amd64,linux/arm64", "`list` of GOOS/GOARCH for the multi-platform cases")
	fs.StringVar(&cfg.edit, "edit", "internal/server/server.go", "`file` the one-line change is appended to (in the clone)")
	fs.StringVar(&cfg.smolBin, "smol", "", "smol `binary` to measure (default: built from the clone's HEAD)")
	fs.StringVar(&cfg.goreleaser, "goreleaser", "bench/results/bin/goreleaser", "GoReleaser `binary` (relative to -repo); installed there with go install when missing")
	fs.IntVar(&cfg.runs, "runs", 5, "warm `rounds`, each running every warm case with both tools")
	fs.IntVar(&cfg.coldRounds, "cold-rounds", 2, "cold `rounds`, each one build with each tool")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the scratch directory")
	benchmarks := fs.String("benchmarks", "BENCHMARKS.md", "`file` whose build section is rewritten (relative to -repo)")
	jsonPath := fs.String("json", "bench/results/build.json", "raw results `file`, with build.log beside it (relative to -repo); \"\" for none")
	fromJSON := fs.String("from-json", "", "re-render the section from this results `file` and measure nothing")
	transferMode := fs.Bool("transfer", false, "instead, compare smol's copy mode (--transfer copy) with mount mode and rewrite that section (results in build-transfer.json beside -json)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench/buildbench [flags]\n\nMeasure smol's build times against GoReleaser and rewrite the build section of BENCHMARKS.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if cfg.runs < 1 || cfg.coldRounds < 0 {
		fmt.Fprintln(stderr, "buildbench: -runs must be at least 1 and -cold-rounds at least 0")
		return cli.ErrUsage
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(cfg.repo, p)
	}
	say := func(format string, args ...any) { fmt.Fprintf(stderr, "buildbench: "+format+"\n", args...) }

	if *transferMode {
		if *fromJSON != "" {
			fmt.Fprintln(stderr, "buildbench: -from-json re-renders the build section only; -transfer always measures")
			return cli.ErrUsage
		}
		return runTransfer(ctx, cfg, args, rel(*benchmarks), rel(*jsonPath), stdout, say)
	}
	var res *results
	if *fromJSON != "" {
		var err error
		if res, err = loadJSON(*fromJSON); err != nil {
			return err
		}
	} else {
		repo, err := filepath.Abs(cfg.repo)
		if err != nil {
			return err
		}
		cfg.repo = repo
		cfg.goreleaser = rel(cfg.goreleaser)
		if cfg.goreleaser, err = filepath.Abs(cfg.goreleaser); err != nil {
			return err
		}
		cfg.command = "go run ./bench/buildbench"
		if len(args) > 0 {
			cfg.command += " " + shellLine(args)
		}
		log := io.Discard
		if *jsonPath != "" {
			if err := os.MkdirAll(filepath.Dir(rel(*jsonPath)), 0o755); err != nil {
				return err
			}
			logPath := strings.TrimSuffix(rel(*jsonPath), filepath.Ext(*jsonPath)) + ".log"
			f, err := os.Create(logPath)
			if err != nil {
				return err
			}
			defer f.Close()
			log = f
			say("log of every command: %s", logPath)
		}
		if res, err = bench(ctx, cfg, &runner{log: log}, say); err != nil {
			if ctx.Err() != nil {
				return errors.New("interrupted: nothing written")
			}
			return err
		}
		if *jsonPath != "" {
			if err := saveJSON(rel(*jsonPath), res); err != nil {
				return err
			}
		}
	}
	text := markdown(res)
	if err := benchdoc.Write(rel(*benchmarks), section, text); err != nil {
		return err
	}
	for _, v := range verdicts(res) {
		status := "n/a "
		if v.Known {
			status = "FAIL"
			if v.Pass {
				status = "pass"
			}
		}
		fmt.Fprintf(stdout, "%s  %-34s %s (target %s)\n", status, v.Name, v.Got, v.Target)
	}
	say("wrote the build section of %s", rel(*benchmarks))
	return nil
}
