package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

// docStep is one code block of DEPLOY.md's recipes: a unit file to write
// (path set) or shell commands to run.
type docStep struct {
	path string // for a unit file: where it goes
	body string
}

var codeBlockRE = regexp.MustCompile("(?s)```(ini|sh)\n(.*?)```")

// recipeSteps returns the code blocks of DEPLOY.md between two headings,
// in order.
func recipeSteps(t *testing.T, from, to string) []docStep {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), from)
	if !ok {
		t.Fatalf("DEPLOY.md has no %q", from)
	}
	section, _, ok := strings.Cut(rest, to)
	if !ok {
		t.Fatalf("DEPLOY.md has no %q after %q", to, from)
	}
	var steps []docStep
	for _, m := range codeBlockRE.FindAllStringSubmatch(section, -1) {
		if m[1] == "sh" {
			steps = append(steps, docStep{body: m[2]})
			continue
		}
		first, body, _ := strings.Cut(m[2], "\n")
		path, ok := strings.CutPrefix(first, "# ")
		if !ok || !strings.HasPrefix(path, "/etc/systemd/system/") {
			t.Fatalf("DEPLOY.md: an ini block must start with \"# /etc/systemd/system/<file>\", this one starts %q", first)
		}
		steps = append(steps, docStep{path: path, body: body})
	}
	return steps
}

// apply writes a unit file or runs a shell block line by line. Lines that
// call curl are the reader's checks; the test makes its own.
func (c *container) apply(s docStep) {
	c.t.Helper()
	if s.path != "" {
		c.must("mkdir -p " + filepath.Dir(s.path) + " && cat > " + s.path + " <<'EOF'\n" + s.body + "EOF")
		return
	}
	for _, line := range strings.Split(s.body, "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		if cmd = strings.TrimSpace(cmd); cmd == "" || strings.HasPrefix(cmd, "curl ") {
			continue
		}
		if _, err := c.sh("cd /root/tls && " + cmd); err != nil {
			journal, _ := c.sh("journalctl -u 'gohttp-smol*' --no-pager -o cat | tail -20")
			c.t.Fatalf("%v\njournal:\n%s", err, journal)
		}
	}
}

// selfSigned writes a certificate for localhost and its key as PEM files.
func selfSigned(t *testing.T, dir, cn string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestDocRecipesUnderSystemd follows DEPLOY.md's "More listeners" and "TLS"
// recipes, with the unit files read out of the page, on a container with
// systemd as PID 1 and the .deb installed.
func TestDocRecipesUnderSystemd(t *testing.T) {
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
	metricsSteps := recipeSteps(t, "### More listeners: metrics", "### TLS on 443")
	tlsSteps := recipeSteps(t, "### TLS on 443", "## Automatic HTTPS (ACME)")
	ensureSystemdImage(t, ctx)

	dist := deploytest.Dist(t)
	deb := filepath.Join(dist, "gohttp-smol.deb")
	if _, err := run(ctx, "go", "run", "../cmd/mkdeb", "-dist", dist, "-deploy", ".", "-o", deb); err != nil {
		t.Fatal(err)
	}
	c := startSystemd(t, ctx)
	tmp := t.TempDir()
	selfSigned(t, tmp, "first")
	if err := os.MkdirAll(filepath.Join(tmp, "renewed"), 0o755); err != nil {
		t.Fatal(err)
	}
	selfSigned(t, filepath.Join(tmp, "renewed"), "renewed")
	for _, cp := range [][2]string{{deb, "/root/gohttp-smol.deb"}, {tmp, "/root/tls"}} {
		if _, err := run(ctx, "docker", "cp", cp[0], c.name+":"+cp[1]); err != nil {
			t.Fatal(err)
		}
	}
	c.must("dpkg -i /root/gohttp-smol.deb")

	for _, s := range metricsSteps {
		c.apply(s)
	}
	if m := c.must("curl -fsS http://127.0.0.1:9100/metrics"); !strings.Contains(m, "gohttp_smol_http_requests_total") {
		t.Errorf("metrics socket: %q, want Prometheus text", m)
	}
	if code := c.must(`curl -s -o /dev/null -w '%{http_code}' http://localhost/metrics`); code != "404" {
		t.Errorf("GET /metrics on the main socket = %s, want 404 once metrics have their own socket", code)
	}

	for _, s := range tlsSteps {
		c.apply(s)
	}
	if got := c.must(`curl -sk -o /dev/null -w '%{http_code} %{http_version}' https://localhost/`); got != "200 2" {
		t.Errorf("GET https://localhost/ = %q, want \"200 2\" (HTTP/2); journal:\n%s", got, c.must("journalctl -u gohttp-smol.service --no-pager -o cat | tail -20"))
	}
	if got := c.must(`curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost/x`); got != "301 https://localhost/x" {
		t.Errorf("GET http://localhost/x = %q, want a 301 to https://localhost/x", got)
	}

	// Renewal: replace the files as the page says, no restart, no reload.
	pid := c.must("systemctl show -p MainPID --value gohttp-smol.service")
	c.must(`cd /root/tls/renewed &&
		install -m 0644 fullchain.pem /etc/gohttp-smol/tls/.cert.pem.new && mv /etc/gohttp-smol/tls/.cert.pem.new /etc/gohttp-smol/tls/cert.pem &&
		install -m 0640 -g gohttp-smol-keys privkey.pem /etc/gohttp-smol/tls/.key.pem.new && mv /etc/gohttp-smol/tls/.key.pem.new /etc/gohttp-smol/tls/key.pem`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := c.sh("curl -svk -o /dev/null https://localhost/ 2>&1 | grep 'subject:'")
		if strings.Contains(out, "CN=renewed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not served within 15s (last: %q)", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if again := c.must("systemctl show -p MainPID --value gohttp-smol.service"); again != pid {
		t.Errorf("the renewal restarted the server (%s -> %s)", strings.TrimSpace(pid), strings.TrimSpace(again))
	}
}

// TestEC2UserDataUnderSystemd runs DEPLOY.md's EC2 user data script, as
// printed, on a fresh systemd container, with only its two settings pointed
// at a local copy of the .deb (curl fetches file:// URLs too). A wrong
// sha256 must stop it before anything is installed.
func TestEC2UserDataUnderSystemd(t *testing.T) {
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
	doc, err := os.ReadFile(filepath.Join("..", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, ec2, _ := strings.Cut(string(doc), "## EC2")
	m := regexp.MustCompile("(?s)```bash\n(#!/bin/bash\n.*?)```").FindStringSubmatch(ec2)
	if m == nil {
		t.Fatal("DEPLOY.md's EC2 section has no ```bash block starting with #!/bin/bash")
	}
	script := m[1]
	ensureSystemdImage(t, ctx)

	dist := deploytest.Dist(t)
	deb := filepath.Join(dist, "gohttp-smol.deb")
	if _, err := run(ctx, "go", "run", "../cmd/mkdeb", "-dist", dist, "-deploy", ".", "-o", deb); err != nil {
		t.Fatal(err)
	}
	sum, _, err := manifest.HashFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	c := startSystemd(t, ctx)
	if _, err := run(ctx, "docker", "cp", deb, c.name+":/root/gohttp-smol.deb"); err != nil {
		t.Fatal(err)
	}
	userData := func(sha string) string {
		s := regexp.MustCompile(`(?m)^DEB_URL=.*$`).ReplaceAllString(script, "DEB_URL=file:///root/gohttp-smol.deb")
		return regexp.MustCompile(`(?m)^DEB_SHA256=.*$`).ReplaceAllString(s, "DEB_SHA256="+sha)
	}
	for _, l := range []string{"DEB_URL=file:///", "DEB_SHA256=" + sum} {
		if !strings.Contains(userData(sum), l) {
			t.Fatalf("the user data has no %s line to set:\n%s", strings.Split(l, "=")[0], script)
		}
	}
	// A tampered download: sha256sum -c fails, set -e stops the script.
	if out, err := c.sh("cat > /root/user-data <<'EOF'\n" + userData(strings.Repeat("0", 64)) + "EOF\nbash /root/user-data"); err == nil {
		t.Fatalf("user data with a wrong sha256 succeeded:\n%s", out)
	}
	if _, err := c.sh("dpkg -s gohttp-smol"); err == nil {
		t.Fatal("user data with a wrong sha256 installed the package")
	}

	if out, err := c.sh("cat > /root/user-data <<'EOF'\n" + userData(sum) + "EOF\nbash /root/user-data"); err != nil {
		t.Fatalf("user data: %v\n%s", err, out)
	}
	if got := c.must("systemctl is-enabled gohttp-smol.socket gohttp-smol.service"); got != "enabled\nenabled\n" {
		t.Errorf("after the user data the units are %q, want enabled (they must come back after a reboot)", got)
	}
	if body := c.must("curl -fsS http://localhost/"); !strings.Contains(body, "gohttp-smol is running") {
		t.Errorf("GET / = %q after the user data", body)
	}
}
