package main

// Running wrk and reading its report.
//
// wrk prints a human-readable summary; parseWrk reads the numbers back from
// it. The format is wrk 4.x's (src/wrk.c print_stats and units.c): times are
// printed with the units us, ms, s, m and h; byte counts and rates in 1024-based
// units with a trailing B (0.00B, 5.19MB, 1.43GB).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	Requests    int64         `json:"requests"`
	Duration    time.Duration `json:"duration_ns"`
	BytesRead   float64       `json:"bytes_read"`
	RequestsSec float64       `json:"requests_per_sec"`
	TransferSec float64       `json:"transfer_bytes_per_sec"`
	LatencyAvg  time.Duration `json:"latency_avg_ns"`
	LatencyMax  time.Duration `json:"latency_max_ns"`
	P50         time.Duration `json:"p50_ns"`
	P90         time.Duration `json:"p90_ns"`
	P99         time.Duration `json:"p99_ns"`
	// Socket errors, by kind, as wrk counts them.
	ConnectErrors int64 `json:"connect_errors"`
	ReadErrors    int64 `json:"read_errors"`
	WriteErrors   int64 `json:"write_errors"`
	Timeouts      int64 `json:"timeouts"`
	// Non2xx3xx counts responses whose status was neither 2xx nor 3xx.
	Non2xx3xx int64 `json:"non_2xx_3xx"`
}

// problem returns why the run cannot be trusted, or "" when it can: a run
// with errors or error statuses measured something other than serving the file.
func (r wrkResult) problem() string {
	var p []string
	if r.Requests == 0 {
		p = append(p, "no request completed")
	}
	if n := r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts; n > 0 {
		p = append(p, fmt.Sprintf("%d socket errors (connect %d, read %d, write %d, timeout %d)",
			n, r.ConnectErrors, r.ReadErrors, r.WriteErrors, r.Timeouts))
	}
	if r.Non2xx3xx > 0 {
		p = append(p, fmt.Sprintf("%d responses not 2xx/3xx", r.Non2xx3xx))
	}
	return strings.Join(p, "; ")
}

// wrkSettings are the load settings every server gets, identically.
type wrkSettings struct {
	Threads     int           `json:"threads"`
	Connections int           `json:"connections"`
	Duration    time.Duration `json:"duration_ns"`
}

// wrkArgs returns wrk's argument list for one run. headers are "Name: value".
// The first element is the program, so that the caller can prefix taskset.
func wrkArgs(wrk string, s wrkSettings, url string, headers []string) []string {
	args := []string{wrk,
		"-t" + strconv.Itoa(s.Threads),
		"-c" + strconv.Itoa(s.Connections),
		"-d" + wrkSeconds(s.Duration),
		"--latency",
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	return append(args, url)
}

// wrkSeconds formats d for wrk's time arguments, which take whole units only.
func wrkSeconds(d time.Duration) string {
	s := int64((d + time.Second/2) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10) + "s"
}

// runWrk runs wrk once (args from wrkArgs, optionally prefixed) and parses its
// report. It also returns the CPU time wrk used, which tells whether the load
// generator rather than the server was the bottleneck.
func runWrk(ctx context.Context, argv []string) (wrkResult, string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	var out, errOut strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	text := out.String()
	if err != nil {
		return wrkResult{}, text, cpu, fmt.Errorf("run wrk: %w: %s", err, strings.TrimSpace(errOut.String()+text))
	}
	r, err := parseWrk(text)
	return r, text, cpu, err
}

var (
	reRequests  = regexp.MustCompile(`^\s*(\d+) requests in (\S+), (\S+) read$`)
	reReqSec    = regexp.MustCompile(`^Requests/sec:\s+(\S+)$`)
	reTransfer  = regexp.MustCompile(`^Transfer/sec:\s+(\S+)$`)
	rePercent   = regexp.MustCompile(`^\s+(50|75|90|99)%\s+(\S+)$`)
	reLatency   = regexp.MustCompile(`^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$`)
	reSocketErr = regexp.MustCompile(`^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$`)
	reNon2xx    = regexp.MustCompile(`^\s+Non-2xx or 3xx responses: (\d+)$`)
)

// errNotWrk is returned for text that is not a wrk report at all.
var errNotWrk = errors.New("not a wrk report")

// parseWrk reads a report printed by `wrk --latency`. Requests, the
// requests/sec and transfer/sec lines and the 99th percentile are required;
// the rest is optional.
func parseWrk(text string) (wrkResult, error) {
	var r wrkResult
	var haveRequests, haveReqSec, haveTransfer, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \r")
		var err error
		switch {
		case reRequests.MatchString(line):
			m := reRequests.FindStringSubmatch(line)
			haveRequests = true
			if r.Requests, err = strconv.ParseInt(m[1], 10, 64); err != nil {
				break
			}
			if r.Duration, err = parseWrkTime(m[2]); err != nil {
				break
			}
			r.BytesRead, err = parseWrkBytes(m[3])
		case reReqSec.MatchString(line):
			haveReqSec = true
			r.RequestsSec, err = strconv.ParseFloat(reReqSec.FindStringSubmatch(line)[1], 64)
		case reTransfer.MatchString(line):
			haveTransfer = true
			r.TransferSec, err = parseWrkBytes(reTransfer.FindStringSubmatch(line)[1])
		case rePercent.MatchString(line):
			m := rePercent.FindStringSubmatch(line)
			var d time.Duration
			if d, err = parseWrkTime(m[2]); err != nil {
				break
			}
			switch m[1] {
			case "50":
				r.P50 = d
			case "90":
				r.P90 = d
			case "99":
				r.P99, haveP99 = d, true
			}
		case reLatency.MatchString(line):
			m := reLatency.FindStringSubmatch(line)
			if r.LatencyAvg, err = parseWrkTime(m[1]); err != nil {
				break
			}
			r.LatencyMax, err = parseWrkTime(m[3])
		case reSocketErr.MatchString(line):
			m := reSocketErr.FindStringSubmatch(line)
			for i, p := range []*int64{&r.ConnectErrors, &r.ReadErrors, &r.WriteErrors, &r.Timeouts} {
				if *p, err = strconv.ParseInt(m[i+1], 10, 64); err != nil {
					break
				}
			}
		case reNon2xx.MatchString(line):
			r.Non2xx3xx, err = strconv.ParseInt(reNon2xx.FindStringSubmatch(line)[1], 10, 64)
		}
		if err != nil {
			return wrkResult{}, fmt.Errorf("parse wrk report: line %q: %w", line, err)
		}
	}
	if !haveRequests && !haveReqSec {
		return wrkResult{}, fmt.Errorf("parse wrk report: %w: %q", errNotWrk, firstLine(text))
	}
	var missing []string
	for _, f := range []struct {
		ok   bool
		name string
	}{{haveRequests, "requests line"}, {haveReqSec, "Requests/sec"}, {haveTransfer, "Transfer/sec"}, {haveP99, "99% latency (run with --latency)"}} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return wrkResult{}, fmt.Errorf("parse wrk report: missing %s", strings.Join(missing, ", "))
	}
	return r, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// parseWrkTime parses wrk's time format: a decimal number and one of the
// units us, ms, s, m, h.
func parseWrkTime(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("bad time %q", s)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("bad time %q: no unit", s)
}

// parseWrkBytes parses wrk's byte format: a decimal number, an optional
// 1024-based prefix (K, M, G, T, P) and B.
func parseWrkBytes(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "B")
	if !ok {
		return 0, fmt.Errorf("bad byte count %q: no B suffix", s)
	}
	scale := 1.0
	if i := strings.IndexAny(num, "KMGTP"); i >= 0 && i == len(num)-1 {
		scale = float64(int64(1) << (10 * (1 + strings.IndexByte("KMGTP", num[i]))))
		num = num[:i]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return v * scale, nil
}
