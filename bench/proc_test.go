package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name     string
		stat     string
		wantPPID int
		wantCPU  time.Duration
		wantErr  string
	}{
		{
			name:     "plain",
			stat:     "4242 (nginx) S 4241 4242 4242 0 -1 4194560 178 0 0 0 12 34 0 0 20 0 1 0 100 11000000 300 18446744073709551615",
			wantPPID: 4241, wantCPU: 46 * clockTick,
		},
		{
			name:     "command with spaces and parentheses",
			stat:     "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 5 0 0 0 20 0 1 0 1 1 1",
			wantPPID: 1, wantCPU: 5 * clockTick,
		},
		{name: "truncated", stat: "7 (x) R 1 7 7", wantErr: "fields after the command name"},
		{name: "no command", stat: "7 x R 1", wantErr: "no command name"},
		{name: "bad utime", stat: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 zz 0", wantErr: "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ppid, cpu, err := parseStat([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStat error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ppid != tt.wantPPID || cpu != tt.wantCPU {
				t.Errorf("parseStat = %d, %v, %v; want %d, %v", ppid, cpu, err, tt.wantPPID, tt.wantCPU)
			}
		})
	}
}

// TestProcTree runs a real process tree (a shell and two children) and
// checks that the snapshot counts all three and sums their memory.
func TestProcTree(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & sleep 30 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The children are killed through the shell's process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	var s treeStats
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		s, err = procTree(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if s.Procs == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.Procs != 3 {
		t.Fatalf("procTree counted %d processes, want 3 (sh and two sleeps)", s.Procs)
	}
	self, err := readRSS(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= self {
		t.Errorf("tree RSS %d is not more than the shell's own %d: children not summed", s.RSS, self)
	}

	if _, err := procTree(1 << 30); err == nil {
		t.Error("procTree of a pid that does not exist succeeded")
	}
}

func TestReadRSSSelf(t *testing.T) {
	rss, err := readRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 || rss > 1<<32 {
		t.Errorf("own RSS %d bytes is implausible for a Go test binary", rss)
	}
	if _, err := parseKB("  12 MB"); err == nil {
		t.Error("parseKB accepted a value not in kB")
	}
}
