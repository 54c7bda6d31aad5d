package main

// The report: medians and ratios computed from the raw runs, the target
// verdicts, a Markdown section for BENCHMARKS.md and an SVG chart. Both are
// rendered with text/template from the results alone, so that -from-json can
// redo them without rerunning anything.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/benchdoc"
)

// Markers delimit the section of BENCHMARKS.md this program owns; the rest
// of the file (other benchmarks) is left as it is.
var (
	section     = benchdoc.Section("server")
	beginMarker = section.Begin()
	endMarker   = section.End()
)

// cell is the summary of one server on one file.
type cell struct {
	Runs      int // runs that completed requests
	ReqSec    float64
	P99       time.Duration
	Transfer  float64 // bytes/s
	PeakRSS   int64
	ServerCPU float64 // cores busy: server CPU time / run time
	ClientCPU float64
	Check     check
	Problems  []string
}

// fixedCell is the summary of one server at one fixed rate.
type fixedCell struct {
	Runs      int     // runs that completed requests
	Done      float64 // completed requests/s, median
	CPUPerReq float64 // server CPU µs per request, median
	Min, Max  float64 // of CPUPerReq over the runs
	P99       time.Duration
	Late      float64 // share of requests sent late, median
	ClientCPU float64 // cores busy
	Problems  []string
}

// sustained reports whether the server completed nearly every request asked.
func (c *fixedCell) sustained(rate int) bool { return c.Done >= 0.97*float64(rate) }

// summary is what the report shows.
type summary struct {
	res      *results
	files    []benchFile
	servers  []serverInfo
	cells    map[string]map[string]*cell // file key, server name
	baseline string                      // the server ratios in the chart are relative to
	targets  []targetResult
	fixed    map[int]map[string]*fixedCell // rate, server name
}

// fixedRatio returns server's CPU per request over base's at rate, or NaN.
func (s *summary) fixedRatio(rate int, server, base string) float64 {
	a, b := s.fixed[rate][server], s.fixed[rate][base]
	if a == nil || b == nil || a.Runs == 0 || b.Runs == 0 || b.CPUPerReq == 0 {
		return math.NaN()
	}
	return a.CPUPerReq / b.CPUPerReq
}

// summarizeFixed fills s.fixed from the fixed-rate runs.
func (s *summary) summarizeFixed() {
	s.fixed = map[int]map[string]*fixedCell{}
	fx := s.res.Settings.Fixed
	if fx == nil {
		return
	}
	for _, rate := range fx.Rates {
		s.fixed[rate] = map[string]*fixedCell{}
		for _, si := range s.servers {
			c := &fixedCell{}
			var done, per, late, cli []float64
			var p99 []time.Duration
			for _, r := range s.res.Fixed {
				if r.Server != si.Name || r.Rate != rate {
					continue
				}
				if r.Problem != "" {
					c.Problems = append(c.Problems, fmt.Sprintf("round %d: %s", r.Round, r.Problem))
				}
				if r.Result.Requests == 0 || r.Result.Duration <= 0 {
					continue
				}
				c.Runs++
				done = append(done, perSecond(r.Result.Requests, r.Result.Duration))
				per = append(per, perRequest(r.ServerCPU, r.Result.Requests))
				late = append(late, float64(r.Result.Late)/float64(r.Result.Requests))
				cli = append(cli, r.ClientCPU.Seconds()/r.Result.Duration.Seconds())
				p99 = append(p99, r.Result.P99)
			}
			c.Done, c.CPUPerReq, c.Late, c.ClientCPU, c.P99 = median(done), median(per), median(late), median(cli), median(p99)
			if len(per) > 0 {
				c.Min, c.Max = slices.Min(per), slices.Max(per)
			}
			s.fixed[rate][si.Name] = c
		}
	}
}

func (s *summary) cell(file, server string) *cell {
	if m := s.cells[file]; m != nil {
		return m[server]
	}
	return nil
}

func summarize(res *results) *summary {
	s := &summary{res: res, files: res.Files, cells: map[string]map[string]*cell{}}
	// Servers in the report's fixed order, whatever order they ran in.
	for _, name := range allServers {
		for _, si := range res.Servers {
			if si.Name == name {
				s.servers = append(s.servers, si)
			}
		}
	}
	for _, si := range res.Servers { // -also servers, after the others
		if !slices.Contains(allServers, si.Name) {
			s.servers = append(s.servers, si)
		}
	}
	for _, f := range res.Files {
		s.cells[f.Key] = map[string]*cell{}
		for _, si := range s.servers {
			c := &cell{}
			for _, ch := range si.Checks {
				if ch.File == f.Key {
					c.Check = ch
				}
			}
			var rps, tr, srv, cli []float64
			var p99 []time.Duration
			var rss []int64
			for _, r := range res.Runs {
				if r.Server != si.Name || r.File != f.Key {
					continue
				}
				if r.Problem != "" {
					c.Problems = append(c.Problems, fmt.Sprintf("round %d: %s", r.Round, r.Problem))
				}
				if r.Wrk.Requests == 0 {
					continue
				}
				c.Runs++
				rps = append(rps, r.Wrk.RequestsSec)
				tr = append(tr, r.Wrk.TransferSec)
				p99 = append(p99, r.Wrk.P99)
				rss = append(rss, r.PeakRSS)
				if r.Wrk.Duration > 0 {
					srv = append(srv, r.ServerCPU.Seconds()/r.Wrk.Duration.Seconds())
					cli = append(cli, r.ClientCPU.Seconds()/r.Wrk.Duration.Seconds())
				}
			}
			c.ReqSec, c.Transfer, c.P99, c.PeakRSS = median(rps), median(tr), median(p99), median(rss)
			c.ServerCPU, c.ClientCPU = median(srv), median(cli)
			s.cells[f.Key][si.Name] = c
		}
	}
	for _, b := range []string{nameNginx, nameSeed, nameSmol} {
		if s.has(b) {
			s.baseline = b
			break
		}
	}
	s.summarizeFixed()
	s.targets = computeTargets(s)
	return s
}

func (s *summary) has(server string) bool {
	return slices.ContainsFunc(s.servers, func(si serverInfo) bool { return si.Name == server })
}

func (s *summary) server(name string) *serverInfo {
	for i := range s.servers {
		if s.servers[i].Name == name {
			return &s.servers[i]
		}
	}
	return nil
}

// chartValue is the figure a file is compared on: transfer rate for the
// large file (its target is stated that way), requests/s otherwise.
func chartValue(fileKey string, c *cell) float64 {
	if fileKey == "10m" {
		return c.Transfer
	}
	return c.ReqSec
}

// ratio returns a/b of the compared figure, or NaN when either is missing.
func (s *summary) ratio(file, server, base string) float64 {
	a, b := s.cell(file, server), s.cell(file, base)
	if a == nil || b == nil || a.Runs == 0 || b.Runs == 0 || chartValue(file, b) == 0 {
		return math.NaN()
	}
	return chartValue(file, a) / chartValue(file, b)
}

// Target verdicts.
const (
	statusPass = "PASS"
	statusFail = "FAIL"
	statusSkip = "SKIP"
)

type targetResult struct {
	Name   string
	Want   string
	Got    string
	Status string
}

// computeTargets checks gohttp-smol against its targets in BENCHMARKS.md.
func computeTargets(s *summary) []targetResult {
	var out []targetResult
	ratioTarget := func(name, file, base string, min float64) {
		t := targetResult{Name: name, Want: fmt.Sprintf("≥ %.1fx %s", min, base)}
		smol, other := s.cell(file, nameSmol), s.cell(file, base)
		r := s.ratio(file, nameSmol, base)
		switch {
		case smol == nil || other == nil || math.IsNaN(r):
			t.Status, t.Got = statusSkip, "not measured (server missing or no completed run)"
		default:
			t.Got = fmt.Sprintf("%.2fx (%s vs %s)", r, fmtValue(file, chartValue(file, smol)), fmtValue(file, chartValue(file, other)))
			if smol.ServerCPU > 0 && other.ServerCPU > 0 {
				// Shown, not judged: on a shared machine the share of its
				// core each server got varies, and this cancels it out.
				t.Got += fmt.Sprintf("; per server CPU-second %.2fx", r*other.ServerCPU/smol.ServerCPU)
			}
			t.Status = verdict(r >= min)
			if p := smol.Check.Problem; p != "" {
				t.Status, t.Got = statusFail, t.Got+"; gohttp-smol served the wrong response: "+p
			} else if file == "100k-gz" && smol.Check.ContentEncoding != "gzip" {
				t.Status, t.Got = statusFail, t.Got+"; gohttp-smol did not send gzip"
			}
		}
		out = append(out, t)
	}
	ratioTarget("1 KiB HTML req/s", "1k", nameNginx, 0.8)
	ratioTarget("1 KiB HTML req/s", "1k", nameSeed, 2.5)
	ratioTarget("100 KiB JS gzip req/s", "100k-gz", nameNginx, 1.0)
	ratioTarget("10 MiB transfer rate", "10m", nameNginx, 0.9)

	// Against lighttpd, the leanest peer, by server CPU: per server
	// CPU-second at saturation, and CPU per request at a fixed rate.
	{
		t := targetResult{Name: "1 KiB HTML per server CPU-second", Want: "≥ 1.0x lighttpd", Status: statusSkip, Got: "not measured"}
		a, b := s.cell("1k", nameSmol), s.cell("1k", nameLighttpd)
		if a != nil && b != nil && a.Runs > 0 && b.Runs > 0 && a.ServerCPU > 0 && b.ServerCPU > 0 {
			pa, pb := a.ReqSec/a.ServerCPU, b.ReqSec/b.ServerCPU
			t.Got = fmt.Sprintf("%.2fx (%s vs %s req)", pa/pb, fmtCount(pa), fmtCount(pb))
			t.Status = verdict(pa/pb >= 1.0)
			if b.ClientCPU > 0.9 || a.ClientCPU > 0.9 {
				t.Got += fmt.Sprintf("; wrk's core %.0f%% / %.0f%% busy: client-bound, see the fixed-rate figure", 100*a.ClientCPU, 100*b.ClientCPU)
			}
		}
		out = append(out, t)
	}
	if fx := s.res.Settings.Fixed; fx != nil {
		rate := slices.Max(fx.Rates)
		t := targetResult{Name: fmt.Sprintf("server CPU per 1 KiB request at %s req/s", fmtCount(float64(rate))), Want: "≤ 1.15x lighttpd",
			Status: statusSkip, Got: "not measured"}
		a, b := s.fixed[rate][nameSmol], s.fixed[rate][nameLighttpd]
		if r := s.fixedRatio(rate, nameSmol, nameLighttpd); !math.IsNaN(r) {
			t.Got = fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", r, a.CPUPerReq, b.CPUPerReq)
			t.Status = verdict(r <= 1.15)
			if !a.sustained(rate) || !b.sustained(rate) {
				t.Got += "; the rate was not sustained (see the table)"
				t.Status = statusFail
			}
		}
		out = append(out, t)
	}

	smol := s.server(nameSmol)
	limit := func(name, want string, ok func(*serverInfo) (string, bool)) {
		t := targetResult{Name: name, Want: want, Status: statusSkip, Got: "not measured"}
		if smol != nil {
			if got, ok2 := ok(smol); got != "" {
				t.Got, t.Status = got, verdict(ok2)
			}
		}
		out = append(out, t)
	}
	limit("idle RSS, default site", "≤ 10 MiB", func(si *serverInfo) (string, bool) {
		if si.DefaultSite == nil || si.DefaultSite.IdleRSS == 0 {
			return "", false
		}
		return fmtBytes(float64(si.DefaultSite.IdleRSS)), si.DefaultSite.IdleRSS <= 10<<20
	})
	limit("start-up to first 200 (bench docroot)", "≤ 20 ms", func(si *serverInfo) (string, bool) {
		if len(si.Startup) == 0 {
			return "", false
		}
		m := median(si.Startup)
		return fmtDuration(m) + " median", m <= 20*time.Millisecond
	})
	limit("binary size", "≤ 8 MiB", func(si *serverInfo) (string, bool) {
		return fmtBytes(float64(si.BinaryBytes)), si.BinaryBytes <= 8<<20
	})
	return out
}

func verdict(ok bool) string {
	if ok {
		return statusPass
	}
	return statusFail
}

// --- Markdown ---

type mdView struct {
	Date, Command, Chart string
	Preliminary          string
	Method               []string
	Targets              []targetResult
	Files                []mdFile
	Servers              [][]string
	Fixed                *mdFile
	Notes                []string
}

type mdFile struct {
	Title string
	Rows  [][]string
}

var markdownTmpl = template.Must(template.New("md").Parse(`` + beginMarker + `
## Server benchmark

{{if .Preliminary}}> **Preliminary:** {{.Preliminary}}

{{end -}}
Reproduce with ` + "`make bench`" + `: it builds gohttp-smol as smol does and the seed server, then runs
` + "`{{.Command}}`" + `. This run: {{.Date}}.

{{range .Method}}- {{.}}
{{end}}
![Throughput relative to nginx]({{.Chart}})

### Targets (gohttp-smol)

| target | wanted | measured | result |
|---|---|---|---|
{{range .Targets}}| {{.Name}} | {{.Want}} | {{.Got}} | **{{.Status}}** |
{{end}}
{{range .Files}}### {{.Title}}

| server | req/s | p99 latency | transfer/s | RSS under load | server CPU | per CPU-second | vs nginx | vs seed | response |
|---|--:|--:|--:|--:|--:|--:|--:|--:|---|
{{range .Rows}}|{{range .}} {{.}} |{{end}}
{{end}}
{{end}}{{with .Fixed}}### {{.Title}}

| server | asked | completed | server CPU per request | spread (min–max) | vs lighttpd | vs nginx | p99 from due time | sent late | client CPU |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
{{range .Rows}}|{{range .}} {{.}} |{{end}}
{{end}}
{{end}}### Per server

| server | version | idle RSS | RSS after load | start-up to first 200 (median) | binary | processes | gzip set-up for app.js |
|---|---|--:|--:|--:|--:|--:|---|
{{range .Servers}}|{{range .}} {{.}} |{{end}}
{{end}}
{{- if .Notes}}
Notes:
{{range .Notes}}
- {{.}}{{end}}
{{end}}
` + endMarker + `
`))

// renderMarkdown returns the BENCHMARKS.md section, markers included.
// chartPath is the SVG's path relative to BENCHMARKS.md.
func renderMarkdown(s *summary, chartPath string) ([]byte, error) {
	res := s.res
	st := res.Settings
	v := mdView{Date: res.Date.Format("2006-01-02 15:04 UTC"), Command: res.Command, Chart: chartPath, Targets: s.targets}

	m := res.Machine
	v.Method = append(v.Method, fmt.Sprintf("Machine: %d CPUs (%s), Linux %s, %s; shared with other work: load average %s at the start, %s at the end.",
		m.NProc, m.CPUModel, m.Kernel, m.GoVersion, m.LoadAvg, m.LoadAvgEnd))
	var peers []string
	for _, si := range s.servers {
		p := displayName(si.Name) + " " + si.Version
		if si.PackageVersion != "" {
			p += fmt.Sprintf(" (Debian %s %s)", si.Package, si.PackageVersion)
		}
		peers = append(peers, p)
	}
	v.Method = append(v.Method, "Versions: "+strings.Join(append(peers, m.Wrk), "; ")+".")
	v.Method = append(v.Method, fmt.Sprintf("Load: `wrk -t%d -c%d -d%s --latency` on loopback, identical for every server; %d interleaved rounds "+
		"(each round runs every file on every server, the server order rotated by one each round), after a %v warm-up per server and file. "+
		"Tables show the median of the rounds; ratios are of those medians, from this run only.",
		st.Wrk.Threads, st.Wrk.Connections, wrkSeconds(st.Wrk.Duration), st.Rounds, st.Warmup))
	cpus := "CPUs: nothing pinned; servers, wrk and the harness share all CPUs."
	if st.ServerCPUs != "" {
		cpus = fmt.Sprintf("CPUs: every server is pinned to CPU %s, wrk and the harness to CPU %s (taskset), so each server has the same "+
			"single core and never competes with the load generator. The Go servers take GOMAXPROCS from that mask.", st.ServerCPUs, st.ClientCPUs)
		if ng := s.server(nameNginx); ng != nil && ng.Procs > 1 {
			cpus += fmt.Sprintf(" nginx's `worker_processes auto` counts online CPUs, not the mask: its %d workers share the core.", ng.Procs-1)
		}
		cpus += " \"server CPU\" is the share of that core the server used; well under 100% on the small files means another process held it."
	}
	v.Method = append(v.Method, cpus, "Logging: "+st.Logging+".")
	var gz []string
	for _, si := range s.servers {
		gz = append(gz, displayName(si.Name)+": "+si.Gzip)
	}
	v.Method = append(v.Method, "Compression: only app.js is requested with `Accept-Encoding: gzip`, and the docroot holds app.js.gz (gzip -9). "+strings.Join(gz, "; ")+".")
	v.Method = append(v.Method, fmt.Sprintf("Memory: VmRSS summed over the server's process tree (nginx's master and workers), sampled every %v under load (the peak, "+
		"median over rounds), %v after start (idle) and %v after the last round.", rssSampleEvery, settleIdle, settleIdle))
	v.Method = append(v.Method, fmt.Sprintf("Start-up: from spawning the process (through taskset when pinned) to the first 200 for GET /hello.html on a fresh "+
		"connection, polled every %v; median of %d starts, servers rotated. gohttp-smol is also started with no directory (its embedded default site).",
		pollInterval, st.StartupRuns))
	v.Method = append(v.Method, "Binary: gohttp-smol and the seed server built with `CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags \"-s -w -buildid=\"`; "+
		"for the others the size of the executable alone (nginx and lighttpd also load shared libraries, lighttpd its modules).")

	contended := 0
	for _, f := range s.files {
		title := fmt.Sprintf("%s (`GET %s`, %s", f.Label, f.Path(), fmtBytes(float64(f.Size)))
		if f.Gzip {
			title += fmt.Sprintf(", `Accept-Encoding: gzip`, .gz sibling %s", fmtBytes(float64(f.GzipSize)))
		}
		mf := mdFile{Title: title + ")"}
		for _, si := range s.servers {
			c := s.cell(f.Key, si.Name)
			row := []string{displayName(si.Name)}
			if c.Runs == 0 {
				row = append(row, "—", "—", "—", "—", "—", "—", "—", "—")
			} else {
				perCPU := "—"
				if c.ServerCPU > 0 {
					perCPU = strings.TrimSuffix(fmtValue(f.Key, chartValue(f.Key, c)/c.ServerCPU), "/s")
				}
				row = append(row, fmtCount(c.ReqSec), fmtDuration(c.P99), fmtBytes(c.Transfer)+"/s", fmtBytes(float64(c.PeakRSS)),
					fmt.Sprintf("%.0f%%", 100*c.ServerCPU), perCPU,
					fmtRatio(s.ratio(f.Key, si.Name, nameNginx)), fmtRatio(s.ratio(f.Key, si.Name, nameSeed)))
			}
			row = append(row, describeResponse(f, c.Check))
			mf.Rows = append(mf.Rows, row)
			for _, p := range c.Problems {
				v.Notes = append(v.Notes, fmt.Sprintf("%s, %s: %s", displayName(si.Name), f.Label, p))
			}
			if c.Runs > 0 && f.Key != "10m" && c.ServerCPU < 0.5 && c.ClientCPU < 0.5 {
				contended++
			}
			if c.Runs > 0 && c.ClientCPU > 0.9 {
				v.Notes = append(v.Notes, fmt.Sprintf("%s, %s: wrk used %.0f%% of its core, so the client may have been the limit.",
					displayName(si.Name), f.Label, 100*c.ClientCPU))
			}
		}
		v.Files = append(v.Files, mf)
	}
	if fx := st.Fixed; fx != nil {
		v.Method = append(v.Method, fmt.Sprintf("Fixed rate: `GET /hello.html` (1 KiB) at each of %s req/s for %v over %d keep-alive connections, from the harness's own "+
			"open-loop generator (bench/fixedrate.go: request k is due at k/rate, dealt to the connections in turn, paced with nanosleep(2)); %d interleaved rounds, "+
			"server order rotated. Server CPU per request is the server's CPU time over the run divided by the requests completed; median of the rounds, "+
			"spread over them. A server that completed under 97%% of the rate asked did not sustain it, and its figure is marked.",
			joinInts(fx.Rates), fx.Duration, fx.Connections, fx.Rounds))
		mf := &mdFile{Title: "Fixed rate: server CPU per request (`GET /hello.html`, 1 KiB)"}
		for _, rate := range fx.Rates {
			for _, si := range s.servers {
				c := s.fixed[rate][si.Name]
				row := []string{displayName(si.Name), fmtCount(float64(rate)) + "/s"}
				if c == nil || c.Runs == 0 {
					row = append(row, "—", "—", "—", "—", "—", "—", "—", "—")
				} else {
					per := fmt.Sprintf("%.1f µs", c.CPUPerReq)
					if !c.sustained(rate) {
						per += " (not sustained)"
					}
					row = append(row, fmtCount(c.Done)+"/s", per, fmt.Sprintf("%.1f–%.1f µs", c.Min, c.Max),
						fmtRatio(s.fixedRatio(rate, si.Name, nameLighttpd)), fmtRatio(s.fixedRatio(rate, si.Name, nameNginx)),
						fmtDuration(c.P99), fmt.Sprintf("%.1f%%", 100*c.Late), fmt.Sprintf("%.0f%%", 100*c.ClientCPU))
					if !c.sustained(rate) && c.ClientCPU > 0.9 {
						v.Notes = append(v.Notes, fmt.Sprintf("%s at %s req/s: the generator used %.0f%% of its core, so the client may have been the limit.",
							displayName(si.Name), fmtCount(float64(rate)), 100*c.ClientCPU))
					}
				}
				for _, p := range c.Problems {
					v.Notes = append(v.Notes, fmt.Sprintf("%s, fixed %s req/s: %s", displayName(si.Name), fmtCount(float64(rate)), p))
				}
				mf.Rows = append(mf.Rows, row)
			}
		}
		v.Fixed = mf
	}
	if contended > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("In %d of the small-file results neither the server nor wrk used half of its core (medians): "+
			"other work on the shared machine held the CPUs, so absolute rates are low and ratios noisy; the per CPU-second figures "+
			"(rate divided by the server's CPU use) are the steadier comparison there.", contended))
	}
	for _, si := range s.servers {
		startup := fmtDuration(median(si.Startup))
		idle := fmtBytes(float64(si.IdleRSS))
		if d := si.DefaultSite; d != nil {
			startup += fmt.Sprintf(" (default site %s)", fmtDuration(median(d.Startup)))
			idle += fmt.Sprintf(" (default site %s)", fmtBytes(float64(d.IdleRSS)))
		}
		v.Servers = append(v.Servers, []string{displayName(si.Name), si.Version, idle,
			fmtBytes(float64(si.AfterLoadRSS)), startup, fmtBytes(float64(si.BinaryBytes)), strconv.Itoa(si.Procs), si.Gzip})
	}
	for _, sk := range res.Skipped {
		v.Notes = append(v.Notes, "skipped: "+sk)
	}
	if smol := s.server(nameSmol); smol != nil {
		var wrong []string
		for _, c := range smol.Checks {
			if c.Problem != "" {
				wrong = append(wrong, c.File+": "+c.Problem)
			}
		}
		if len(wrong) > 0 {
			v.Preliminary = "gohttp-smol did not serve the benchmark files correctly (" + strings.Join(wrong, "; ") +
				"), so its figures measure something else (a placeholder build?). Rerun `make bench` once the server serves files."
		}
	}
	var buf bytes.Buffer
	if err := markdownTmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("render markdown: %w", err)
	}
	return buf.Bytes(), nil
}

// joinInts formats rates as "5,000 and 40,000".
func joinInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, fmtCount(float64(x)))
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// describeResponse says what the server sent for f in the check.
func describeResponse(f benchFile, c check) string {
	switch {
	case c.Problem != "":
		return "✗ " + c.Problem
	case c.ContentEncoding == "gzip" && c.Sibling:
		return fmt.Sprintf("gzip %s (the .gz sibling)", fmtBytes(float64(c.WireBytes)))
	case c.ContentEncoding == "gzip":
		return fmt.Sprintf("gzip %s (own compression)", fmtBytes(float64(c.WireBytes)))
	case f.Gzip:
		return fmt.Sprintf("identity %s (not compressed)", fmtBytes(float64(c.WireBytes)))
	}
	return "identity"
}

func displayName(name string) string {
	switch name {
	case nameCaddy:
		return "Caddy"
	case nameSeed:
		return "seed (http.FileServer)"
	}
	return name
}

// --- SVG chart ---

type svgView struct {
	Width, Height int
	Title         string
	Subtitle      string
	PlotTop       float64
	PlotBottom    float64
	PlotLeft      float64
	PlotRight     float64
	Grid          []svgGrid
	Bars          []svgBar
	Groups        []svgGroup
	Legend        []svgLegend
	TargetLines   []svgTarget
}

type svgGrid struct {
	Y     float64
	Label string
	Base  bool
}

type svgBar struct {
	X, Y, W, H float64
	Color      string
	Label      string
	Title      string
	Invalid    bool // the server failed the content check: drawn faded
}

type svgGroup struct {
	X           float64
	Label, Note string
}

type svgLegend struct {
	Y     float64
	Color string
	Line  bool
	Name  string
}

type svgTarget struct {
	X1, X2, Y float64
	Label     string
}

var serverColors = map[string]string{
	nameSmol: "#0b7285", nameNginx: "#2b8a3e", nameCaddy: "#5f3dc4", nameLighttpd: "#e67700", nameSeed: "#868e96",
}

var svgTmpl = template.Must(template.New("svg").Funcs(template.FuncMap{
	"esc":  template.HTMLEscapeString,
	"f":    func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"half": func(v float64) float64 { return v / 2 },
	"add":  func(a, b float64) float64 { return a + b },
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{{f .PlotLeft}}" y="20" font-size="15" font-weight="bold">{{esc .Title}}</text>
<text x="{{f .PlotLeft}}" y="37" fill="#495057">{{esc .Subtitle}}</text>
{{range .Grid}}<line x1="{{f $.PlotLeft}}" x2="{{f $.PlotRight}}" y1="{{f .Y}}" y2="{{f .Y}}" stroke="{{if .Base}}#212529{{else}}#dee2e6{{end}}"{{if .Base}} stroke-dasharray="5,3"{{end}}/>
<text x="{{f $.PlotLeft}}" dx="-6" y="{{f .Y}}" dy="4" text-anchor="end" fill="#495057">{{esc .Label}}</text>
{{end}}{{range .Bars}}<rect x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" fill="{{.Color}}"{{if .Invalid}} fill-opacity="0.35"{{end}}><title>{{esc .Title}}</title></rect>
<text x="{{f .X}}" dx="{{f (half .W)}}" y="{{f .Y}}" dy="-4" text-anchor="middle" font-size="11">{{esc .Label}}</text>
{{end}}{{range .TargetLines}}<line x1="{{f .X1}}" x2="{{f .X2}}" y1="{{f .Y}}" y2="{{f .Y}}" stroke="#c92a2a" stroke-width="2"><title>{{esc .Label}}</title></line>
{{end}}<line x1="{{f .PlotLeft}}" x2="{{f .PlotRight}}" y1="{{f .PlotBottom}}" y2="{{f .PlotBottom}}" stroke="#212529"/>
{{range .Groups}}<text x="{{f .X}}" y="{{f $.PlotBottom}}" dy="18" text-anchor="middle" font-weight="bold">{{esc .Label}}</text>
<text x="{{f .X}}" y="{{f $.PlotBottom}}" dy="34" text-anchor="middle" fill="#495057" font-size="11">{{esc .Note}}</text>
{{end}}{{range .Legend}}{{if .Line}}<line x1="{{f (add $.PlotRight 20)}}" x2="{{f (add $.PlotRight 32)}}" y1="{{f (add .Y 6)}}" y2="{{f (add .Y 6)}}" stroke="{{.Color}}" stroke-width="2"/>
{{else if .Color}}<rect x="{{f (add $.PlotRight 20)}}" y="{{f .Y}}" width="12" height="12" fill="{{.Color}}"/>
{{end}}<text x="{{f (add $.PlotRight 38)}}" y="{{f .Y}}" dy="10">{{esc .Name}}</text>
{{end}}</svg>
`))

// renderSVG draws, per file, each server's figure relative to the baseline
// (nginx when it ran), with gohttp-smol's targets marked.
func renderSVG(s *summary) ([]byte, error) {
	v := svgView{Width: 820, Height: 400, PlotLeft: 56, PlotTop: 60, PlotBottom: 340}
	v.PlotRight = float64(v.Width) - 170
	base := s.baseline
	v.Title = "Throughput relative to " + displayName(base) + " (same run; higher is better)"
	v.Subtitle = fmt.Sprintf("req/s (10 MiB: transfer rate), median of %d rounds, wrk -t%d -c%d -d%s, %s",
		s.res.Settings.Rounds, s.res.Settings.Wrk.Threads, s.res.Settings.Wrk.Connections, wrkSeconds(s.res.Settings.Wrk.Duration),
		s.res.Date.Format("2006-01-02"))

	maxRatio := 1.0
	for _, f := range s.files {
		for _, si := range s.servers {
			if r := s.ratio(f.Key, si.Name, base); !math.IsNaN(r) && r > maxRatio {
				maxRatio = r
			}
		}
	}
	top := math.Ceil(maxRatio*1.1/0.5) * 0.5
	y := func(r float64) float64 { return v.PlotBottom - (v.PlotBottom-v.PlotTop)*r/top }
	for g := 0.0; g <= top+1e-9; g += 0.5 {
		v.Grid = append(v.Grid, svgGrid{Y: y(g), Label: strconv.FormatFloat(g, 'f', 1, 64) + "x", Base: g == 1})
	}

	groupW := (v.PlotRight - v.PlotLeft) / float64(len(s.files))
	barW := math.Min(40, groupW*0.8/float64(max(1, len(s.servers))))
	targets := map[string]float64{}
	if base == nameNginx {
		targets = map[string]float64{"1k": 0.8, "100k-gz": 1.0, "10m": 0.9}
	}
	for gi, f := range s.files {
		cx := v.PlotLeft + groupW*(float64(gi)+0.5)
		x0 := cx - barW*float64(len(s.servers))/2
		note := ""
		if bc := s.cell(f.Key, base); bc != nil && bc.Runs > 0 {
			note = displayName(base) + " " + fmtValue(f.Key, chartValue(f.Key, bc))
		}
		v.Groups = append(v.Groups, svgGroup{X: cx, Label: f.Label, Note: note})
		for si, srv := range s.servers {
			r := s.ratio(f.Key, srv.Name, base)
			x := x0 + barW*float64(si)
			if math.IsNaN(r) {
				continue
			}
			c := s.cell(f.Key, srv.Name)
			label := fmt.Sprintf("%.2f", r)
			if c.Check.Problem != "" {
				label += "✗"
			}
			v.Bars = append(v.Bars, svgBar{X: x + 1, Y: y(r), W: barW - 2, H: v.PlotBottom - y(r), Color: serverColors[srv.Name],
				Invalid: c.Check.Problem != "", Label: label, Title: fmt.Sprintf("%s, %s: %s", displayName(srv.Name), f.Label, fmtValue(f.Key, chartValue(f.Key, c)))})
			if t, ok := targets[f.Key]; ok && srv.Name == nameSmol {
				v.TargetLines = append(v.TargetLines, svgTarget{X1: x - 2, X2: x + barW + 2, Y: y(t), Label: fmt.Sprintf("target %.1fx", t)})
			}
		}
	}
	for _, srv := range s.servers {
		v.Legend = append(v.Legend, svgLegend{Color: serverColors[srv.Name], Name: displayName(srv.Name)})
	}
	if len(v.TargetLines) > 0 {
		v.Legend = append(v.Legend, svgLegend{Color: "#c92a2a", Line: true, Name: "gohttp-smol target"})
	}
	if slices.ContainsFunc(v.Bars, func(b svgBar) bool { return b.Invalid }) {
		v.Legend = append(v.Legend, svgLegend{Name: "✗ wrong content"})
	}
	for i := range v.Legend {
		v.Legend[i].Y = v.PlotTop + float64(i)*20
	}
	var buf bytes.Buffer
	if err := svgTmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	return buf.Bytes(), nil
}

// --- writing ---

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, so a failure never leaves a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeReport renders the chart and the Markdown section and puts them in
// place: the chart first, so the section never points at a missing file.
func writeReport(s *summary, markdownPath, svgPath string) error {
	svg, err := renderSVG(s)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(markdownPath), svgPath)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	text, err := renderMarkdown(s, filepath.ToSlash(rel))
	if err != nil {
		return err
	}
	old, err := os.ReadFile(markdownPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write report: %w", err)
	}
	doc, err := benchdoc.Replace(old, section, text)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(svgPath, svg); err != nil {
		return err
	}
	return writeFileAtomic(markdownPath, doc)
}

// --- numbers ---

// median returns the middle value (the mean of the two middle ones for an
// even count), or zero for none.
func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtValue(fileKey string, v float64) string {
	if fileKey == "10m" {
		return fmtBytes(v) + "/s"
	}
	return fmtCount(v) + " req/s"
}

// fmtCount formats v rounded to an integer with thousands separators.
func fmtCount(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fmtBytes formats a byte count (or rate) in 1024-based units.
func fmtBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	prec := 1
	if v >= 100 {
		prec = 0
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + units[i]
}

// fmtDuration formats d with three significant digits in µs, ms or s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', sigDigits(float64(d)/float64(time.Millisecond)), 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

func sigDigits(v float64) int {
	switch {
	case v < 10:
		return 2
	case v < 100:
		return 1
	}
	return 0
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) {
		return "—"
	}
	return fmt.Sprintf("%.2fx", r)
}
