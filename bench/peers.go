package main

// The servers under test: how each is configured, started, probed and
// stopped.
//
// Every server gets the same treatment: a private scratch directory for its
// configuration, logs and caches; the same document root; a loopback port;
// no access log (nginx `access_log off`, lighttpd without mod_accesslog, Caddy
// without a `log` directive, gohttp-smol `--log-format off`, the seed server
// has none); the same CPU set; and a process group of its own, so that
// stopping it also ends nginx's workers.

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// Server names, in the order the report lists them.
const (
	nameSmol     = "gohttp-smol"
	nameNginx    = "nginx"
	nameCaddy    = "caddy"
	nameLighttpd = "lighttpd"
	nameSeed     = "seed"
)

// allServers are the servers run by default, in the report's order.
var allServers = []string{nameSmol, nameNginx, nameCaddy, nameLighttpd, nameSeed}

// alsoPeer returns a server run alongside the others (-also): another
// build of gohttp-smol, say the commit before a change, or a prototype
// taking the same arguments, so that a change is measured against what it
// changes in one run. It is named by its file name.
func alsoPeer(path string) (peer, error) {
	exe, err := ownBinary(path, "-also")
	name := filepath.Base(path)
	if slices.Contains(allServers, name) {
		return peer{}, fmt.Errorf("-also %s: the name %q is taken by a server of the benchmark; rename the file", path, name)
	}
	return peer{Name: name, Exe: exe, setup: smolSetup, Gzip: "as gohttp-smol (run with its arguments)"}, err
}

// instanceConfig is what a server's configuration is generated from.
type instanceConfig struct {
	Dir     string // the instance's private scratch directory
	Docroot string // "" asks gohttp-smol for its embedded default site
	Port    int
}

// peer is one server under test.
type peer struct {
	Name    string
	Package string // the Debian package that provides it; "" for the repo's own binaries
	Exe     string // absolute path of the executable
	// Gzip says how the server is set up to answer the gzip request.
	Gzip string
	// setup writes any configuration into c.Dir and returns the arguments
	// (after the executable) and the environment additions.
	setup func(c instanceConfig) (args, env []string, err error)
}

// errMissing marks a peer whose executable is not installed.
var errMissing = errors.New("not installed")

// lookupPeer returns the named server. gohttpSmol and seed are the paths of
// the repo's binaries, built by `make bench`.
func lookupPeer(name, gohttpSmol, seed string) (peer, error) {
	switch name {
	case nameSmol:
		exe, err := ownBinary(gohttpSmol, "-gohttp-smol")
		return peer{Name: name, Exe: exe, setup: smolSetup,
			Gzip: "its defaults (the response column shows whether it sent the sibling or compressed itself)"}, err
	case nameSeed:
		exe, err := ownBinary(seed, "-seed")
		return peer{Name: name, Exe: exe, setup: seedSetup,
			Gzip: "none (http.FileServer never compresses)"}, err
	case nameNginx:
		return systemPeer(peer{Name: name, Package: "nginx-light", setup: nginxSetup,
			Gzip: "gzip_static on (.gz sibling)"}, "nginx")
	case nameCaddy:
		return systemPeer(peer{Name: name, Package: "caddy", setup: caddySetup,
			Gzip: "file_server precompressed gzip (.gz sibling)"}, "caddy")
	case nameLighttpd:
		return systemPeer(peer{Name: name, Package: "lighttpd", setup: lighttpdSetup,
			Gzip: "mod_deflate, compressed once into deflate.cache-dir (lighttpd has no .gz-sibling mode)"}, "lighttpd")
	}
	return peer{}, fmt.Errorf("unknown server %q (known: %s)", name, strings.Join(allServers, ", "))
}

func ownBinary(path, flag string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("no binary given: pass %s PATH (make bench builds it)", flag)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s %s: %w (make bench builds it)", flag, path, err)
	}
	return abs, nil
}

// systemPeer finds the executable of a Debian-packaged server. Daemons live
// in /usr/sbin, which a non-root PATH often lacks.
func systemPeer(p peer, exe string) (peer, error) {
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		path := filepath.Join(dir, exe)
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			p.Exe = path
			return p, nil
		}
	}
	if path, err := exec.LookPath(exe); err == nil {
		p.Exe = path
		return p, nil
	}
	return p, fmt.Errorf("%s %w: install it with `apt-get install -y %s`, or pass -skip-missing", exe, errMissing, p.Package)
}

func smolSetup(c instanceConfig) ([]string, []string, error) {
	args := []string{"--addr", "127.0.0.1:" + strconv.Itoa(c.Port), "--log-format", "off"}
	if c.Docroot != "" {
		args = append(args, c.Docroot)
	}
	// PORT as well: the placeholder server that preceded the real one reads
	// only PORT, and with --addr given the real one ignores it.
	return args, []string{"PORT=" + strconv.Itoa(c.Port)}, nil
}

func seedSetup(c instanceConfig) ([]string, []string, error) {
	return []string{"-addr", "127.0.0.1:" + strconv.Itoa(c.Port), c.Docroot}, nil, nil
}

// nginxConf follows Debian's default nginx.conf where it matters for speed
// (sendfile on, tcp_nopush on) and moves every path into the scratch
// directory so that nothing under /var or /run is touched.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`# Generated by the gohttp-smol benchmark (bench/peers.go).
worker_processes auto;
daemon off;
master_process on;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log error;

events {
    worker_connections 1024;
}

http {
    types {
        text/html html;
        text/javascript js;
        application/octet-stream bin;
    }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    gzip_static on;

    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    server {
        listen 127.0.0.1:{{.Port}};
        root {{.Docroot}};
    }
}
`))

func nginxSetup(c instanceConfig) ([]string, []string, error) {
	conf := filepath.Join(c.Dir, "nginx.conf")
	if err := writeTemplate(conf, nginxConf, c); err != nil {
		return nil, nil, err
	}
	// -e: the error log before the configuration is read (nginx >= 1.19.5).
	return []string{"-p", c.Dir, "-c", conf, "-e", filepath.Join(c.Dir, "error.log")}, nil, nil
}

var caddyfile = template.Must(template.New("Caddyfile").Parse(`# Generated by the gohttp-smol benchmark (bench/peers.go).
{
	admin off
	auto_https off
	storage file_system {{.Dir}}/data
}

http://127.0.0.1:{{.Port}} {
	bind 127.0.0.1
	root * {{.Docroot}}
	file_server {
		precompressed gzip
	}
}
`))

func caddySetup(c instanceConfig) ([]string, []string, error) {
	conf := filepath.Join(c.Dir, "Caddyfile")
	if err := writeTemplate(conf, caddyfile, c); err != nil {
		return nil, nil, err
	}
	env := []string{"XDG_DATA_HOME=" + filepath.Join(c.Dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(c.Dir, "config")}
	return []string{"run", "--config", conf, "--adapter", "caddyfile"}, env, nil
}

// lighttpdConf: lighttpd serves precompressed files only through mod_deflate's
// cache (it compresses a file once, keyed by its ETag, and then serves the
// cached copy with sendfile), which is the nearest it has to gzip_static.
var lighttpdConf = template.Must(template.New("lighttpd.conf").Parse(`# Generated by the gohttp-smol benchmark (bench/peers.go).
server.document-root = "{{.Docroot}}"
server.bind = "127.0.0.1"
server.port = {{.Port}}
server.errorlog = "{{.Dir}}/error.log"
server.modules = ( "mod_deflate" )
index-file.names = ( "index.html" )
mimetype.assign = (
	".html" => "text/html",
	".js" => "text/javascript",
	".bin" => "application/octet-stream",
)
deflate.mimetypes = ( "text/javascript" )
deflate.allowed-encodings = ( "gzip" )
deflate.cache-dir = "{{.Dir}}/deflate-cache"
`))

func lighttpdSetup(c instanceConfig) ([]string, []string, error) {
	if err := os.Mkdir(filepath.Join(c.Dir, "deflate-cache"), 0o755); err != nil {
		return nil, nil, fmt.Errorf("configure lighttpd: %w", err)
	}
	conf := filepath.Join(c.Dir, "lighttpd.conf")
	if err := writeTemplate(conf, lighttpdConf, c); err != nil {
		return nil, nil, err
	}
	return []string{"-D", "-f", conf}, nil, nil
}

func writeTemplate(path string, t *template.Template, c instanceConfig) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, c); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// commandLine returns the argv that starts exe with args, under taskset when
// cpus is set, so that every server runs on the same CPU set.
func commandLine(cpus, exe string, args []string) []string {
	argv := append([]string{exe}, args...)
	if cpus == "" {
		return argv
	}
	// taskset execs the program: the pid the harness watches is the server's.
	return append([]string{"taskset", "-c", cpus}, argv...)
}

// baseEnv is the whole environment of a server: nothing leaks in from the
// caller's shell (GOMAXPROCS, GODEBUG, proxies) that could favour one server.
func baseEnv(dir string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "LC_ALL=C"}
}

// instance is one running server.
type instance struct {
	peer    peer
	Port    int
	Dir     string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startInstance configures and starts p in a fresh scratch directory under
// parent. The returned instance must be stopped.
func startInstance(p peer, parent, docroot, cpus string) (*instance, error) {
	dir, err := os.MkdirTemp(parent, p.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	c := instanceConfig{Dir: dir, Docroot: docroot, Port: port}
	args, env, err := p.setup(c)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	defer log.Close() // the child has its own copy

	argv := commandLine(cpus, p.Exe, args)
	// Not exec.CommandContext: a cancelled benchmark stops its servers
	// through stop, which also reaches nginx's workers.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(dir), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in := &instance{peer: p, Port: port, Dir: dir, cmd: cmd, done: make(chan struct{})}
	in.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	go func() {
		in.waitErr = cmd.Wait()
		close(in.done)
	}()
	return in, nil
}

// Pid is the server's main process (nginx's master).
func (in *instance) Pid() int { return in.cmd.Process.Pid }

// Addr returns the instance's host:port.
func (in *instance) Addr() string { return "127.0.0.1:" + strconv.Itoa(in.Port) }

// URL returns the address of path on the instance.
func (in *instance) URL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(in.Port) + path
}

// pollInterval is how often waitReady retries; it bounds the start-up
// figure's resolution.
const pollInterval = 50 * time.Microsecond

// waitReady polls path until it answers 200 and returns the time from the
// spawn of the process to that answer.
func (in *instance) waitReady(ctx context.Context, path string, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		select {
		case <-in.done:
			return 0, fmt.Errorf("%s exited before answering (%v): %s", in.peer.Name, in.waitErr, in.logTail())
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		code, err := probe(in.Port, path)
		if err == nil && code == 200 {
			return time.Since(in.started), nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", code)
			// Any answer but 503 (RFC 9110 §15.6.4, "not ready yet") is final:
			// a misconfigured server will not get better by waiting.
			if code != 503 {
				return 0, fmt.Errorf("%s answered GET %s with status %d, want 200: %s", in.peer.Name, path, code, in.logTail())
			}
		}
		last = err
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not ready after %v (GET %s: %v): %s", in.peer.Name, timeout, path, last, in.logTail())
		}
		time.Sleep(pollInterval)
	}
}

// probe sends one HTTP/1.1 GET on a fresh connection and returns the status
// code. It is deliberately minimal (no client pool, no redirects), so that
// the first moment the server can answer is what the start-up figure shows.
func probe(port int, path string) (int, error) {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return 0, err
	}
	// RFC 9112 §4: status-line = HTTP-version SP status-code SP [reason-phrase]
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	return strconv.Atoi(f[1])
}

// stop ends the instance: SIGTERM to its process group, SIGKILL after
// grace. It is safe to call twice.
func (in *instance) stop(grace time.Duration) {
	pgid := in.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-in.done
	}
	// Workers that outlived their master would keep the port; the group is
	// this server's alone (Setpgid), so this reaches nothing else.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// exited reports whether the server's main process has ended.
func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// logTail returns the end of the server's own output, for error messages.
func (in *instance) logTail() string {
	var tail []byte
	for _, name := range []string{"server.log", "error.log"} {
		b, err := os.ReadFile(filepath.Join(in.Dir, name))
		if err == nil && len(b) > 0 {
			tail = append(tail, b...)
		}
	}
	s := strings.TrimSpace(string(tail))
	if len(s) > 800 {
		s = "..." + s[len(s)-800:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the server then fails to start with a
// clear error, which is acceptable for a benchmark run by hand.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peerVersion asks the executable for its version. gohttp-smol is asked with
// --version under a short timeout (a placeholder build may ignore the flag
// and start serving instead); the seed server reports its Go version.
func peerVersion(ctx context.Context, p peer) string {
	var args []string
	switch p.Name {
	case nameSeed:
		bi, err := buildinfo.ReadFile(p.Exe)
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		return "built with " + bi.GoVersion
	case nameNginx:
		args = []string{"-v"}
	case nameCaddy:
		args = []string{"version"}
	case nameLighttpd:
		args = []string{"-v"}
	default: // gohttp-smol, and servers run with its arguments (-also)
		args = []string{"--version"}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Exe, args...)
	dir, err := os.MkdirTemp("", "gohttp-smol-bench-version-")
	if err != nil {
		return "unknown"
	}
	defer os.RemoveAll(dir)
	cmd.Dir = dir
	port, _ := freePort()
	cmd.Env = append(baseEnv(dir), "PORT="+strconv.Itoa(port))
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return "unknown (--version did not exit: placeholder build?)"
	}
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if p.Name == nameSmol {
		// The project's own format, "gohttp-smol VERSION" then build details.
		return strings.TrimPrefix(firstLine(string(out)), "gohttp-smol ")
	}
	return cleanVersion(string(out))
}

// cleanVersion reduces a version banner to the version: nginx prints
// "nginx version: nginx/1.22.1", lighttpd "lighttpd/1.4.69 (ssl) - a light
// and fast webserver", Caddy "2.6.2" or "v2.7.6 h1:...".
func cleanVersion(out string) string {
	v := firstLine(out)
	v = strings.TrimPrefix(v, "nginx version: ")
	if _, after, ok := strings.Cut(v, "/"); ok && !strings.Contains(v[:strings.Index(v, "/")], " ") {
		v = after
	}
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	return v
}

// packageVersion returns the installed Debian version of pkg, or "".
func packageVersion(ctx context.Context, pkg string) string {
	if pkg == "" {
		return ""
	}
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
