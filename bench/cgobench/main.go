// Command cgobench measures smol build --cgo against the original static cgo
// recipe, in the same cgo builder image and the same run, and writes the
// cgo section of BENCHMARKS.md.
//
// The program is go-sqlite3 v1.14.53's own example (_example/simple: open a
// database file, write 100 rows, read them back), in a scratch module. The
// recipe is the seed's command with cgo's static link:
//
//	go build -a -ldflags "-linkmode external -extldflags -static" -o /out/app .
//
// run with docker in the cgo builder image with the same C compiler smol
// sets (CC with musl's specs; the image has no glibc headers). Each cold
// round builds once with each tool, the order alternating, each with an
// empty build cache and the module cache both share (filled first), so the
// ratio is the compile and link. Then the warm no-change rebuild (smol
// build again: up to date), the sizes of both binaries, and the start-up
// of each: the wall time of running it to completion (it does its database
// work), median of -runs runs.
//
// Usage:
//
//	go run ./bench/cgobench [-smol bin/smol] [-rounds 2] [-runs 20]
//
// It needs docker with the cgo builder image (smol image --cgo) and the
// module proxy for the first download.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
	"github.com/gohttp-smol/gohttp-smol/internal/cli"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/tree"
)

const section = benchdoc.Section("cgo")

const mainGo = `package main

import (
	"database/sql"
	"fmt"
	"log"
	"os"

	_ "github.com/mattn/go-sqlite3"
)

// What go-sqlite3's _example/simple does, in short: a file database, rows
// written in a transaction and read back.
func main() {
	os.Remove("./foo.db")
	db, err := sql.Open("sqlite3", "./foo.db")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("create table foo (id integer not null primary key, name text)"); err != nil {
		log.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := tx.Exec("insert into foo(id, name) values(?, ?)", i, fmt.Sprintf("row%03d", i)); err != nil {
			log.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	var n int
	if err := db.QueryRow("select count(*) from foo").Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows:", n)
}
`

func main() { cli.Main("cgobench", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cgobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smolBin := fs.String("smol", "bin/smol", "smol `binary` to measure")
	rounds := fs.Int("rounds", 2, "cold `rounds`, each one build with each tool")
	runs := fs.Int("runs", 20, "`runs` of each binary for start-up, and of the warm rebuild")
	benchmarks := fs.String("benchmarks", "BENCHMARKS.md", "`file` whose cgo section is rewritten; - for stdout only")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	smol, err := filepath.Abs(*smolBin)
	if err != nil {
		return err
	}
	image := plan.CgoImageTag("1.26.8")
	if exec.Command("docker", "image", "inspect", image).Run() != nil {
		return fmt.Errorf("image %s is not present: run smol image --cgo", image)
	}
	tmp, err := os.MkdirTemp("", "cgobench-")
	if err != nil {
		return err
	}
	defer tree.RemoveAll(tmp)
	mod := filepath.Join(tmp, "m")
	modCache := filepath.Join(tmp, "modcache")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/sqlite\n\ngo 1.26\n\ntoolchain go1.26.8\n\nrequire github.com/mattn/go-sqlite3 v1.14.53\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "main.go"), []byte(mainGo), 0o644)
	tidy := exec.CommandContext(ctx, "go", "mod", "tidy")
	tidy.Dir = mod
	tidy.Env = append(os.Environ(), "GOMODCACHE="+modCache, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy: %v\n%s", err, out)
	}
	cc := "CC=x86_64-linux-gnu-gcc-12 -specs=/usr/lib/x86_64-linux-musl/musl-gcc.specs"

	var smolCold, recipeCold, ratios []float64
	for r := 0; r < *rounds; r++ {
		smolRun := func() error {
			cache := filepath.Join(tmp, fmt.Sprintf("smol-cache-%d", r))
			os.MkdirAll(cache+"/go1.26.8", 0o755)
			// The module cache both tools share: the cold build compiles, it does not download.
			os.Symlink(modCache, cache+"/go1.26.8/mod")
			start := time.Now()
			err := cmd(ctx, mod, smol, "build", "--cgo", "--force", "--cache-dir", cache, "--platform", "linux/amd64")
			smolCold = append(smolCold, time.Since(start).Seconds())
			return err
		}
		recipeRun := func() error {
			gocache := filepath.Join(tmp, fmt.Sprintf("recipe-cache-%d", r))
			os.MkdirAll(gocache, 0o755)
			out := filepath.Join(tmp, "recipe-out")
			os.MkdirAll(out, 0o755)
			start := time.Now()
			err := cmd(ctx, mod, "docker", "run", "--rm", "--network=none", "-v", mod+":/src:ro", "-v", out+":/out", "-v", modCache+":/mod", "-v", gocache+":/cache",
				"-w", "/src", "-e", "GOMODCACHE=/mod", "-e", "GOCACHE=/cache", "-e", "GOFLAGS=-mod=mod", "-e", "GOPROXY=off", "-e", "CGO_ENABLED=1", "-e", cc,
				image, "go", "build", "-a", "-ldflags", "-linkmode external -extldflags -static", "-o", "/out/app", ".")
			recipeCold = append(recipeCold, time.Since(start).Seconds())
			return err
		}
		first, second := smolRun, recipeRun
		if r%2 == 1 {
			first, second = recipeRun, smolRun
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		ratios = append(ratios, smolCold[len(smolCold)-1]/recipeCold[len(recipeCold)-1])
	}

	var warm []float64
	for i := 0; i < 5; i++ {
		start := time.Now()
		if err := cmd(ctx, mod, smol, "build", "--cgo", "--cache-dir", filepath.Join(tmp, "smol-cache-0"), "--platform", "linux/amd64"); err != nil {
			return err
		}
		warm = append(warm, time.Since(start).Seconds())
	}

	smolOut := filepath.Join(mod, "dist", "sqlite_linux_amd64")
	recipeOut := filepath.Join(tmp, "recipe-out", "app")
	sizes := [2]int64{}
	for i, f := range []string{smolOut, recipeOut} {
		fi, err := os.Stat(f)
		if err != nil {
			return err
		}
		sizes[i] = fi.Size()
	}
	startSmol, err := startup(ctx, tmp, smolOut, *runs)
	if err != nil {
		return err
	}
	startRecipe, err := startup(ctx, tmp, recipeOut, *runs)
	if err != nil {
		return err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## cgo builds (go-sqlite3)\n\n", section.Begin())
	fmt.Fprintf(&b, "`go run ./bench/cgobench -rounds %d -runs %d`, %s, on this 2-core shared machine. ", *rounds, *runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Program: go-sqlite3 v1.14.53 in a file database (100 rows written and counted), linux/amd64, both tools in %s with the same musl CC; ", image)
	fmt.Fprintf(&b, "the recipe is `go build -a -ldflags \"-linkmode external -extldflags -static\"`. Cold: empty build cache, shared filled module cache.\n\n")
	fmt.Fprintf(&b, "| what | smol --cgo | recipe | ratio | target |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| cold build, median of %d rounds (s) | %.1f | %.1f | %.2fx (per round: %s) | ≤ 1.3x |\n", *rounds, median(smolCold), median(recipeCold), median(ratios), floats(ratios))
	fmt.Fprintf(&b, "| warm no-change rebuild, median of 5 (s) | %.2f | | | ≤ 1.5 s |\n", median(warm))
	fmt.Fprintf(&b, "| binary size (bytes) | %d | %d | %.2fx | |\n", sizes[0], sizes[1], float64(sizes[0])/float64(sizes[1]))
	fmt.Fprintf(&b, "| start-up to exit, median of %d runs (ms) | %.1f | %.1f | %.2fx | |\n", *runs, startSmol*1000, startRecipe*1000, startSmol/startRecipe)
	fmt.Fprintf(&b, "\n%s\n", section.End())
	fmt.Fprint(stdout, b.String())
	if *benchmarks == "-" {
		return nil
	}
	return benchdoc.Write(*benchmarks, section, []byte(b.String()))
}

// cmd runs a command in dir, its output kept for the error.
func cmd(ctx context.Context, dir, name string, args ...string) error {
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// startup runs bin n times in a scratch directory and returns the median
// wall time of a run to its exit; every run must print the row count.
func startup(ctx context.Context, tmp, bin string, n int) (float64, error) {
	dir, err := os.MkdirTemp(tmp, "run-")
	if err != nil {
		return 0, err
	}
	var ts []float64
	for i := 0; i < n; i++ {
		c := exec.CommandContext(ctx, bin)
		c.Dir = dir
		start := time.Now()
		out, err := c.CombinedOutput()
		ts = append(ts, time.Since(start).Seconds())
		if err != nil || string(out) != "rows: 100\n" {
			return 0, errors.Join(fmt.Errorf("%s: %q", bin, out), err)
		}
	}
	return median(ts), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func floats(v []float64) string {
	var out []string
	for _, f := range v {
		out = append(out, fmt.Sprintf("%.2f", f))
	}
	return strings.Join(out, ", ")
}
