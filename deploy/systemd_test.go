package deploy

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
)

var units = []string{"gohttp-smol.socket", "gohttp-smol.service",
	"gohttp-smol-https.socket", "gohttp-smol-http.socket", "gohttp-smol-https.service"}

// unitRoot lays out a file-system root for systemd-analyze --root: the
// distribution's own units (for sysinit.target and friends), the server
// binary where ExecStart expects it, kill where ExecReload expects it, and
// the units under test in /etc/systemd/system. The units are the committed
// files, unchanged.
func unitRoot(t *testing.T) string {
	t.Helper()
	deploytest.NeedTool(t, "cp")
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian has merged /usr: /bin and /lib are links into it.
	for link, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	hostUnits, err := filepath.EvalSymlinks("/lib/systemd/system")
	if err != nil {
		t.Fatalf("the host has no /lib/systemd/system to borrow sysinit.target from: %v", err)
	}
	kill, err := filepath.EvalSymlinks("/bin/kill")
	if err != nil {
		t.Fatalf("/bin/kill, used by ExecReload: %v", err)
	}
	cp(t, "-a", hostUnits, filepath.Join(root, "usr/lib/systemd/system"))
	cp(t, kill, filepath.Join(root, "usr/bin/kill"))
	cp(t, deploytest.Server(t), filepath.Join(root, "usr/bin/gohttp-smol"))
	for _, u := range units {
		cp(t, filepath.Join("systemd", u), filepath.Join(root, "etc/systemd/system", u))
	}
	return root
}

func cp(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("cp", args...).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func systemdAnalyze(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemd-analyze", args...)
	// Plain, untranslated text whatever the caller's terminal is.
	cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=cat", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestUnitsVerify runs systemd-analyze verify on both units and accepts
// nothing but silence: verify exits 0 even for an unknown key, so any line
// it prints counts as a failure.
func TestUnitsVerify(t *testing.T) {
	deploytest.NeedTool(t, "systemd-analyze")
	root := unitRoot(t)

	t.Run("units", func(t *testing.T) {
		out, err := systemdAnalyze(t, append([]string{"verify", "--root=" + root}, units...)...)
		if err != nil || out != "" {
			t.Fatalf("systemd-analyze verify %v: err=%v, output:\n%s", units, err, out)
		}
	})

	// The check above must be able to fail: a misspelt hardening key is
	// exactly the mistake that would silently weaken the sandbox.
	t.Run("misspelt key is reported", func(t *testing.T) {
		svc, err := os.ReadFile(filepath.Join("systemd", "gohttp-smol.service"))
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.Replace(string(svc), "\nProtectSystem=strict\n", "\nProtectSystm=strict\n", 1)
		if bad == string(svc) {
			t.Fatal("the service has no ProtectSystem=strict line to misspell")
		}
		name := filepath.Join(root, "etc/systemd/system/gohttp-smol-typo.service")
		if err := os.WriteFile(name, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := systemdAnalyze(t, "verify", "--root="+root, "gohttp-smol-typo.service")
		if !strings.Contains(out, "ProtectSystm") {
			t.Fatalf("systemd-analyze verify said nothing about an unknown key; output:\n%s", out)
		}
	})
}

var exposureRE = regexp.MustCompile(`Overall exposure level for gohttp-smol\.service: ([0-9]+\.[0-9]+) `)

// maxExposure is the highest systemd-analyze security score the deploy targets allow.
const maxExposure = 2.0

// TestSecurityExposure scores each service's sandbox offline (the plain
// one and the automatic-HTTPS one), holds it to maxExposure, and checks
// that DEPLOY.md quotes the score measured here, so the document cannot
// drift from the unit.
func TestSecurityExposure(t *testing.T) {
	deploytest.NeedTool(t, "systemd-analyze")
	root := unitRoot(t)
	doc, err := os.ReadFile(filepath.Join("..", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, unit := range []string{"gohttp-smol.service", "gohttp-smol-https.service"} {
		t.Run(unit, func(t *testing.T) {
			out, err := systemdAnalyze(t, "security", "--offline=true", "--root="+root, unit)
			if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unit) + `: ([0-9]+\.[0-9]+) `).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no overall exposure level in systemd-analyze security output:\n%s", out)
			}
			score, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("exposure %.1f; items not fully locked down:\n%s", score, grepLines(out, "✗"))
			if score > maxExposure {
				t.Errorf("exposure level %.1f, want <= %.1f:\n%s", score, maxExposure, out)
			}
			if want := "exposure level for " + unit + ": " + m[1]; !strings.Contains(string(doc), want) {
				t.Errorf("DEPLOY.md does not quote the measured score: want the text %q", want)
			}
		})
	}
}

func grepLines(s, substr string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			b.WriteString(strings.TrimRight(l, " ") + "\n")
		}
	}
	return b.String()
}

// unitFile is a systemd unit file: section -> key -> values in order.
type unitFile map[string]map[string][]string

// parseUnit reads the subset of systemd.syntax(7) the units here use:
// sections, Key=Value lines (repeatable), # and ; comments.
func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: not a Key=Value line in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// env returns the value the unit's Environment= lines give name.
func (u unitFile) env(name string) string {
	val := ""
	for _, e := range u["Service"]["Environment"] {
		if k, v, ok := strings.Cut(e, "="); ok && k == name {
			val = v
		}
	}
	return val
}

// TestUnitContract checks what systemd-analyze cannot: that the units agree
// with the server's contract (docs: notes/SERVER-CONTRACT.md) and with each
// other.
func TestUnitContract(t *testing.T) {
	svc := parseUnit(t, filepath.Join("systemd", "gohttp-smol.service"))
	sock := parseUnit(t, filepath.Join("systemd", "gohttp-smol.socket"))

	drain, err := time.ParseDuration(svc.env("GOHTTP_SMOL_SHUTDOWN_TIMEOUT"))
	if err != nil {
		t.Fatalf("Environment=GOHTTP_SMOL_SHUTDOWN_TIMEOUT: %v", err)
	}
	stop, err := time.ParseDuration(svc.get("Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if stop <= drain {
		t.Errorf("TimeoutStopSec=%v must exceed the drain time GOHTTP_SMOL_SHUTDOWN_TIMEOUT=%v, or systemd kills a draining server", stop, drain)
	}
	for _, c := range []struct {
		file               unitFile
		section, key, want string
	}{
		{svc, "Service", "Type", "notify"},
		{svc, "Service", "ExecStart", "/usr/bin/gohttp-smol"},
		{svc, "Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
		{svc, "Service", "KillSignal", "SIGTERM"},
		{svc, "Service", "EnvironmentFile", "-/etc/default/gohttp-smol"},
		{svc, "Unit", "Requires", "gohttp-smol.socket"},
		{sock, "Socket", "ListenStream", "80"},
		// The server takes the fd named "http" (or the first unnamed one) as
		// its main listener; "metrics" and "redirect" mean other things.
		{sock, "Socket", "FileDescriptorName", "http"},
		{sock, "Socket", "Accept", "no"},
	} {
		if got := c.file.get(c.section, c.key); got != c.want {
			t.Errorf("[%s] %s=%q, want %q", c.section, c.key, got, c.want)
		}
	}
	if w, err := time.ParseDuration(svc.get("Service", "WatchdogSec")); err != nil || w <= 0 {
		t.Errorf("WatchdogSec=%q: want a positive duration (err %v)", svc.get("Service", "WatchdogSec"), err)
	}
}

// notifyListener is the test's side of sd_notify(3): a datagram socket whose
// path goes into NOTIFY_SOCKET.
type notifyListener struct {
	conn *net.UnixConn
	path string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifyListener{conn: conn, path: path}
}

// expect reads notifications until one holds the line want, and fails the
// test if none does within timeout.
func (n *notifyListener) expect(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen []string
	buf := make([]byte, 4096)
	for {
		n.conn.SetReadDeadline(deadline)
		k, err := n.conn.Read(buf)
		if err != nil {
			t.Fatalf("no %q notification within %v (seen: %q): %v", want, timeout, seen, err)
		}
		msg := string(buf[:k])
		seen = append(seen, msg)
		for _, l := range strings.Split(msg, "\n") {
			if l == want {
				return
			}
		}
	}
}

// TestSocketActivation starts the server the way gohttp-smol.socket does,
// through systemd-socket-activate, and checks the parts of the contract the
// units depend on: the passed socket serves (Type=notify's READY=1 comes),
// WatchdogSec is answered, ExecReload's SIGHUP is acknowledged, and the
// KillSignal ends it cleanly within TimeoutStopSec.
//
// The zero-failed-requests process replacement over a held socket is the
// subject of a test in cmd/gohttp-smol; it is not repeated here.
func TestSocketActivation(t *testing.T) {
	deploytest.NeedTool(t, "systemd-socket-activate")
	bin := deploytest.Server(t)
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>socket-activated</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notify := listenNotify(t)
	addr := deploytest.FreeAddr(t)
	cmd := exec.Command("systemd-socket-activate", "-l", addr, "--fdname=http",
		"-E", "NOTIFY_SOCKET="+notify.path,
		"-E", "WATCHDOG_USEC=2000000",
		"-E", "GOHTTP_SMOL_ROOT="+site,
		// Were LISTEN_FDS ignored, the server would bind this instead and
		// the requests below would find nothing on addr.
		"-E", "GOHTTP_SMOL_ADDR=127.0.0.1:0",
		"-E", "GOHTTP_SMOL_SHUTDOWN_TIMEOUT=2s",
		bin)
	p := deploytest.Start(t, cmd)

	// systemd-socket-activate binds at once and execs the server on the
	// first connection, which waits in the backlog meanwhile: the same path
	// a request takes when the socket unit starts the service.
	body := deploytest.WaitOK(t, "http://"+addr+"/", 10*time.Second, p.Done, p.Output)
	if !strings.Contains(body, "socket-activated") {
		t.Errorf("GET / = %q, want the test site's index.html", body)
	}
	notify.expect(t, "READY=1", 5*time.Second)
	notify.expect(t, "WATCHDOG=1", 3*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, body, err := deploytest.Get(ctx, "http://"+addr+"/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("GET /healthz = %d %q, %v; want 200", code, body, err)
	}

	// ExecReload=/bin/kill -HUP $MAINPID: systemd waits for RELOADING=1 and
	// then READY=1 (sd_notify(3)). The server is systemd-socket-activate's
	// process itself (it execs), so its pid is the one we started.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	notify.expect(t, "RELOADING=1", 5*time.Second)
	notify.expect(t, "READY=1", 5*time.Second)
	if code, _, err := deploytest.Get(ctx, "http://"+addr+"/"); err != nil || code != http.StatusOK {
		t.Errorf("GET / after SIGHUP = %d, %v; want 200", code, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notify.expect(t, "STOPPING=1", 5*time.Second)
	select {
	case <-p.Done:
	case <-time.After(15 * time.Second): // TimeoutStopSec
		t.Fatalf("server still running 15s after SIGTERM; output:\n%s", p.Output())
	}
	if st := cmd.ProcessState; !st.Success() {
		t.Errorf("exit after SIGTERM: %v, want status 0; output:\n%s", st, p.Output())
	}
}
