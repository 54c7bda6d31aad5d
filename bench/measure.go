package main

// The benchmark driver: start-up runs, then one long-lived instance of each
// server for the checks, the warm-up and the interleaved load rounds.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// results is everything one benchmark run measured; it is written out as
// JSON, and the report is rendered from it alone.
type results struct {
	Schema   int          `json:"schema"`
	Date     time.Time    `json:"date"`
	Command  string       `json:"command"`
	Machine  machine      `json:"machine"`
	Settings settings     `json:"settings"`
	Files    []benchFile  `json:"files"`
	Servers  []serverInfo `json:"servers"`
	Runs     []runResult  `json:"runs"`
	Fixed    []fixedRun   `json:"fixed_runs,omitempty"`
	Skipped  []string     `json:"skipped,omitempty"` // servers left out by -skip-missing, with the reason
}

const resultsSchema = 1

type machine struct {
	NProc      int    `json:"nproc"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	LoadAvg    string `json:"loadavg_at_start"`
	LoadAvgEnd string `json:"loadavg_at_end"`
	GoVersion  string `json:"go_version"`
	Wrk        string `json:"wrk"`
}

type settings struct {
	Wrk         wrkSettings   `json:"wrk"`
	Rounds      int           `json:"rounds"`
	Warmup      time.Duration `json:"warmup_ns"`
	StartupRuns int           `json:"startup_runs"`
	ServerCPUs  string        `json:"server_cpus"`
	ClientCPUs  string        `json:"client_cpus"`
	Logging     string        `json:"logging"`
	// Fixed is the fixed-rate load; nil when none was run.
	Fixed *fixedSettings `json:"fixed,omitempty"`
}

// fixedRun is one fixed-rate run of one server.
type fixedRun struct {
	Round     int           `json:"round"`
	Position  int           `json:"position"`
	Server    string        `json:"server"`
	Rate      int           `json:"rate"`
	Result    fixedResult   `json:"result"`
	ServerCPU time.Duration `json:"server_cpu_ns"`
	ClientCPU time.Duration `json:"client_cpu_ns"`
	Problem   string        `json:"problem,omitempty"`
}

// serverInfo holds the per-server figures that are not per file.
type serverInfo struct {
	Name           string          `json:"name"`
	Version        string          `json:"version"`
	Package        string          `json:"package,omitempty"`
	PackageVersion string          `json:"package_version,omitempty"`
	Executable     string          `json:"executable"`
	BinaryBytes    int64           `json:"binary_bytes"`
	Gzip           string          `json:"gzip_setup"`
	Procs          int             `json:"processes"`
	IdleRSS        int64           `json:"idle_rss_bytes"`
	AfterLoadRSS   int64           `json:"after_load_rss_bytes"`
	Startup        []time.Duration `json:"startup_ns"`
	// DefaultSite is gohttp-smol started with no directory: the figures the
	// targets for idle memory name.
	DefaultSite *siteFigures `json:"default_site,omitempty"`
	Checks      []check      `json:"checks"`
}

type siteFigures struct {
	IdleRSS int64           `json:"idle_rss_bytes"`
	Startup []time.Duration `json:"startup_ns"`
}

// check is one GET of a file before the load, verifying what is served.
type check struct {
	File            string `json:"file"`
	Status          int    `json:"status"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	WireBytes       int    `json:"wire_bytes"`
	// Sibling: the body was byte for byte the .gz file in the docroot.
	Sibling bool   `json:"sibling,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// runResult is one wrk run of one server on one file.
type runResult struct {
	Round     int           `json:"round"`
	Position  int           `json:"position"` // place of the server in this round's order
	Server    string        `json:"server"`
	File      string        `json:"file"`
	Wrk       wrkResult     `json:"wrk"`
	PeakRSS   int64         `json:"peak_rss_bytes"`
	ServerCPU time.Duration `json:"server_cpu_ns"`
	ClientCPU time.Duration `json:"client_cpu_ns"`
	Problem   string        `json:"problem,omitempty"`
	Output    string        `json:"wrk_output"`
}

// plan is a validated benchmark configuration.
type plan struct {
	peers    []peer
	skipped  []string
	wrk      string // wrk executable
	settings settings
	command  string
	scratch  string // parent of the docroot and the instances' directories
	progress io.Writer
}

const (
	// settleIdle is the pause between a server's first 200 (or the end of
	// the load) and the idle memory reading.
	settleIdle = 500 * time.Millisecond
	// stopTimeout is how long a server may drain after SIGTERM.
	stopTimeout = 5 * time.Second
)

// benchmark runs the whole benchmark and returns its results.
func benchmark(ctx context.Context, p plan) (*results, error) {
	res := &results{
		Schema:   resultsSchema,
		Date:     time.Now().UTC().Truncate(time.Second),
		Command:  p.command,
		Settings: p.settings,
		Skipped:  p.skipped,
		Machine:  readMachine(ctx, p.wrk),
	}
	docroot, err := os.MkdirTemp(p.scratch, "docroot-")
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	if res.Files, err = writeDocroot(docroot, benchFiles()); err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	for _, pe := range p.peers {
		info := serverInfo{Name: pe.Name, Package: pe.Package, Executable: pe.Exe, Gzip: pe.Gzip,
			Version: peerVersion(ctx, pe), PackageVersion: packageVersion(ctx, pe.Package)}
		if fi, err := os.Stat(pe.Exe); err == nil {
			info.BinaryBytes = fi.Size()
		}
		res.Servers = append(res.Servers, info)
	}

	if err := p.measureStartup(ctx, res, docroot); err != nil {
		return nil, err
	}
	if err := p.measureLoad(ctx, res, docroot); err != nil {
		return nil, err
	}
	res.Machine.LoadAvgEnd = loadAvg()
	return res, nil
}

// startupCase is one way of starting a server for the start-up figure.
type startupCase struct {
	server  int // index into p.peers and res.Servers
	docroot string
	path    string
	dflt    bool // gohttp-smol's default site
}

// measureStartup starts and stops every server StartupRuns times, rotating
// the order each time, and records spawn-to-first-200. gohttp-smol is also
// started with its default site, and its idle memory measured that way.
func (p plan) measureStartup(ctx context.Context, res *results, docroot string) error {
	var cases []startupCase
	for i, pe := range p.peers {
		cases = append(cases, startupCase{server: i, docroot: docroot, path: "/hello.html"})
		if pe.Name == nameSmol {
			cases = append(cases, startupCase{server: i, path: "/", dflt: true})
			res.Servers[i].DefaultSite = &siteFigures{}
		}
	}
	for run := 0; run < p.settings.StartupRuns; run++ {
		for _, c := range rotate(cases, run) {
			pe, info := p.peers[c.server], &res.Servers[c.server]
			in, err := startInstance(pe, p.scratch, c.docroot, p.settings.ServerCPUs)
			if err != nil {
				return fmt.Errorf("measure start-up: %w", err)
			}
			d, err := in.waitReady(ctx, c.path, 30*time.Second)
			if err == nil && c.dflt && run == 0 {
				time.Sleep(settleIdle)
				var s treeStats
				if s, err = procTree(in.Pid()); err == nil {
					info.DefaultSite.IdleRSS = s.RSS
				}
			}
			in.stop(stopTimeout)
			if err != nil {
				return fmt.Errorf("measure start-up: %w", err)
			}
			if c.dflt {
				info.DefaultSite.Startup = append(info.DefaultSite.Startup, d)
			} else {
				info.Startup = append(info.Startup, d)
			}
		}
	}
	label := func(c startupCase) string {
		if c.dflt {
			return p.peers[c.server].Name + " (default site)"
		}
		return p.peers[c.server].Name
	}
	for _, c := range cases {
		info := res.Servers[c.server]
		ds := info.Startup
		if c.dflt {
			ds = info.DefaultSite.Startup
		}
		fmt.Fprintf(p.progress, "start-up  %-28s median %s over %d starts\n", label(c), fmtDuration(median(ds)), len(ds))
	}
	return nil
}

// measureLoad runs every server at once (idle ones cost nothing), checks what
// each serves, warms each up, then runs the interleaved rounds.
func (p plan) measureLoad(ctx context.Context, res *results, docroot string) (err error) {
	insts := make([]*instance, len(p.peers))
	defer func() {
		for _, in := range insts {
			if in != nil {
				in.stop(stopTimeout)
			}
		}
	}()
	for i, pe := range p.peers {
		if insts[i], err = startInstance(pe, p.scratch, docroot, p.settings.ServerCPUs); err != nil {
			return fmt.Errorf("measure load: %w", err)
		}
		if _, err = insts[i].waitReady(ctx, "/hello.html", 30*time.Second); err != nil {
			return fmt.Errorf("measure load: %w", err)
		}
	}
	time.Sleep(settleIdle)
	for i, in := range insts {
		s, err := procTree(in.Pid())
		if err != nil {
			return fmt.Errorf("measure idle memory: %w", err)
		}
		res.Servers[i].IdleRSS, res.Servers[i].Procs = s.RSS, s.Procs
	}

	for i, in := range insts {
		for _, f := range res.Files {
			c := checkFile(ctx, in.URL(f.Path()), f)
			res.Servers[i].Checks = append(res.Servers[i].Checks, c)
			if c.Problem != "" {
				fmt.Fprintf(p.progress, "check     %-12s %-8s %s\n", in.peer.Name, f.Key, c.Problem)
			}
		}
	}

	if p.settings.Warmup > 0 {
		warm := p.settings.Wrk
		warm.Duration = p.settings.Warmup
		for _, in := range insts {
			for _, f := range res.Files {
				argv := append(cpuPrefix(p.settings.ClientCPUs), wrkArgs(p.wrk, warm, in.URL(f.Path()), f.headers())...)
				if _, _, _, err := runWrk(ctx, argv); err != nil && ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		fmt.Fprintf(p.progress, "warm-up   %v per server and file\n", p.settings.Warmup)
	}

	order := make([]int, len(insts))
	for i := range order {
		order[i] = i
	}
	for round := 0; round < p.settings.Rounds; round++ {
		for _, f := range res.Files {
			for pos, i := range rotate(order, round) {
				r, err := p.loadRun(ctx, insts[i], f)
				if err != nil {
					return err
				}
				r.Round, r.Position = round+1, pos
				res.Runs = append(res.Runs, r)
				line := fmt.Sprintf("round %d/%d %-8s %-12s %10.0f req/s  p99 %-9s %9s/s  rss %s",
					round+1, p.settings.Rounds, f.Key, r.Server, r.Wrk.RequestsSec,
					fmtDuration(r.Wrk.P99), fmtBytes(r.Wrk.TransferSec), fmtBytes(float64(r.PeakRSS)))
				if r.Problem != "" {
					line += "  PROBLEM: " + r.Problem
				}
				fmt.Fprintln(p.progress, line)
			}
		}
	}

	if fx := p.settings.Fixed; fx != nil {
		if err := p.measureFixed(ctx, res, insts, order); err != nil {
			return err
		}
	}

	time.Sleep(settleIdle)
	for i, in := range insts {
		if s, err := procTree(in.Pid()); err == nil {
			res.Servers[i].AfterLoadRSS = s.RSS
		}
	}
	return nil
}

// measureFixed runs the fixed-rate load on every server, at every rate, in
// interleaved rounds.
func (p plan) measureFixed(ctx context.Context, res *results, insts []*instance, order []int) error {
	fx := p.settings.Fixed
	var f benchFile
	for _, g := range res.Files {
		if g.Key == fx.File {
			f = g
		}
	}
	raw := fixedRequest(f)
	for round := 0; round < fx.Rounds; round++ {
		for _, rate := range fx.Rates {
			for pos, i := range rotate(order, round) {
				in := insts[i]
				r := fixedRun{Round: round + 1, Position: pos, Server: in.peer.Name, Rate: rate}
				before, err := procTree(in.Pid())
				if err != nil || in.exited() {
					r.Problem = fmt.Sprintf("server not running: %v", err)
				} else {
					cpu0 := clientCPU()
					r.Result, err = fixedRate(ctx, in.Addr(), raw, rate, fx.Connections, fx.Duration)
					if err != nil {
						return err
					}
					r.ClientCPU = clientCPU() - cpu0
					if after, err := procTree(in.Pid()); err == nil {
						r.ServerCPU = after.CPU - before.CPU
					}
					if r.Result.Errors > 0 {
						r.Problem = fmt.Sprintf("%d errors (failed connections or statuses other than 200)", r.Result.Errors)
					}
				}
				res.Fixed = append(res.Fixed, r)
				line := fmt.Sprintf("fixed %d/%d %6d req/s %-12s %10.0f done/s  server CPU %6.1f µs/req  p99 %s",
					round+1, fx.Rounds, rate, r.Server, perSecond(r.Result.Requests, r.Result.Duration),
					perRequest(r.ServerCPU, r.Result.Requests), fmtDuration(r.Result.P99))
				if r.Problem != "" {
					line += "  PROBLEM: " + r.Problem
				}
				fmt.Fprintln(p.progress, line)
			}
		}
	}
	return nil
}

// perSecond is n per second of d, or 0.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// perRequest is CPU time per request in microseconds, or 0.
func perRequest(cpu time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(n)
}

// rssSampleEvery is how often memory is sampled during a load run.
const rssSampleEvery = 100 * time.Millisecond

// loadRun runs wrk once against in while sampling the server's memory. A
// failed run (the server died, wrk found errors) is a result with a Problem,
// not an error; only cancellation is.
func (p plan) loadRun(ctx context.Context, in *instance, f benchFile) (runResult, error) {
	r := runResult{Server: in.peer.Name, File: f.Key}
	before, err := procTree(in.Pid())
	if err != nil || in.exited() {
		r.Problem = fmt.Sprintf("server not running: %v", err)
		return r, nil
	}
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		max := before.RSS
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
				if s, err := procTree(in.Pid()); err == nil && s.RSS > max {
					max = s.RSS
				}
			}
		}
	}()
	argv := append(cpuPrefix(p.settings.ClientCPUs), wrkArgs(p.wrk, p.settings.Wrk, in.URL(f.Path()), f.headers())...)
	w, out, clientCPU, err := runWrk(ctx, argv)
	close(stop)
	r.PeakRSS = <-peak
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	r.Wrk, r.Output, r.ClientCPU = w, out, clientCPU
	if after, err2 := procTree(in.Pid()); err2 == nil {
		r.ServerCPU = after.CPU - before.CPU
	}
	switch {
	case err != nil:
		r.Problem = err.Error()
	case in.exited():
		r.Problem = "server exited during the run: " + in.logTail()
	default:
		r.Problem = w.problem()
	}
	return r, nil
}

func cpuPrefix(cpus string) []string {
	if cpus == "" {
		return nil
	}
	return []string{"taskset", "-c", cpus}
}

// checkFile fetches f once, as wrk will, and verifies the body: a benchmark
// of a server that sends the wrong bytes measures nothing.
func checkFile(ctx context.Context, url string, f benchFile) check {
	c := check{File: f.Key}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		c.Problem = err.Error()
		return c
	}
	if f.Gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	// DisableCompression: the client must neither ask for gzip on its own
	// nor decode it silently, so that what the server sent is what is seen.
	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		c.Problem = err.Error()
		return c
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.Problem = "read body: " + err.Error()
		return c
	}
	c.Status, c.WireBytes = resp.StatusCode, len(body)
	c.ContentEncoding = resp.Header.Get("Content-Encoding")
	if resp.StatusCode != http.StatusOK {
		c.Problem = fmt.Sprintf("status %d, want 200", resp.StatusCode)
		return c
	}
	content := body
	switch c.ContentEncoding {
	case "":
	case "gzip":
		sum := sha256.Sum256(body)
		c.Sibling = hex.EncodeToString(sum[:]) == f.GzipSHA256
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			content, err = io.ReadAll(zr)
		}
		if err != nil {
			c.Problem = "bad gzip body: " + err.Error()
			return c
		}
	default:
		c.Problem = "unexpected Content-Encoding " + c.ContentEncoding
		return c
	}
	if sum := sha256.Sum256(content); hex.EncodeToString(sum[:]) != f.SHA256 {
		c.Problem = fmt.Sprintf("wrong content: %d bytes that are not %s", len(content), f.Name)
	}
	return c
}

// readMachine describes the host for the report.
func readMachine(ctx context.Context, wrk string) machine {
	m := machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg = loadAvg()
	// runtime.NumCPU counts the CPUs this process may use; nproc's figure
	// is the machine's when the harness has not pinned itself yet.
	if out, err := exec.CommandContext(ctx, "nproc", "--all").Output(); err == nil {
		fmt.Sscan(string(out), &m.NProc)
	}
	if out, err := exec.CommandContext(ctx, wrk, "-v").CombinedOutput(); len(out) > 0 {
		_ = err // wrk -v exits 1 after printing its version
		v := firstLine(string(out))
		v, _, _ = strings.Cut(v, " Copyright")
		m.Wrk = v
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// rotate returns s rotated left by n: round n starts with the n-th server,
// so no server is always measured first (or right after the same one).
func rotate[T any](s []T, n int) []T {
	if len(s) == 0 {
		return nil
	}
	n %= len(s)
	return append(append([]T(nil), s[n:]...), s[:n]...)
}
