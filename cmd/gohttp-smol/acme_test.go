package main

// End-to-end tests of --acme-domain against Pebble, Let's Encrypt's test
// CA, run as a real process with real challenge validation: Pebble resolves
// the test names through a DNS server of the test that answers 127.0.0.1,
// and connects to the sockets the test hands the server (systemd style),
// whose ports are Pebble's httpPort and tlsPort.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// pebbleVersion is the Pebble the tests build and run.
const pebbleVersion = "v2.10.3"

var (
	pebbleOnce sync.Once
	pebblePath string
	pebbleErr  error
)

// pebbleBinary builds Pebble once per machine into the user's cache
// directory (CI keeps it between runs) and returns its path.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	pebbleOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "gohttp-smol-test", "pebble-"+pebbleVersion)
		pebblePath = filepath.Join(dir, "pebble")
		if _, err := os.Stat(pebblePath); err == nil {
			return
		}
		// Installed into a scratch directory and renamed, so that an
		// interrupted build never leaves a broken binary in the cache.
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".pebble-")
		if err != nil {
			if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
				tmp, err = os.MkdirTemp(filepath.Dir(dir), ".pebble-")
			}
			if err != nil {
				pebbleErr = err
				return
			}
		}
		defer os.RemoveAll(tmp)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+pebbleVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			pebbleErr = fmt.Errorf("go install pebble: %v\n%s", err, out)
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			pebbleErr = err
			return
		}
		pebbleErr = os.Rename(filepath.Join(tmp, "pebble"), pebblePath)
	})
	if pebbleErr != nil {
		t.Fatalf("building Pebble: %v", pebbleErr)
	}
	return pebblePath
}

// startDNS answers A queries for names under .test with 127.0.0.1 and
// every other query with no record, and returns its address. It speaks
// DNS over TCP (RFC 1035 §4.2.2, RFC 7766), which is how Pebble queries a
// -dnsserver.
func startDNS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var n [2]byte
					if _, err := io.ReadFull(c, n[:]); err != nil {
						return
					}
					q := make([]byte, int(n[0])<<8|int(n[1]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					msg, err := dnsAnswer(q)
					if err != nil {
						return
					}
					if _, err := c.Write(append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func dnsAnswer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeA && strings.HasSuffix(strings.ToLower(q.Name.String()), ".test.") {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// freeAddrs returns n loopback addresses with distinct ports free at the
// time of the call, for Pebble's own listeners.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	// All n stay open until each has its port: a port closed before the
	// next listen may be handed out again.
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// acmeEnv is a Pebble and the sockets the server under test is given.
type acmeEnv struct {
	t       *testing.T
	caRoot  string // PEM file of the root of Pebble's own https certificate
	caPool  *x509.CertPool
	pebble  *exec.Cmd
	out     syncBuffer
	done    chan struct{}
	dirURL  string
	mgmtURL string
	https   *os.File // the server's TLS socket, Pebble's tlsPort
	http    *os.File // the server's plain socket, Pebble's httpPort
	tlsPort string
}

// newACMEEnv starts Pebble issuing certificates valid for validity.
func newACMEEnv(t *testing.T, validity time.Duration) *acmeEnv {
	t.Helper()
	bin := pebbleBinary(t)
	e := &acmeEnv{t: t, done: make(chan struct{})}
	dir := t.TempDir()

	// Pebble's https is served with a certificate of a test CA: that root
	// is what the server is told to trust with --acme-ca-root.
	ca := newCA(t)
	e.caPool = ca.pool
	e.caRoot = filepath.Join(dir, "ca-root.pem")
	writeFile(t, e.caRoot, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})))
	ca.issue(t, filepath.Join(dir, "pebble.crt"), filepath.Join(dir, "pebble.key"), 2)

	var httpPort, tlsPort int
	for _, s := range []struct {
		f    **os.File
		port *int
	}{{&e.https, &tlsPort}, {&e.http, &httpPort}} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*s.port = l.Addr().(*net.TCPAddr).Port
		f, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		l.Close() // the duplicate in f keeps the socket listening
		t.Cleanup(func() { f.Close() })
		*s.f = f
	}
	e.tlsPort = strconv.Itoa(tlsPort)

	addrs := freeAddrs(t, 2)
	listen, mgmt := addrs[0], addrs[1]
	e.dirURL, e.mgmtURL = "https://"+listen+"/dir", "https://"+mgmt
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(dir, "pebble.crt"),
		"privateKey":                     filepath.Join(dir, "pebble.key"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"domainBlocklist":                []string{"blocked.test"},
		"profiles": map[string]any{
			"default": map[string]any{"description": "test", "validityPeriod": int(validity.Seconds())},
		},
	}}
	b, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "pebble.json")
	writeFile(t, confFile, string(b))

	e.pebble = exec.Command(bin, "-config", confFile, "-dnsserver", startDNS(t))
	// Real validation, without Pebble's random sleeps, bad nonces or
	// reuse of earlier authorizations: each order is validated anew.
	e.pebble.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	e.pebble.Stdout, e.pebble.Stderr = &e.out, &e.out
	if err := e.pebble.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.pebble.Wait(); close(e.done) }()
	t.Cleanup(func() {
		e.stopPebble()
		if t.Failed() {
			t.Logf("pebble output:\n%s", tail(e.out.String()))
		}
	})
	client := e.caClient()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(e.dirURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e
			}
		}
		select {
		case <-e.done:
			t.Fatalf("pebble exited:\n%s", e.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble not serving its directory after 20s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *acmeEnv) stopPebble() {
	e.pebble.Process.Kill()
	<-e.done
}

// caClient talks to Pebble's own https.
func (e *acmeEnv) caClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.caPool}}}
}

// roots returns the roots Pebble issues under, from its management
// interface.
func (e *acmeEnv) roots() *x509.CertPool {
	e.t.Helper()
	resp, err := e.caClient().Get(e.mgmtURL + "/roots/0")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		e.t.Fatalf("no root in Pebble's /roots/0: %q", b)
	}
	return pool
}

// orders counts the orders Pebble received.
func (e *acmeEnv) orders() int {
	return strings.Count(e.out.String(), "Added order")
}

// args are the server's flags for this Pebble.
func (e *acmeEnv) args(acmeDir string, domains string, extra ...string) []string {
	return append([]string{"--acme-domain", domains, "--acme-agree", "--acme-ca", e.dirURL, "--acme-ca-root", e.caRoot,
		"--acme-dir", acmeDir, "--metrics-addr", "127.0.0.1:0", "--shutdown-timeout", "5s"}, extra...)
}

// startServer runs the server on the env's sockets: https only, or https
// and http (port 80's role).
func (e *acmeEnv) startServer(withHTTP bool, args ...string) *proc {
	e.t.Helper()
	o := startOpts{shellPID: true, files: []*os.File{e.https}, env: []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=https"}}
	if withHTTP {
		o.files = append(o.files, e.http)
		o.env = []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=https:http"}
	} else {
		args = append(args, "--redirect-addr=")
	}
	return start(e.t, o, args...)
}

// siteClient fetches https://NAME:port/ from the server, trusting roots.
func siteClient(roots *x509.CertPool, keepAlive bool) *http.Client {
	c := newClient(&tls.Config{RootCAs: roots})
	tr := c.Transport.(*http.Transport)
	tr.DisableKeepAlives = !keepAlive
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	return c
}

// leafOf makes a new TLS connection for name and returns the certificate
// the server presents, verified against roots.
func leafOf(t *testing.T, addr, name string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		t.Fatalf("TLS to %s for %s: %v", addr, name, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// checkPrivate fails unless every file under dir is mode 0600.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Errorf("%d files in %s, want at least the account key and the certificate", n, dir)
	}
}

// port returns the port of a listening socket.
func port(t *testing.T, f *os.File) string {
	t.Helper()
	l, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

func countLines(s, pattern string) int {
	return len(regexp.MustCompile(pattern).FindAllStringIndex(s, -1))
}

// TestACMEHTTP01 covers the first issuance over HTTP-01, the site served
// with a chain that verifies against Pebble's root, the redirect, private
// files, an unknown name refused without an order, and a restart that
// loads the stored certificate instead of ordering.
func TestACMEHTTP01(t *testing.T) {
	e := newACMEEnv(t, time.Hour)
	acmeDir := filepath.Join(t.TempDir(), "acme")
	p := e.startServer(true, e.args(acmeDir, "site.test,www.site.test")...)
	p.waitLog(`acme: certificate obtained`, 60*time.Second)
	if n := countLines(p.stdout.String(), `type=http-01`); n != 2 || countLines(e.out.String(), `Attempting to validate w/ HTTP`) < 2 {
		t.Errorf("Pebble validated over HTTP %d times, want one for each of 2 names", n)
	}
	roots := e.roots()

	for _, name := range []string{"site.test", "www.site.test"} {
		resp, body := get(t, siteClient(roots, true), "https://"+name+":"+e.tlsPort+"/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "gohttp-smol") {
			t.Errorf("GET https://%s/ = %d %.80q", name, resp.StatusCode, body)
		}
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("protocol %s, want HTTP/2.0", resp.Proto)
		}
		if len(resp.TLS.VerifiedChains) == 0 {
			t.Errorf("%s: no verified chain", name)
		}
	}
	// The http socket is port 80's: it redirects to the https socket's port.
	req, err := http.NewRequest(http.MethodGet, "http://"+p.redirectAddr+"/a?b", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "site.test"
	resp, err := newClient(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://site.test:" + e.tlsPort + "/a?b"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("redirect: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if resp, body := get(t, nil, "http://"+p.metricsAddr+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d %q", resp.StatusCode, body)
	}
	m := scrape(t, "http://"+p.metricsAddr+"/metrics")
	if na := m["gohttp_smol_acme_certificate_not_after_seconds"]; na < float64(time.Now().Add(50*time.Minute).Unix()) {
		t.Errorf("not_after metric %v, want about an hour from now", na)
	}
	if m["gohttp_smol_acme_orders_total"] != 1 {
		t.Errorf("orders metric %v, want 1", m["gohttp_smol_acme_orders_total"])
	}
	checkPrivate(t, acmeDir)
	orders := e.orders()
	if orders != 1 {
		t.Errorf("Pebble received %d orders, want 1", orders)
	}

	// A name that is not configured: the unrecognized_name alert, and no
	// order for it.
	_, err = tls.Dial("tcp", p.addr, &tls.Config{ServerName: "other.test", RootCAs: roots})
	if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Errorf("handshake for other.test: %v, want the unrecognized_name alert", err)
	}
	serial := leafOf(t, p.addr, "site.test", roots).SerialNumber

	// A restart with a valid stored certificate serves it at once and
	// orders nothing.
	p.signal(syscall.SIGTERM)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	p = e.startServer(true, e.args(acmeDir, "site.test,www.site.test")...)
	if got := leafOf(t, p.addr, "www.site.test", roots).SerialNumber; got.Cmp(serial) != 0 {
		t.Errorf("after a restart: serial %x, want the stored %x", got, serial)
	}
	time.Sleep(time.Second) // time for an order, were one to be made
	if n := e.orders(); n != orders {
		t.Errorf("Pebble received %d orders after the restart, want still %d", n, orders)
	}
	if strings.Contains(p.stdout.String(), "ordering") {
		t.Errorf("the restarted server ordered a certificate:\n%s", p.stdout.String())
	}
}

// TestACMETLSALPN01 covers the first issuance over TLS-ALPN-01: no plain
// HTTP socket at all.
func TestACMETLSALPN01(t *testing.T) {
	e := newACMEEnv(t, time.Hour)
	acmeDir := filepath.Join(t.TempDir(), "acme")
	p := e.startServer(false, e.args(acmeDir, "alpn.test")...)
	p.waitLog(`acme: certificate obtained`, 60*time.Second)
	if p.redirectAddr != "" {
		t.Errorf("a plain-HTTP listener on %s, want none", p.redirectAddr)
	}
	if !strings.Contains(p.stdout.String(), "type=tls-alpn-01") || strings.Contains(e.out.String(), "Attempting to validate w/ HTTP") {
		t.Errorf("not validated over TLS-ALPN-01 alone")
	}
	resp, body := get(t, siteClient(e.roots(), true), "https://alpn.test:"+e.tlsPort+"/healthz")
	if resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}
	checkPrivate(t, acmeDir)
}

// TestACMERenewal renews a short-lived certificate under load with no
// failed request, then stops the CA: the old certificate keeps being
// served, and the failure shows in the log, the metrics and /readyz.
func TestACMERenewal(t *testing.T) {
	const validity = 30 * time.Second // renewed at 20s; /readyz fails from 25s
	e := newACMEEnv(t, validity)
	acmeDir := filepath.Join(t.TempDir(), "acme")
	p := e.startServer(true, e.args(acmeDir, "renew.test")...)
	p.waitLog(`acme: certificate obtained`, 60*time.Second)
	roots := e.roots()
	first := leafOf(t, p.addr, "renew.test", roots)

	url := "https://renew.test:" + e.tlsPort + "/healthz"
	kept := startLoad(siteClient(roots, true), 2, url, status200("ok\n"), false)
	fresh := startLoad(siteClient(roots, false), 2, url, status200("ok\n"), false) // a handshake per request
	deadline := time.Now().Add(validity + 20*time.Second)
	for countLines(p.stdout.String(), `acme: certificate obtained`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no renewal within %v", validity+20*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // handshakes with the new certificate under load
	kept.end(t, 20)
	fresh.end(t, 20)
	second := leafOf(t, p.addr, "renew.test", roots)
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 || !second.NotAfter.After(first.NotAfter) {
		t.Fatalf("after renewal: serial %x until %v; before: %x until %v", second.SerialNumber, second.NotAfter, first.SerialNumber, first.NotAfter)
	}

	// The CA goes away. The renewal due at two thirds fails and is retried;
	// the certificate in service stays until it nearly expires.
	e.stopPebble()
	line := p.waitLog(`acme: certificate not obtained`, validity)
	if !strings.Contains(line, "connection refused") {
		t.Errorf("the failure does not say why: %s", line)
	}
	if got := leafOf(t, p.addr, "renew.test", roots); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Errorf("while the CA is down: serial %x, want %x still", got.SerialNumber, second.SerialNumber)
	}
	m := scrape(t, "http://"+p.metricsAddr+"/metrics")
	failing := ""
	for k, v := range m {
		if strings.HasPrefix(k, "gohttp_smol_acme_renewal_failing{") && v == 1 {
			failing = k
		}
	}
	if !strings.Contains(failing, "connection refused") || m["gohttp_smol_acme_renewal_failures_total"] < 1 {
		t.Errorf("metrics do not show the failure: failing %q, failures %v", failing, m["gohttp_smol_acme_renewal_failures_total"])
	}
	if na := m["gohttp_smol_acme_certificate_not_after_seconds"]; na != float64(second.NotAfter.Unix()) {
		t.Errorf("not_after metric %v, want %v", na, second.NotAfter.Unix())
	}
	readyDeadline := second.NotAfter.Add(-time.Second)
	for {
		resp, body := get(t, nil, "http://"+p.metricsAddr+"/readyz")
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(body, "could not be renewed") {
			break
		}
		if time.Now().After(readyDeadline) {
			t.Fatalf("/readyz still %d %q one second before expiry", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := leafOf(t, p.addr, "renew.test", roots); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Errorf("near expiry: serial %x, want %x still", got.SerialNumber, second.SerialNumber)
	}
}

// TestACMESharedDir runs two servers on one --acme-dir: one orders, the
// other loads its certificate. The one that orders is not the one Pebble
// validates against, which answers from the challenge files in the shared
// directory.
func TestACMESharedDir(t *testing.T) {
	e := newACMEEnv(t, time.Hour)
	acmeDir := filepath.Join(t.TempDir(), "acme")
	// b listens elsewhere; Pebble's validation connections wait in the
	// backlog of a's sockets until a runs.
	b := start(t, startOpts{}, e.args(acmeDir, "shared.test", "--addr", "127.0.0.1:0", "--redirect-addr", "127.0.0.1:0")...)
	b.waitLog(`acme: ordering a certificate`, 10*time.Second)
	a := e.startServer(true, e.args(acmeDir, "shared.test")...)
	b.waitLog(`acme: certificate obtained`, 60*time.Second)
	a.waitLog(`acme: certificate loaded from the directory`, 60*time.Second)
	if !strings.Contains(e.out.String(), "Attempting to validate w/ HTTP: http://shared.test:"+port(t, e.http)) {
		t.Errorf("Pebble did not validate at a's port")
	}
	roots := e.roots()
	sa, sb := leafOf(t, a.addr, "shared.test", roots), leafOf(t, b.addr, "shared.test", roots)
	if sa.SerialNumber.Cmp(sb.SerialNumber) != 0 {
		t.Errorf("the two servers serve %x and %x, want one certificate", sa.SerialNumber, sb.SerialNumber)
	}
	ordered := countLines(a.stdout.String()+b.stdout.String(), `acme: ordering a certificate`)
	if n := e.orders(); n != 1 || ordered != 1 {
		t.Errorf("Pebble received %d orders, the servers logged %d; want 1", n, ordered)
	}
	checkPrivate(t, acmeDir)
}

// TestACMECARefuses checks that the CA's own problem document reaches the
// log, the metrics and /readyz when it refuses to issue (here, a name on
// Pebble's block list), and that the server keeps running and retrying.
func TestACMECARefuses(t *testing.T) {
	e := newACMEEnv(t, time.Hour)
	p := e.startServer(true, e.args(filepath.Join(t.TempDir(), "acme"), "blocked.test")...)
	line := p.waitLog(`acme: certificate not obtained`, 30*time.Second)
	t.Log(line)
	if !strings.Contains(line, "urn:ietf:params:acme:error:rejectedIdentifier") || !strings.Contains(line, "retry_in=") {
		t.Errorf("the log does not carry the CA's problem and the retry: %s", line)
	}
	m := scrape(t, "http://"+p.metricsAddr+"/metrics")
	failing := false
	for k, v := range m {
		failing = failing || strings.HasPrefix(k, "gohttp_smol_acme_renewal_failing{") && strings.Contains(k, "rejectedIdentifier") && v == 1
	}
	if !failing || m["gohttp_smol_acme_certificate_not_after_seconds"] != 0 {
		t.Errorf("metrics: failing with the CA's error %v, not_after %v; want true and 0", failing, m["gohttp_smol_acme_certificate_not_after_seconds"])
	}
	if resp, body := get(t, nil, "http://"+p.metricsAddr+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no certificate yet") {
		t.Errorf("/readyz = %d %q, want 503 saying there is no certificate", resp.StatusCode, body)
	}
	if resp, _ := get(t, nil, "http://"+p.redirectAddr+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d: the server must keep running", resp.StatusCode)
	}
}

// TestACMERefusesWithoutAgreement checks the start-up refusal.
func TestACMERefusesWithoutAgreement(t *testing.T) {
	code, _, stderr := runExit(t, nil, "--acme-domain", "example.com")
	if code != 2 || !strings.Contains(stderr, "--acme-agree") {
		t.Errorf("exit %d, stderr %q; want 2 and a message naming --acme-agree", code, stderr)
	}
}
