package main

// Memory and CPU of a server, read from /proc (proc(5)).
//
// A server is a process tree: nginx is a master and its workers, the others
// one process. Every figure sums the whole tree, so nginx's workers count.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat. USER_HZ is 100
// on every Linux architecture Go supports (it is fixed by the kernel ABI,
// unlike CONFIG_HZ), so it is not read with sysconf.
const clockTick = 10 * time.Millisecond

// treeStats is a snapshot of a process tree.
type treeStats struct {
	Procs int           // processes in the tree, root included
	RSS   int64         // sum of VmRSS, bytes
	CPU   time.Duration // user+system time used so far, summed
}

// procTree returns the snapshot for root and all its descendants. A process
// that exits while being read is left out rather than failing the snapshot.
func procTree(root int) (treeStats, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return treeStats{}, fmt.Errorf("read /proc: %w", err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, _, err := readStat(pid)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], pid)
	}
	var s treeStats
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		_, cpu, err := readStat(pid)
		if err != nil {
			if pid == root {
				return treeStats{}, fmt.Errorf("read process %d: %w", root, err)
			}
			continue
		}
		rss, err := readRSS(pid)
		if err != nil {
			if pid == root {
				return treeStats{}, fmt.Errorf("read process %d: %w", root, err)
			}
			continue
		}
		s.Procs++
		s.RSS += rss
		s.CPU += cpu
		queue = append(queue, children[pid]...)
	}
	return s, nil
}

// readStat returns the parent pid and the user+system CPU time of pid.
func readStat(pid int) (ppid int, cpu time.Duration, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	return parseStat(b)
}

// parseStat reads /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (ppid int, cpu time.Duration, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("parse stat: %d fields after the command name, want at least 13", len(f))
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("parse stat: ppid: %w", err)
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse stat: utime: %w", err)
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse stat: stime: %w", err)
	}
	return ppid, time.Duration(utime+stime) * clockTick, nil
}

// readRSS returns VmRSS of pid in bytes. A zombie has no VmRSS line: 0.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return parseKB(v)
		}
	}
	return 0, sc.Err()
}

// parseKB parses the value of a /proc/PID/status memory line, "  1234 kB".
func parseKB(v string) (int64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(v), " kB")
	if !ok {
		return 0, fmt.Errorf("parse status: %q is not in kB", v)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse status: %w", err)
	}
	return n << 10, nil
}
