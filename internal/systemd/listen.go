package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// listenFDsStart is SD_LISTEN_FDS_START: passed descriptors are numbered
// from 3 on, in order.
const listenFDsStart = 3

// A Socket is one descriptor passed by the service manager.
type Socket struct {
	FD int
	// Name is the socket unit's FileDescriptorName=, from LISTEN_FDNAMES;
	// "unknown" when the manager gave no names, as sd_listen_fds_with_names
	// reports it.
	Name string
}

// ParseListenEnv returns the sockets that LISTEN_FDS and LISTEN_FDNAMES
// describe, looked up through lookup. As sd_listen_fds(3) specifies, they are
// meant for this process only when LISTEN_PID equals pid: otherwise (the
// variables were inherited from a parent that was activated) there are none.
// An unset LISTEN_FDS means none too. Malformed values are an error, and so
// is a LISTEN_FDNAMES whose count differs from LISTEN_FDS.
func ParseListenEnv(lookup func(string) (string, bool), pid int) ([]Socket, error) {
	fds, ok := lookup("LISTEN_FDS")
	if !ok {
		return nil, nil
	}
	pidStr, _ := lookup("LISTEN_PID")
	if p, err := strconv.Atoi(pidStr); err != nil || p != pid {
		return nil, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 || n > 1<<16 {
		return nil, fmt.Errorf("systemd: LISTEN_FDS=%q: want a small count of descriptors", fds)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = "unknown"
	}
	if v, ok := lookup("LISTEN_FDNAMES"); ok && n > 0 {
		given := strings.Split(v, ":")
		if len(given) != n {
			return nil, fmt.Errorf("systemd: LISTEN_FDNAMES=%q names %d sockets, LISTEN_FDS=%d", v, len(given), n)
		}
		copy(names, given)
	}
	socks := make([]Socket, n)
	for i := range socks {
		socks[i] = Socket{FD: listenFDsStart + i, Name: names[i]}
	}
	return socks, nil
}

// A Listener is a passed listening socket and its name.
type Listener struct {
	net.Listener
	Name string
}

// Listeners returns the stream sockets passed to this process, in order,
// and unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that no child
// process takes them for its own. The descriptors are marked close-on-exec.
// Without socket activation it returns nil, nil. A passed descriptor that
// is not a listening stream socket is an error: it means the socket unit
// and the service disagree, and serving half of what was meant is worse
// than not starting.
func Listeners() ([]Listener, error) {
	socks, err := ParseListenEnv(os.LookupEnv, os.Getpid())
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if err != nil {
		return nil, err
	}
	var ls []Listener
	for _, s := range socks {
		closeOnExec(s.FD)
		f := os.NewFile(uintptr(s.FD), s.Name)
		l, err := net.FileListener(f) // a dup; f's own descriptor is closed below
		f.Close()
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("systemd: passed socket %d (%s): %w", s.FD, s.Name, errors.Unwrap(err))
		}
		ls = append(ls, Listener{Listener: l, Name: s.Name})
	}
	return ls, nil
}
