package systemd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// A Notifier sends state changes to the service manager over the datagram
// socket named by NOTIFY_SOCKET (sd_notify(3)). A nil *Notifier is valid
// and ignores every call, so callers need not check whether they run under
// systemd.
type Notifier struct {
	addr *net.UnixAddr
}

// NewNotifier returns a Notifier for the socket at path, or nil when path is
// empty. A path starting with '@' is in the abstract namespace; Go's net
// package maps the '@' to the leading NUL byte the kernel expects.
func NewNotifier(path string) (*Notifier, error) {
	switch {
	case path == "":
		return nil, nil
	case path[0] != '/' && path[0] != '@':
		// vsock: addresses are for virtual machines, not services.
		return nil, fmt.Errorf("systemd: NOTIFY_SOCKET=%q: want an absolute path or an @abstract name", path)
	}
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}, nil
}

// Notify sends state, newline-separated VARIABLE=value assignments such as
// "READY=1". Each call uses its own socket, as sd_notify does, so that a
// manager that re-executed itself and bound the socket anew still hears it.
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("systemd: notify %q: %w", firstLine(state), err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("systemd: notify %q: %w", firstLine(state), err)
	}
	return nil
}

// Ready tells the manager that start-up, or a reload, is complete.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Stopping tells the manager that the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Reloading tells the manager that the service is reloading its
// configuration; [Notifier.Ready] must follow when it is done. The message
// carries MONOTONIC_USEC, which Type=notify-reload services must send so that
// the manager can tell this reload from an earlier one (systemd.service(5)).
func (n *Notifier) Reloading() error {
	if n == nil {
		return nil
	}
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("systemd: notify RELOADING=1: %w", err)
	}
	return n.Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10))
}

// WatchdogInterval returns the watchdog period the manager asks for
// through WATCHDOG_USEC, or 0 when there is none or it is meant for another
// process (WATCHDOG_PID differs from pid), as sd_watchdog_enabled(3) does.
func WatchdogInterval(lookup func(string) (string, bool), pid int) (time.Duration, error) {
	v, ok := lookup("WATCHDOG_USEC")
	if !ok {
		return 0, nil
	}
	if p, ok := lookup("WATCHDOG_PID"); ok {
		if n, err := strconv.Atoi(p); err != nil || n != pid {
			return 0, nil
		}
	}
	usec, err := strconv.ParseUint(v, 10, 63)
	if err != nil || usec == 0 || usec > uint64(time.Duration(1<<62)/time.Microsecond) {
		return 0, fmt.Errorf("systemd: WATCHDOG_USEC=%q: want a positive number of microseconds", v)
	}
	return time.Duration(usec) * time.Microsecond, nil
}

// Watchdog sends WATCHDOG=1 every interval/2, as sd_watchdog_enabled(3)
// advises, until ctx is done. Send errors go to onError (which may be nil)
// and do not stop the loop: the manager restarts the service if pings stay
// missing, which is the point of a watchdog. A nil Notifier or a zero
// interval returns at once.
func (n *Notifier) Watchdog(ctx context.Context, interval time.Duration, onError func(error)) {
	if n == nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.Notify("WATCHDOG=1"); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
