package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestResponseHeaders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "<p>hi</p>")
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0",
		"--header", "X-Robots-Tag: noindex", "--header", "Referrer-Policy: no-referrer", "--header", "X-Content-Type-Options:", dir)
	resp, _ := get(t, nil, p.url("/"))
	for name, want := range map[string]string{
		"X-Robots-Tag":              "noindex",
		"Referrer-Policy":           "no-referrer", // replaced
		"X-Content-Type-Options":    "",            // removed by an empty value
		"Content-Security-Policy":   "",            // the default site's only
		"X-Frame-Options":           "",
		"Strict-Transport-Security": "", // TLS only
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}

	p2 := start(t, startOpts{}, "--addr", "127.0.0.1:0", dir)
	resp, _ = get(t, nil, p2.url("/nope"))
	if resp.StatusCode != 404 || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "strict-origin-when-cross-origin" {
		t.Errorf("404 response: %d %v, want the security headers on it too", resp.StatusCode, resp.Header)
	}
}

func TestHealth(t *testing.T) {
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0")
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		resp, body := get(t, nil, p.url(path))
		if resp.StatusCode != 200 || body != want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s = %d %q (Cache-Control %q)", path, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
		}
	}
}

func TestBasicAuth(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "private")
	hash, err := bcrypt.GenerateFromPassword([]byte("open sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, htpasswd, "# test users\nali:"+string(hash)+"\n")
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--basic-auth-file", htpasswd, "--metrics-path", "/metrics", dir)

	for _, tc := range []struct {
		name, path, user, pass string
		want                   int
	}{
		{"no credentials", "/", "", "", 401},
		{"wrong password", "/", "ali", "open sesame!", 401},
		{"unknown user", "/", "baba", "open sesame", 401},
		{"right", "/", "ali", "open sesame", 200},
		{"right again (remembered)", "/", "ali", "open sesame", 200},
		{"healthz outside", "/healthz", "", "", 200},
		{"readyz outside", "/readyz", "", "", 200},
		{"metrics inside", "/metrics", "", "", 401},
		{"metrics with credentials", "/metrics", "ali", "open sesame", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", p.url(tc.path), nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if tc.want == 401 && challenge != `Basic realm="gohttp-smol", charset="UTF-8"` {
				t.Errorf("WWW-Authenticate %q", challenge)
			}
			if tc.want == 401 && strings.Contains(string(body), "private") {
				t.Error("401 response leaks the content")
			}
			if tc.path == "/" && tc.want == 200 && string(body) != "private" {
				t.Errorf("body %q", body)
			}
		})
	}
}

// sample matches one line of the text exposition format.
var sample = regexp.MustCompile(`^(gohttp_smol_[a-z_]+)(\{[^}]*\})? (\S+)$`)

// scrape fetches url and returns its samples, keyed by name and labels as
// written; it fails the test on any line that is neither a sample nor a
// HELP or TYPE comment.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, body := get(t, nil, url)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET %s = %d, Content-Type %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "# HELP gohttp_smol_") || strings.HasPrefix(line, "# TYPE gohttp_smol_") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("malformed exposition line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	// Bytes that do not compress, so that the count of bytes sent is known.
	blob := make([]byte, 1000)
	rand.Read(blob)
	writeFile(t, filepath.Join(dir, "blob.bin"), string(blob))
	writeFile(t, filepath.Join(dir, "a.txt"), "a")

	t.Run("on the main listener", func(t *testing.T) {
		p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--log-format", "off", "--metrics-path", "/metrics", dir)
		for range 5 {
			get(t, nil, p.url("/blob.bin"))
		}
		get(t, nil, p.url("/missing"))
		req, _ := http.NewRequest("DELETE", p.url("/"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		m := scrape(t, p.url("/metrics"))
		for key, want := range map[string]float64{
			`gohttp_smol_http_requests_total{code="200",method="GET"}`:                               5,
			`gohttp_smol_http_requests_total{code="404",method="GET"}`:                               1,
			`gohttp_smol_http_requests_total{code="405",method="DELETE"}`:                            1,
			`gohttp_smol_http_request_duration_seconds_count`:                                        7,
			`gohttp_smol_http_request_duration_seconds_bucket{le="+Inf"}`:                            7,
			`gohttp_smol_http_requests_in_flight`:                                                    1, // the scrape itself
			`gohttp_smol_cache_entries`:                                                              2,
			`gohttp_smol_build_info{version="` + testVersion + `",goversion="` + goVersion(t) + `"}`: 1,
			`gohttp_smol_reloads_total{result="ok"}`:                                                 0,
		} {
			if got, ok := m[key]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
			}
		}
		if b := m["gohttp_smol_http_response_bytes_total"]; b < 5000 {
			t.Errorf("response bytes %v, want at least 5 x 1000", b)
		}
		if m["gohttp_smol_cache_bytes"] < 1001 {
			t.Errorf("cache bytes %v, want at least the files' size", m["gohttp_smol_cache_bytes"])
		}
	})

	t.Run("separate listener", func(t *testing.T) {
		p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", dir)
		if p.metricsAddr == "" {
			t.Fatal("no metrics_addr in the start-up log")
		}
		if resp, _ := get(t, nil, p.url("/metrics")); resp.StatusCode != 404 {
			t.Errorf("main listener /metrics = %d, want 404 (metrics are elsewhere)", resp.StatusCode)
		}
		get(t, nil, p.url("/a.txt"))
		m := scrape(t, "http://"+p.metricsAddr+"/metrics")
		if got := m[`gohttp_smol_http_requests_total{code="200",method="GET"}`]; got != 1 {
			t.Errorf("GET 200 count %v, want 1", got)
		}
	})

	t.Run("off by default", func(t *testing.T) {
		// Metrics tell anyone the version and the traffic: the public
		// listener serves them only when asked.
		p := start(t, startOpts{}, "--addr", "127.0.0.1:0", dir)
		if resp, _ := get(t, nil, p.url("/metrics")); resp.StatusCode != 404 {
			t.Errorf("/metrics = %d without --metrics-path, want 404", resp.StatusCode)
		}
	})

	t.Run("separate listener at a chosen path", func(t *testing.T) {
		p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--metrics-path", "/m", dir)
		if resp, _ := get(t, nil, p.url("/m")); resp.StatusCode != 404 {
			t.Errorf("main listener /m = %d, want 404 (metrics are elsewhere)", resp.StatusCode)
		}
		scrape(t, "http://"+p.metricsAddr+"/m")
	})
}

func goVersion(t *testing.T) string {
	_, out, _ := runExit(t, nil, "--version")
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "go\t"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no go line in --version")
	return ""
}

// TestSlowloris sends request headers one byte at a time, slower than
// --read-header-timeout allows for the whole header, and checks that the
// server closes the connection instead of waiting.
func TestSlowloris(t *testing.T) {
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--read-header-timeout", "1s")
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan error, 1)
	go func() {
		// Whatever the server sends, the connection must end.
		_, err := io.Copy(io.Discard, c)
		closed <- err
	}()
	header := "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + strings.Repeat("s", 100) + "\r\n\r\n"
	// At 4 bytes a second the header takes half a minute to send.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for sent < len(header) {
		select {
		case err := <-closed:
			t.Logf("server closed the connection after %d of %d header bytes (%v)", sent, len(header), err)
			if sent >= len(header) {
				t.Fatal("the whole header was sent")
			}
			return
		case <-tick.C:
			if _, err := c.Write([]byte{header[sent]}); err != nil {
				t.Logf("write failed after %d bytes: %v", sent, err)
				return // reset by the server: cut off
			}
			sent++
		}
	}
	t.Fatalf("sent the whole %d-byte header at 4 bytes/s without being cut off", len(header))
}

// TestSlowlorisLeavesOthersServed checks that a stalled connection does not
// keep a normal client from being served meanwhile.
func TestSlowlorisLeavesOthersServed(t *testing.T) {
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--read-header-timeout", "1s")
	var stalled []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\nHo"))
		stalled = append(stalled, c)
	}
	if resp, _ := get(t, nil, p.url("/healthz")); resp.StatusCode != 200 {
		t.Errorf("healthz = %d with stalled connections open", resp.StatusCode)
	}
	// All of them are cut within a few timeouts.
	for i, c := range stalled {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := bufio.NewReader(c).ReadByte()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("stalled connection %d still open after 10s", i)
		}
	}
}
