package owner

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func TestParse(t *testing.T) {
	id := ID{Host: "0b7c-11:4026531836", PID: 4242, Start: 123456}
	got, err := Parse(id.String())
	if err != nil || got != id {
		t.Errorf("Parse(%q) = %+v, %v", id.String(), got, err)
	}
	for _, bad := range []string{"", "host", "host/12", "host/x/1", "/12/1", "host/0/1", "host/12/-1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func needProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
}

// TestCheck runs a real child process and checks its status while it runs
// and after it has exited, and that an ID from another host or with another
// start time is judged as such.
func TestCheck(t *testing.T) {
	needProc(t)
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if Check(self) != Running {
		t.Errorf("Check(self) = %v, want Running", Check(self))
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := startTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	child := ID{self.Host, cmd.Process.Pid, start}
	if got := Check(child); got != Running {
		t.Errorf("running child: %v, want Running", got)
	}
	reused := child
	reused.Start++
	if got := Check(reused); got != Gone {
		t.Errorf("pid reused by a process started at another time: %v, want Gone", got)
	}
	other := child
	other.Host = "another-boot:1"
	if got := Check(other); got != Elsewhere {
		t.Errorf("another host: %v, want Elsewhere", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got := Check(child); got != Gone {
		t.Errorf("exited child: %v, want Gone", got)
	}
}

// TestStartTimeOddName: a command name with spaces and parentheses does not
// shift the fields.
func TestStartTimeOddName(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "77"), 0o755)
	stat := "77 (a) b (c) S 1 77 77 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	os.WriteFile(filepath.Join(root, "77", "stat"), []byte(stat), 0o644)
	old := procRoot
	procRoot = root
	defer func() { procRoot = old }()
	got, err := startTime(77)
	if err != nil || got != 987654 {
		t.Errorf("startTime = %d, %v, want 987654", got, err)
	}
}
