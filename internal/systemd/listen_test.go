package systemd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func lookupOf(pairs ...string) func(string) (string, bool) {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseListenEnv(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name    string
		env     []string
		want    []Socket
		wantErr string
	}{
		{"not activated", nil, nil, ""},
		{"one unnamed", []string{"LISTEN_PID=4242", "LISTEN_FDS=1"}, []Socket{{3, "unknown"}}, ""},
		{"named", []string{"LISTEN_PID=4242", "LISTEN_FDS=3", "LISTEN_FDNAMES=http:metrics:redirect"},
			[]Socket{{3, "http"}, {4, "metrics"}, {5, "redirect"}}, ""},
		{"empty name kept", []string{"LISTEN_PID=4242", "LISTEN_FDS=2", "LISTEN_FDNAMES=:x"}, []Socket{{3, ""}, {4, "x"}}, ""},
		{"zero", []string{"LISTEN_PID=4242", "LISTEN_FDS=0"}, []Socket{}, ""},
		{"other process", []string{"LISTEN_PID=1", "LISTEN_FDS=1"}, nil, ""},
		{"no pid", []string{"LISTEN_FDS=1"}, nil, ""},
		{"bad count", []string{"LISTEN_PID=4242", "LISTEN_FDS=two"}, nil, `LISTEN_FDS="two"`},
		{"negative count", []string{"LISTEN_PID=4242", "LISTEN_FDS=-1"}, nil, `LISTEN_FDS="-1"`},
		{"names mismatch", []string{"LISTEN_PID=4242", "LISTEN_FDS=2", "LISTEN_FDNAMES=http"}, nil, "names 1 sockets, LISTEN_FDS=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseListenEnv(lookupOf(tc.env...), pid)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestListenersPassed passes two real listening sockets to a child process
// the way systemd does (descriptors 3 and 4, LISTEN_* set, LISTEN_PID equal
// to the child's pid) and checks that the child serves on both and that the
// variables are gone from its environment afterwards.
func TestListenersPassed(t *testing.T) {
	if os.Getenv("SYSTEMD_TEST_CHILD") == "1" {
		listenerChild()
		return
	}
	var files []*os.File
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		l.Close() // the child's copy keeps the socket open
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		addrs = append(addrs, l.Addr().String())
	}
	// LISTEN_PID must be the child's own pid, known only once it runs: the
	// shell sets it to $$ and execs the test binary in its place.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, os.Args[0], "-test.run=^TestListenersPassed$")
	cmd.Env = append(os.Environ(), "SYSTEMD_TEST_CHILD=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=http:metrics")
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for _, f := range files {
		f.Close() // only the child holds the sockets now
	}
	for i, want := range []string{"http", "metrics"} {
		c, err := net.DialTimeout("tcp", addrs[i], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		if wantLine := want + " env=\n"; line != wantLine {
			t.Errorf("socket %d answered %q, want %q", i, line, wantLine)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
}

// listenerChild accepts one connection on each passed socket and answers
// with the socket's name and what is left of LISTEN_* in its environment.
func listenerChild() {
	ls, err := Listeners()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if len(ls) != 2 {
		fmt.Fprintf(os.Stderr, "child: %d listeners, want 2\n", len(ls))
		os.Exit(1)
	}
	left := os.Getenv("LISTEN_PID") + os.Getenv("LISTEN_FDS") + os.Getenv("LISTEN_FDNAMES")
	for _, l := range ls {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		fmt.Fprintf(c, "%s env=%s\n", l.Name, left)
		c.Close()
	}
	os.Exit(0)
}

func TestListenersNotActivated(t *testing.T) {
	t.Setenv("LISTEN_FDS", "1")
	t.Setenv("LISTEN_PID", "1") // init's, not ours
	ls, err := Listeners()
	if err != nil || ls != nil {
		t.Fatalf("Listeners() = %v, %v; want none", ls, err)
	}
	if _, ok := os.LookupEnv("LISTEN_FDS"); ok {
		t.Error("LISTEN_FDS still set")
	}
}
