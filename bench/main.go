// Command bench compares gohttp-smol with nginx, Caddy, lighttpd and the seed
// repository's server, in one run, and writes the server section of
// BENCHMARKS.md, an SVG chart and the raw results.
//
// Usage (`make bench` builds the two Go servers and runs this):
//
//	go run ./bench -gohttp-smol BIN -seed BIN [flags]
//	go run ./bench -from-json bench/results/server-....json   # re-render only
//
// Every server serves the same generated document root on loopback: a 1 KiB
// HTML page, a 100 KiB JavaScript file with a .gz sibling (requested with
// Accept-Encoding: gzip) and a 10 MiB random file. For each server the
// benchmark measures start-up to the first 200, idle memory, then, in
// interleaved rounds with the server order rotated, wrk's requests/s, p99
// latency and transfer rate, with the server's peak memory and CPU. The
// report shows medians and ratios to nginx and to the seed server, and
// checks gohttp-smol against its targets.
//
// The defaults (5 rounds of 3 s rather than 3 of 5 s) suit a shared machine:
// the same time per server and file, but a median that survives two rounds
// spoiled by a neighbour's burst of work.
//
// By default every server runs on CPU 0 and wrk on CPU 1 (see -server-cpus).
// nginx, Caddy and lighttpd come from Debian (apt-get install -y nginx-light
// caddy lighttpd wrk); a missing one is an error unless -skip-missing.
//
// Exit status: 0 when the benchmark ran (whether or not the targets were
// met: the report says), 1 on a usage error or a failed measurement.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/cli"
)

func main() { cli.Main("bench", run) }

type options struct {
	gohttpSmol, seed    string
	also                string
	servers             string
	rounds, startupRuns int
	threads, conns      int
	duration, warmup    time.Duration
	serverCPUs          string
	clientCPUs          string
	skipMissing         bool
	outDir              string
	markdown, svg       string
	fromJSON            string
	fixedRates          string
	fixedDuration       time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench -gohttp-smol BIN -seed BIN [flags]\n       go run ./bench -from-json FILE [-markdown FILE -svg FILE]\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.gohttpSmol, "gohttp-smol", "", "gohttp-smol binary, built as smol builds it")
	fs.StringVar(&o.seed, "seed", "", "bench/seedserver binary")
	fs.StringVar(&o.also, "also", "", "more servers taking gohttp-smol's arguments (the build before a change, a prototype), comma-separated binaries, each named by its file name")
	fs.StringVar(&o.servers, "servers", strings.Join(allServers, ","), "servers to run, comma-separated")
	fs.IntVar(&o.rounds, "rounds", 5, "interleaved load rounds (the median is reported)")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "wrk duration per run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "wrk warm-up per server and file before the rounds (0: none)")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads")
	fs.IntVar(&o.conns, "connections", 32, "wrk connections")
	fs.IntVar(&o.startupRuns, "startup-runs", 9, "starts per server for the start-up median")
	fs.StringVar(&o.serverCPUs, "server-cpus", "0", `CPU list every server is pinned to with taskset ("" with -client-cpus "": no pinning)`)
	fs.StringVar(&o.clientCPUs, "client-cpus", "1", "CPU list wrk and this harness are pinned to")
	fs.BoolVar(&o.skipMissing, "skip-missing", false, "leave out servers that are not installed instead of failing")
	fs.StringVar(&o.outDir, "out", "bench/results", "directory for the raw JSON results")
	fs.StringVar(&o.markdown, "markdown", "BENCHMARKS.md", "file whose server section is rewritten")
	fs.StringVar(&o.svg, "svg", "bench/server.svg", "chart to write")
	fs.StringVar(&o.fixedRates, "fixed-rates", "5000,40000", "fixed request rates (req/s, comma-separated) at which each server's CPU per 1 KiB request is measured (\"\": none)")
	fs.DurationVar(&o.fixedDuration, "fixed-duration", 3*time.Second, "duration of each fixed-rate run")
	fs.StringVar(&o.fromJSON, "from-json", "", "render the report from earlier raw results instead of measuring")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	switch {
	case o.fromJSON != "":
		return o, nil
	case o.rounds < 1:
		return o, errors.New("-rounds must be at least 1")
	case o.startupRuns < 1:
		return o, errors.New("-startup-runs must be at least 1")
	case o.duration < time.Second:
		return o, errors.New("-duration must be at least 1s (wrk counts whole seconds)")
	case o.threads < 1 || o.conns < o.threads:
		return o, errors.New("-threads must be at least 1 and -connections at least -threads (wrk's rule)")
	case o.fixedDuration <= 0:
		return o, errors.New("-fixed-duration must be positive")
	case (o.serverCPUs == "") != (o.clientCPUs == ""):
		return o, errors.New("-server-cpus and -client-cpus are set together or not at all: pinning only one side is not fair to anyone")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.fromJSON != "" {
		return rerender(o, stdout)
	}

	p := plan{progress: stdout, command: "go run ./bench " + shellJoin(args)}
	p.settings = settings{
		Wrk:         wrkSettings{Threads: o.threads, Connections: o.conns, Duration: o.duration},
		Rounds:      o.rounds,
		Warmup:      o.warmup,
		StartupRuns: o.startupRuns,
		ServerCPUs:  o.serverCPUs,
		ClientCPUs:  o.clientCPUs,
		Logging: "no access log (nginx `access_log off`, lighttpd without mod_accesslog, Caddy without `log`, " +
			"gohttp-smol `--log-format off`, the seed server has none); error logs to files",
	}
	if o.fixedRates != "" {
		rates, err := parseRates(o.fixedRates)
		if err != nil {
			return err
		}
		p.settings.Fixed = &fixedSettings{Rates: rates, Connections: o.conns, Duration: o.fixedDuration, Rounds: o.rounds, File: "1k"}
	}
	if p.wrk, err = exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: install it with `apt-get install -y wrk`")
	}
	for _, name := range strings.Split(o.servers, ",") {
		pe, err := lookupPeer(strings.TrimSpace(name), o.gohttpSmol, o.seed)
		if errors.Is(err, errMissing) && o.skipMissing {
			fmt.Fprintln(stdout, "skip     ", err)
			p.skipped = append(p.skipped, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		p.peers = append(p.peers, pe)
	}
	if o.also != "" {
		for _, bin := range strings.Split(o.also, ",") {
			pe, err := alsoPeer(strings.TrimSpace(bin))
			if err != nil {
				return err
			}
			p.peers = append(p.peers, pe)
		}
	}
	if len(p.peers) == 0 {
		return errors.New("no server to benchmark")
	}
	if err := pinSelf(ctx, o.serverCPUs, o.clientCPUs); err != nil {
		return err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	if p.scratch, err = os.MkdirTemp("", "gohttp-smol-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(p.scratch)
	// nginx's workers run as nobody when the harness runs as root: they must
	// be able to reach the docroot inside.
	if err := os.Chmod(p.scratch, 0o755); err != nil {
		return err
	}

	res, err := benchmark(ctx, p)
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	jsonPath := filepath.Join(o.outDir, "server-"+res.Date.Format("20060102T150405Z")+".json")
	if err := writeFileAtomic(jsonPath, append(raw, '\n')); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "results  ", jsonPath)
	return report(res, o, stdout)
}

// rerender writes the report from a results file.
func rerender(o options, stdout io.Writer) error {
	raw, err := os.ReadFile(o.fromJSON)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	var res results
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("read results %s: %w", o.fromJSON, err)
	}
	if res.Schema != resultsSchema {
		return fmt.Errorf("read results %s: schema %d, this program reads %d; rerun the benchmark", o.fromJSON, res.Schema, resultsSchema)
	}
	return report(&res, o, stdout)
}

func report(res *results, o options, stdout io.Writer) error {
	s := summarize(res)
	if err := writeReport(s, o.markdown, o.svg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report    %s (server section), %s\n", o.markdown, o.svg)
	for _, t := range s.targets {
		fmt.Fprintf(stdout, "%-4s      %s %s: %s\n", t.Status, t.Name, t.Want, t.Got)
	}
	return nil
}

// pinSelf moves every thread of this process onto the client CPUs, so that
// the harness's own work (polling, sampling) never runs on the servers' CPU.
// Threads created later inherit the mask.
func pinSelf(ctx context.Context, serverCPUs, clientCPUs string) error {
	if clientCPUs == "" {
		return nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return errors.New("taskset not found: install it with `apt-get install -y util-linux`, or pass -server-cpus '' -client-cpus '' to run unpinned")
	}
	for _, cpus := range []string{serverCPUs, clientCPUs} {
		if out, err := exec.CommandContext(ctx, "taskset", "-c", cpus, "true").CombinedOutput(); err != nil {
			return fmt.Errorf("CPU list %q is not usable here (%s): choose others with -server-cpus/-client-cpus, or pass both empty to run unpinned",
				cpus, strings.TrimSpace(string(out)))
		}
	}
	out, err := exec.CommandContext(ctx, "taskset", "-a", "-p", "-c", clientCPUs, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pin the harness to CPUs %s: %v: %s", clientCPUs, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// parseRates reads the -fixed-rates list.
func parseRates(s string) ([]int, error) {
	var rates []int
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("-fixed-rates: %q is not a positive number of requests per second", strings.TrimSpace(f))
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// shellJoin quotes args for a POSIX shell, for the reproduce line.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
