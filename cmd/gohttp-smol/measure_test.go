package main

// Figures the server tracks, as benchmarks (speed is never asserted in a
// test): run with
//
//	go test -run '^$' -bench . -benchtime 20x ./cmd/gohttp-smol

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup measures the time from starting the process to the
// first 200 response, with the default site, as the server benchmark
// does.
func BenchmarkStartup(b *testing.B) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var total time.Duration
	for b.Loop() {
		port := freePortB(b)
		start := time.Now()
		cmd := exec.Command(binary, "--addr", "127.0.0.1:"+port, "--log-format", "off")
		cmd.Env = cleanEnv()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := client.Get("http://127.0.0.1:" + port + "/")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(start) > 10*time.Second {
				cmd.Process.Kill()
				b.Fatal("no 200 within 10s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		total += time.Since(start)
		cmd.Process.Kill()
		cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-to-first-200")
}

// BenchmarkIdleRSS reports the resident memory of a server with the default
// site, a second after it answered its first requests.
func BenchmarkIdleRSS(b *testing.B) {
	var total int
	for b.Loop() {
		port := freePortB(b)
		// --metrics-path: the metrics are part of the idle footprint measured
		// before they left the main listener by default.
		cmd := exec.Command(binary, "--addr", "127.0.0.1:"+port, "--log-format", "off", "--metrics-path", "/metrics")
		cmd.Env = cleanEnv()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, path := range []string{"/", "/style.css", "/favicon.svg", "/healthz", "/metrics"} {
			for {
				resp, err := http.Get("http://127.0.0.1:" + port + path)
				if err == nil {
					resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					b.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(time.Second)
		total += vmRSS(b, cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
	}
	b.ReportMetric(float64(total)/float64(b.N)/1024, "MiB-RSS")
}

// BenchmarkBinarySize reports the size of the binary as TestMain built it,
// with smol's flags.
func BenchmarkBinarySize(b *testing.B) {
	fi, err := os.Stat(binary)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}

// vmRSS reads VmRSS, in KiB, from /proc/PID/status.
func vmRSS(b *testing.B, pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func freePortB(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
