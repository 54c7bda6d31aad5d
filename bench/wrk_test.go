package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The testdata/wrk-*.txt files are real output of wrk 4.1.0 (Debian 12),
// captured against bench/seedserver and two misbehaving sockets.
func TestParseWrk(t *testing.T) {
	tests := []struct {
		file    string
		want    wrkResult
		problem string
	}{
		{
			file: "wrk-1k.txt",
			want: wrkResult{
				Requests: 52300, Duration: time.Second, BytesRead: 5.19 * (1 << 20),
				RequestsSec: 52220.52, TransferSec: 5.18 * (1 << 20),
				LatencyAvg: 671930 * time.Nanosecond, LatencyMax: 8500 * time.Microsecond,
				P50: 577 * time.Microsecond, P90: 1200 * time.Microsecond, P99: 3300 * time.Microsecond,
			},
		},
		{
			file: "wrk-10m.txt",
			want: wrkResult{
				Requests: 144, Duration: 1090 * time.Millisecond, BytesRead: 1.43 * (1 << 30),
				RequestsSec: 132.30, TransferSec: 1.32 * (1 << 30),
				LatencyAvg: 175260 * time.Microsecond, LatencyMax: 345510 * time.Microsecond,
				P50: 169170 * time.Microsecond, P90: 277940 * time.Microsecond, P99: 341370 * time.Microsecond,
			},
		},
		{
			file: "wrk-404.txt",
			want: wrkResult{
				Requests: 44616, Duration: 1100 * time.Millisecond, BytesRead: 7.49 * (1 << 20),
				RequestsSec: 40573.94, TransferSec: 6.81 * (1 << 20),
				LatencyAvg: 810410 * time.Nanosecond, LatencyMax: 4360 * time.Microsecond,
				P50: 781 * time.Microsecond, P90: 1460 * time.Microsecond, P99: 2280 * time.Microsecond,
				Non2xx3xx: 44616,
			},
			problem: "44616 responses not 2xx/3xx",
		},
		{
			file:    "wrk-readerr.txt",
			want:    wrkResult{Duration: 1100 * time.Millisecond, ReadErrors: 16087},
			problem: "no request completed; 16087 socket errors (connect 0, read 16087, write 0, timeout 0)",
		},
		{
			file:    "wrk-stalled.txt",
			want:    wrkResult{Duration: 2 * time.Second},
			problem: "no request completed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseWrk(string(text))
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if !reflect.DeepEqual(roundResult(got), roundResult(tt.want)) {
				t.Errorf("parseWrk:\n got %+v\nwant %+v", got, tt.want)
			}
			if p := got.problem(); p != tt.problem {
				t.Errorf("problem() = %q, want %q", p, tt.problem)
			}
		})
	}
}

// roundResult drops float noise below a byte and a nanosecond, which the
// parser's unit arithmetic may introduce, before comparing.
func roundResult(r wrkResult) wrkResult {
	r.BytesRead = float64(int64(r.BytesRead + 0.5))
	r.TransferSec = float64(int64(r.TransferSec + 0.5))
	r.RequestsSec = float64(int64(r.RequestsSec*100+0.5)) / 100
	round := func(d *time.Duration) { *d = d.Round(10 * time.Nanosecond) }
	for _, d := range []*time.Duration{&r.Duration, &r.LatencyAvg, &r.LatencyMax, &r.P50, &r.P90, &r.P99} {
		round(d)
	}
	return r
}

func TestParseWrkRejects(t *testing.T) {
	refused, err := os.ReadFile(filepath.Join("testdata", "wrk-refused.txt"))
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join("testdata", "wrk-1k.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		wantErr string
		notWrk  bool
	}{
		{"connection refused", string(refused), `not a wrk report: "unable to connect to 127.0.0.1:18481 Connection refused"`, true},
		{"empty", "", "not a wrk report", true},
		{"no latency distribution", dropLines(string(full), "%"), "missing 99% latency (run with --latency)", false},
		{"no transfer line", dropLines(string(full), "Transfer/sec"), "missing Transfer/sec", false},
		{"bad unit", strings.Replace(string(full), "3.30ms", "3.30xs", 1), `line "     99%    3.30xs": bad time "3.30xs"`, false},
		{"bad bytes", strings.Replace(string(full), "5.18MB", "5.18MiB", 1), `bad byte count "5.18MiB"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseWrk(tt.text)
			if err == nil {
				t.Fatal("parseWrk succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if errors.Is(err, errNotWrk) != tt.notWrk {
				t.Errorf("errors.Is(err, errNotWrk) = %v, want %v", !tt.notWrk, tt.notWrk)
			}
		})
	}
}

func dropLines(text, substr string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.Contains(l, substr) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestParseWrkUnits(t *testing.T) {
	times := []struct {
		in   string
		want time.Duration
	}{
		{"0.00us", 0}, {"577.00us", 577 * time.Microsecond}, {"1.20ms", 1200 * time.Microsecond},
		{"2.00s", 2 * time.Second}, {"1.50m", 90 * time.Second}, {"1.00h", time.Hour},
	}
	for _, tt := range times {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWrkTime(tt.in)
			if err != nil || got.Round(time.Nanosecond) != tt.want {
				t.Errorf("parseWrkTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	bytes := []struct {
		in   string
		want float64
	}{
		{"0.00B", 0}, {"512.00B", 512}, {"1.50KB", 1536}, {"2.00MB", 2 << 20}, {"1.00GB", 1 << 30}, {"1.00TB", 1 << 40},
	}
	for _, tt := range bytes {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWrkBytes(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseWrkBytes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "B", "1.0", "-1B", "1.0XB", "ms", "1.0", "-2ms"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, errT := parseWrkTime(bad)
			_, errB := parseWrkBytes(bad)
			if errT == nil && errB == nil {
				t.Errorf("%q parsed as a time or a byte count", bad)
			}
		})
	}
}

func TestWrkArgs(t *testing.T) {
	s := wrkSettings{Threads: 1, Connections: 32, Duration: 5 * time.Second}
	got := wrkArgs("wrk", s, "http://127.0.0.1:1/app.js", []string{"Accept-Encoding: gzip"})
	want := []string{"wrk", "-t1", "-c32", "-d5s", "--latency", "-H", "Accept-Encoding: gzip", "http://127.0.0.1:1/app.js"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wrkArgs = %q, want %q", got, want)
	}
	for d, want := range map[time.Duration]string{0: "1s", 1400 * time.Millisecond: "1s", 1500 * time.Millisecond: "2s", 5 * time.Second: "5s"} {
		if got := wrkSeconds(d); got != want {
			t.Errorf("wrkSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}
