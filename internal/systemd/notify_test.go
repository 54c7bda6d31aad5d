package systemd

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen opens a real notification socket, like the one systemd binds.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", fmt.Sprintf("@gohttp-smol-test-%d", time.Now().UnixNano())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := listen(t, tc.path)
			n, err := NewNotifier(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				send func() error
				want string
			}{
				{n.Ready, "READY=1"},
				{n.Stopping, "STOPPING=1"},
			} {
				if err := step.send(); err != nil {
					t.Fatal(err)
				}
				if got := receive(t, sock); got != step.want {
					t.Errorf("got %q, want %q", got, step.want)
				}
			}

			before, _ := monotonicUsec()
			if err := n.Reloading(); err != nil {
				t.Fatal(err)
			}
			after, _ := monotonicUsec()
			got := receive(t, sock)
			first, usec, _ := strings.Cut(got, "\nMONOTONIC_USEC=")
			v, err := strconv.ParseUint(usec, 10, 64)
			if first != "RELOADING=1" || err != nil || v < before || v > after {
				t.Errorf("got %q, want RELOADING=1 and MONOTONIC_USEC in [%d, %d]", got, before, after)
			}
		})
	}
}

func TestNotifyErrors(t *testing.T) {
	if _, err := NewNotifier("vsock:2:1"); err == nil || !strings.Contains(err.Error(), "NOTIFY_SOCKET") {
		t.Errorf("NewNotifier(vsock) = %v, want an error naming NOTIFY_SOCKET", err)
	}
	n, _ := NewNotifier(filepath.Join(t.TempDir(), "nobody-listens"))
	if err := n.Ready(); err == nil || !strings.Contains(err.Error(), `notify "READY=1"`) {
		t.Errorf("Ready to a missing socket = %v, want an error", err)
	}
	var none *Notifier
	if err := none.Ready(); err != nil {
		t.Errorf("nil Notifier: %v", err)
	}
	if n, err := NewNotifier(""); n != nil || err != nil {
		t.Errorf(`NewNotifier("") = %v, %v; want nil, nil`, n, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    time.Duration
		wantErr bool
	}{
		{"unset", nil, 0, false},
		{"set", []string{"WATCHDOG_USEC=30000000"}, 30 * time.Second, false},
		{"our pid", []string{"WATCHDOG_USEC=1000", "WATCHDOG_PID=7"}, time.Millisecond, false},
		{"other pid", []string{"WATCHDOG_USEC=1000", "WATCHDOG_PID=8"}, 0, false},
		{"zero", []string{"WATCHDOG_USEC=0"}, 0, true},
		{"junk", []string{"WATCHDOG_USEC=30s"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := WatchdogInterval(lookupOf(tc.env...), 7)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestWatchdog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	sock := listen(t, path)
	n, _ := NewNotifier(path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Watchdog(ctx, 20*time.Millisecond, func(err error) { t.Error(err) }); close(done) }()
	for range 3 {
		if got := receive(t, sock); got != "WATCHDOG=1" {
			t.Errorf("got %q, want WATCHDOG=1", got)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}
