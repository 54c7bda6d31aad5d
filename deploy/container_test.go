package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
)

// systemdImage is a Debian 12 image with systemd as PID 1, made here with
// debootstrap because no registry can be reached. procps brings /bin/kill
// (the unit's ExecReload; the .deb depends on it), curl the client, which
// runs inside the container so that the traffic stays on its loopback.
const (
	systemdImage    = "gohttp-smol-deploytest/systemd:bookworm-1"
	systemdPackages = "systemd,systemd-sysv,procps,curl"
)

func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// needRoot ends the test unless it runs as root (debootstrap and the
// container's capabilities need it); CI runs as root, so there it fails.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root for debootstrap (CI=true, so this is a failure, not a skip)")
	}
	t.Skip("needs root for debootstrap and a systemd container")
}

// ensureSystemdImage builds systemdImage unless docker already has it.
func ensureSystemdImage(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := run(ctx, "docker", "image", "inspect", systemdImage); err == nil {
		return
	}
	deploytest.NeedTool(t, "debootstrap")
	mirror := os.Getenv("DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	t.Logf("making %s with debootstrap from %s (once per machine)", systemdImage, mirror)
	if _, err := run(ctx, "debootstrap", "--variant=minbase", "--include="+systemdPackages, "bookworm", rootfs, mirror); err != nil {
		t.Fatal(err)
	}
	tar := exec.CommandContext(ctx, "tar", "-C", rootfs, "-c", ".")
	imp := exec.CommandContext(ctx, "docker", "import", "-", systemdImage)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var impOut bytes.Buffer
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	if err := tar.Run(); err != nil {
		t.Fatalf("tar of the rootfs: %v", err)
	}
	if err := imp.Wait(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, impOut.String())
	}
}

// container is a running systemd container.
type container struct {
	t    *testing.T
	ctx  context.Context
	name string
}

// sh runs a shell command inside the container.
func (c *container) sh(script string) (string, error) {
	return run(c.ctx, "docker", "exec", c.name, "sh", "-c", script)
}

func (c *container) must(script string) string {
	c.t.Helper()
	out, err := c.sh(script)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func startSystemd(t *testing.T, ctx context.Context) *container {
	t.Helper()
	name := fmt.Sprintf("gohttp-smol-deploytest-%d-%d", os.Getpid(), time.Now().UnixNano())
	// systemd as PID 1 needs to mount (SYS_ADMIN), its own /run, and the
	// cgroup tree; no network: curl runs inside.
	if _, err := run(ctx, "docker", "run", "-d", "--name", name, "--network", "none",
		"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
		"--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
		systemdImage, "/lib/systemd/systemd"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		run(ctx, "docker", "rm", "-f", name)
	})
	c := &container{t: t, ctx: ctx, name: name}
	deadline := time.Now().Add(time.Minute)
	for {
		out, _ := c.sh("systemctl is-system-running")
		state := strings.TrimSpace(out)
		if state == "running" || state == "degraded" {
			return c
		}
		if time.Now().After(deadline) {
			logs, _ := run(ctx, "docker", "logs", name)
			t.Fatalf("systemd in the container did not come up (state %q):\n%s", state, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDebUnderSystemd installs the .deb into a Debian 12 container whose
// PID 1 is systemd and runs the whole life of the service: the postinst
// starts it, port 80 answers from inside the sandbox (as a dynamic user
// with no capabilities, under the syscall filter), a reload swaps content,
// the sandbox scores the same online, a stopped service is started again by
// its socket, and a purge leaves the content alone.
func TestDebUnderSystemd(t *testing.T) {
	deploytest.NeedTool(t, "docker")
	needRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := run(ctx, "docker", "info"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker daemon not answering (CI=true): %v", err)
		}
		t.Skipf("docker daemon not answering: %v", err)
	}
	ensureSystemdImage(t, ctx)

	dist := deploytest.Dist(t)
	deb := filepath.Join(dist, "gohttp-smol.deb")
	if _, err := run(ctx, "go", "run", "../cmd/mkdeb", "-dist", dist, "-deploy", ".", "-o", deb); err != nil {
		t.Fatal(err)
	}

	c := startSystemd(t, ctx)
	if _, err := run(ctx, "docker", "cp", deb, c.name+":/root/gohttp-smol.deb"); err != nil {
		t.Fatal(err)
	}

	out := c.must("dpkg -i /root/gohttp-smol.deb 2>&1")
	if lower := strings.ToLower(out); strings.Contains(lower, "could not") || strings.Contains(lower, "failed") {
		t.Errorf("dpkg -i reported a problem:\n%s", out)
	}
	if got := c.must("systemctl is-active gohttp-smol.socket gohttp-smol.service"); got != "active\nactive\n" {
		t.Fatalf("after install, is-active = %q; journal:\n%s", got, c.must("journalctl -u gohttp-smol.service --no-pager -o cat"))
	}
	if body := c.must("curl -fsS http://localhost/"); !strings.Contains(body, "gohttp-smol is running") {
		t.Errorf("GET http://localhost/ = %q, want the package's first page", body)
	}

	// What the sandbox looks like from the kernel's side.
	status := c.must(`cat /proc/$(systemctl show -p MainPID --value gohttp-smol.service)/status`)
	for _, c := range []struct{ field, re string }{
		{"Uid", `^(6[1-5][0-9]{3})\s`}, // DynamicUser= picks from 61184-65519
		{"CapEff", `^0+$`},
		{"NoNewPrivs", `^1$`},
		{"Seccomp", `^2$`}, // filtering
	} {
		m := regexp.MustCompile(`(?m)^` + c.field + `:\s*(.*)$`).FindStringSubmatch(status)
		if m == nil || !regexp.MustCompile(c.re).MatchString(m[1]) {
			t.Errorf("server process %s = %q, want %s", c.field, m, c.re)
		}
	}

	// systemctl reload: SIGHUP, new content without a restart.
	pid := c.must("systemctl show -p MainPID --value gohttp-smol.service")
	c.must(`echo '<h1>second version</h1>' > /var/www/gohttp-smol/index.html && systemctl reload gohttp-smol.service`)
	if body := c.must("curl -fsS http://localhost/"); !strings.Contains(body, "second version") {
		t.Errorf("after reload GET / = %q, want the new index.html", body)
	}
	if again := c.must("systemctl show -p MainPID --value gohttp-smol.service"); again != pid {
		t.Errorf("reload replaced the process (%s -> %s), want the same one", strings.TrimSpace(pid), strings.TrimSpace(again))
	}

	// The score of the running unit, as systemd itself computes it.
	sec := c.must("systemd-analyze security gohttp-smol.service 2>&1 | tail -1")
	if m := exposureRE.FindStringSubmatch(sec); m == nil {
		t.Errorf("no exposure score in %q", sec)
	} else if score, _ := strconv.ParseFloat(m[1], 64); score > maxExposure {
		t.Errorf("online exposure %s, want <= %.1f", m[1], maxExposure)
	} else {
		t.Logf("online: %s", strings.TrimSpace(sec))
	}

	// Stop: SIGTERM, drain, exit 0 ("Deactivated successfully", not
	// "Failed with result"). The socket stays and starts it again on demand.
	c.must("systemctl stop gohttp-smol.service")
	if j := c.must("journalctl -u gohttp-smol.service --no-pager -o cat"); !strings.Contains(j, "gohttp-smol.service: Deactivated successfully.") || strings.Contains(j, "Failed with result") {
		t.Errorf("stop was not clean; journal:\n%s", j)
	}
	if body := c.must("curl -fsS http://localhost/healthz"); strings.TrimSpace(body) != "ok" {
		t.Errorf("GET /healthz on the stopped service's socket = %q, want ok (socket activation)", body)
	}
	if got := c.must("systemctl is-active gohttp-smol.service"); got != "active\n" {
		t.Errorf("after a request on its socket the service is %q, want active", got)
	}

	testHTTPSUnits(t, c)

	out = c.must("dpkg --purge gohttp-smol 2>&1")
	if got, _ := c.sh("systemctl is-active gohttp-smol.socket gohttp-smol.service"); got != "inactive\ninactive\n" {
		t.Errorf("after purge the units are still %q\n%s", got, out)
	}
	if body := c.must("cat /var/www/gohttp-smol/index.html"); !strings.Contains(body, "second version") {
		t.Errorf("purge touched the administrator's content: %q", body)
	}
}

// testHTTPSUnits switches the installed package to its automatic-HTTPS
// units, as DEPLOY.md says, with a CA that cannot be reached: the units
// must come up under the sandbox (sockets on 443 and 80, the state
// directory written by the dynamic user, outbound connections allowed),
// port 80 must answer, /readyz must say there is no certificate, and the
// journal must carry the failed attempt. It leaves the plain units stopped
// and disabled, the HTTPS ones enabled.
func testHTTPSUnits(t *testing.T, c *container) {
	t.Helper()
	if got := c.must("systemctl is-enabled gohttp-smol-https.socket gohttp-smol-http.socket gohttp-smol-https.service || true"); got != "disabled\ndisabled\ndisabled\n" {
		t.Errorf("the HTTPS units are %q after install, want disabled: the package must not take port 443 by itself", got)
	}
	c.must(`printf '%s\n' GOHTTP_SMOL_ACME_DOMAIN=site.example.test GOHTTP_SMOL_ACME_AGREE=true GOHTTP_SMOL_ACME_CA=https://127.0.0.1:1/directory >> /etc/default/gohttp-smol`)
	c.must("systemctl disable --now gohttp-smol.socket gohttp-smol.service 2>&1")
	c.must("systemctl enable --now gohttp-smol-https.socket gohttp-smol-http.socket 2>&1")
	c.must("systemctl start gohttp-smol-https.service")
	if got := c.must("systemctl is-active gohttp-smol-https.socket gohttp-smol-http.socket gohttp-smol-https.service"); got != "active\nactive\nactive\n" {
		t.Fatalf("HTTPS units: is-active = %q; journal:\n%s", got, c.must("journalctl -u gohttp-smol-https.service --no-pager -o cat"))
	}
	if got := c.must("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost/x"); got != "301 https://localhost/x" {
		t.Errorf("GET http://localhost/x = %q, want a 301 to https", got)
	}
	if got := c.must("curl -sS http://localhost/readyz"); !strings.Contains(got, "no certificate yet") {
		t.Errorf("/readyz = %q, want it to say there is no certificate yet", got)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := c.must("journalctl -u gohttp-smol-https.service --no-pager -o cat")
		if strings.Contains(j, "acme: certificate not obtained") && strings.Contains(j, "connection refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed ACME attempt in the journal:\n%s", j)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := c.must("stat -c '%a %n' /var/lib/private/gohttp-smol/acme /var/lib/private/gohttp-smol/acme/account.key"); got != "700 /var/lib/private/gohttp-smol/acme\n600 /var/lib/private/gohttp-smol/acme/account.key\n" {
		t.Errorf("ACME state: %q, want the directory 0700 and the account key 0600", got)
	}
	sec := c.must("systemd-analyze security gohttp-smol-https.service 2>&1 | tail -1")
	if m := regexp.MustCompile(`Overall exposure level for gohttp-smol-https\.service: ([0-9]+\.[0-9]+) `).FindStringSubmatch(sec); m == nil {
		t.Errorf("no exposure score in %q", sec)
	} else if score, _ := strconv.ParseFloat(m[1], 64); score > maxExposure {
		t.Errorf("online exposure %s, want <= %.1f", m[1], maxExposure)
	} else {
		t.Logf("online: %s", strings.TrimSpace(sec))
	}
	c.must("systemctl stop gohttp-smol-https.service")
}
