// Package owner names a process so that another process can later tell,
// safely, whether it still runs: smol marks its scratch directories and
// containers with the name of the smol process that made them, and a later
// smol removes only what belongs to a process that has certainly gone.
//
// A pid alone is not enough. Pids are reused, so the name includes the
// process's start time (field 22 of /proc/PID/stat, in clock ticks since
// boot). A pid means something only in one pid namespace of one running
// kernel, so the name includes a host identity: the kernel's boot id and the
// inode of the pid namespace. A smol in a CI container that shares the host's
// Docker daemon, or on another machine using the same daemon or the same
// NFS-mounted output directory, has another host identity, and its work is
// never judged from here.
//
// Only Linux has /proc; elsewhere Self fails and callers mark nothing.
package owner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ID names one process on one host.
type ID struct {
	Host  string // boot id and pid namespace, see package doc
	PID   int
	Start uint64 // start time, clock ticks after boot
}

// String is the form Parse reads: HOST/PID/START.
func (id ID) String() string {
	return fmt.Sprintf("%s/%d/%d", id.Host, id.PID, id.Start)
}

// Parse reads an ID written by String.
func Parse(s string) (ID, error) {
	host, rest, ok := strings.Cut(strings.TrimSpace(s), "/")
	pidText, startText, ok2 := strings.Cut(rest, "/")
	pid, err1 := strconv.Atoi(pidText)
	start, err2 := strconv.ParseUint(startText, 10, 64)
	if !ok || !ok2 || host == "" || err1 != nil || err2 != nil || pid <= 0 {
		return ID{}, fmt.Errorf("owner %q: want HOST/PID/START", s)
	}
	return ID{host, pid, start}, nil
}

// procRoot is /proc; tests point it elsewhere.
var procRoot = "/proc"

// Self returns the ID of the calling process.
func Self() (ID, error) {
	host, err := hostID()
	if err != nil {
		return ID{}, err
	}
	pid := os.Getpid()
	start, err := startTime(pid)
	if err != nil {
		return ID{}, err
	}
	return ID{host, pid, start}, nil
}

func hostID() (string, error) {
	boot, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("owner: boot id: %w", err)
	}
	ns, err := os.Readlink(procRoot + "/self/ns/pid")
	if err != nil {
		return "", fmt.Errorf("owner: pid namespace: %w", err)
	}
	// "pid:[4026531836]" -> "4026531836"
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	return strings.TrimSpace(string(boot)) + ":" + ns, nil
}

// startTime reads field 22 of /proc/PID/stat. The command name (field 2) is
// in parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("owner: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	const field = 22 - 3 // fields after ')' start at 3 (state)
	if len(f) <= field {
		return 0, fmt.Errorf("owner: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[field], 10, 64)
}

// Status is what can be known about the process an ID names.
type Status int

const (
	// Running: the process runs on this host.
	Running Status = iota
	// Gone: the process has exited on this host (its pid is free, or now
	// belongs to a process that started at another time).
	Gone
	// Elsewhere: the ID is from another host or pid namespace, or this
	// host's identity cannot be read; nothing can be known from here.
	Elsewhere
)

// Check says whether the process id names still runs.
func Check(id ID) Status {
	host, err := hostID()
	if err != nil || host != id.Host {
		return Elsewhere
	}
	start, err := startTime(id.PID)
	if errors.Is(err, os.ErrNotExist) {
		return Gone
	}
	if err != nil {
		// Unreadable for another reason (permissions, say): assume it
		// runs, since removing a live process's work is the worse mistake.
		return Running
	}
	if start != id.Start {
		return Gone
	}
	return Running
}
