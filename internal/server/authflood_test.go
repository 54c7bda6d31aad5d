package server

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/config"
	"github.com/gohttp-smol/gohttp-smol/internal/h1"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkAuthFlood measures the CPU a server spends on one connection
// that pipelines 57 requests with wrong passwords in one 4 KB write and
// closes at once, on each serving path: net/http's, and h1's. It reports
// the process's CPU time (getrusage) per attack, the client's share being
// one write and one close. Run with
//
//	go test -run '^$' -bench AuthFlood -benchtime 5x ./internal/server
func BenchmarkAuthFlood(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("right"), 10) // htpasswd -B's default cost
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "htpasswd")
	if err := os.WriteFile(file, []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, guesses := range []string{"same", "distinct"} {
		for _, path := range []string{"net-http", "h1"} {
			b.Run(guesses+"/"+path, func(b *testing.B) {
				attack := floodRequests(57, guesses == "distinct")
				if len(attack) > 4096 {
					b.Fatalf("attack of %d bytes, want one 4 KB write", len(attack))
				}
				var cpu time.Duration
				for b.Loop() {
					cpu += floodOnce(b, file, path, attack)
				}
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "server-cpu-ms/attack")
			})
		}
	}
}

// floodRequests returns n pipelined GETs with wrong passwords, all the
// same or all different.
func floodRequests(n int, distinct bool) []byte {
	var sb strings.Builder
	for i := range n {
		guess := "guess"
		if distinct {
			guess = fmt.Sprint("g", i)
		}
		auth := base64.StdEncoding.EncodeToString([]byte("alice:" + guess))
		fmt.Fprintf(&sb, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic %s\r\n\r\n", auth)
	}
	return []byte(sb.String())
}

// floodOnce serves a fresh handler and password file (so that nothing is
// remembered from a previous attack), attacks it once, and returns the CPU
// time spent until the process is idle again.
func floodOnce(b *testing.B, file, path string, attack []byte) time.Duration {
	b.Helper()
	h := newHandler(b, &config.Config{Root: "/srv"})
	u, err := loadUsers(file)
	if err != nil {
		b.Fatal(err)
	}
	h.users.Store(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	var srv stopper = hs
	serve := hs.Serve
	if path == "h1" {
		fast := &h1.Server{HTTP: hs}
		srv, serve = fast, fast.Serve
	}
	go serve(l)
	defer srv.Close()

	before := cpuTime()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(attack); err != nil {
		b.Fatal(err)
	}
	c.Close()
	// Idle again once 100ms pass with under 2ms of CPU: a bcrypt run at
	// cost 10 takes some 50ms.
	last := cpuTime()
	for {
		time.Sleep(100 * time.Millisecond)
		now := cpuTime()
		if now-last < 2*time.Millisecond {
			return last - before
		}
		last = now
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
