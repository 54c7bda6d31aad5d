package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestMaxMemory refuses a site over --max-memory at start, naming its
// largest file and the flags, and refuses a reload whose content would not
// fit beside the content still served, which keeps serving.
func TestMaxMemory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.bin"), strings.Repeat("\x00", 2000))
	writeFile(t, filepath.Join(dir, "movie.bin"), strings.Repeat("\x00", 4000))

	code, _, errOut := runExit(t, nil, "--addr", "127.0.0.1:0", "--max-memory", "5000", dir)
	for _, want := range []string{"movie.bin (4000 bytes)", "--max-memory", "--max-file-size"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("site of 6000 bytes, --max-memory 5000: exit %d, stderr:\n%s\nwant exit 1 and %q", code, errOut, want)
		}
	}

	// Streaming the large file leaves 2000 bytes in memory: it starts; past
	// half the budget, with a warning that a reload needs room for both
	// generations.
	warned := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--max-memory", "3500", "--max-file-size", "3000", dir)
	warned.waitLog("more than half of --max-memory", 5*time.Second)
	p := start(t, startOpts{}, "--addr", "127.0.0.1:0", "--max-memory", "5000", "--max-file-size", "3000", dir)
	writeFile(t, filepath.Join(dir, "b.bin"), strings.Repeat("\x00", 1000))
	p.signal(syscall.SIGHUP) // 2000 held + 3000 new = 5000: fits
	p.waitLog("reload: content reloaded", 10*time.Second)
	writeFile(t, filepath.Join(dir, "c.bin"), strings.Repeat("\x00", 1000))
	p.signal(syscall.SIGHUP) // 3000 held + 4000 new: refused
	line := p.waitLog("reload: content not reloaded", 10*time.Second)
	if !strings.Contains(line, "content still served holds 3000") || !strings.Contains(line, "--max-memory") {
		t.Errorf("refused reload logged %q, want the bytes held by the old content and the flag", line)
	}
	if resp, _ := get(t, nil, p.url("/b.bin")); resp.StatusCode != 200 {
		t.Errorf("/b.bin after a refused reload = %d, want the previous content still served", resp.StatusCode)
	}
	if resp, _ := get(t, nil, p.url("/c.bin")); resp.StatusCode != 404 {
		t.Errorf("/c.bin after a refused reload = %d, want 404", resp.StatusCode)
	}
}

// TestMaxConns holds the only connection --max-conns 1 allows, idle in a
// client's pool, and checks that a second client is served only once it is
// closed, on the plain HTTP/1.1 path (h1) and on TLS (net/http).
func TestMaxConns(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "one at a time")
	ca := newCA(t)
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	ca.issue(t, certFile, keyFile, 1)

	for _, tc := range []struct {
		name   string
		args   []string
		scheme string
		tls    *tls.Config
	}{
		{"h1", nil, "http", nil},
		{"tls", []string{"--tls-cert", certFile, "--tls-key", keyFile}, "https", &tls.Config{RootCAs: ca.pool}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:0", "--max-conns", "1", "--log-format", "off"}, tc.args...)
			p := start(t, startOpts{}, append(args, dir)...)
			url := tc.scheme + "://" + p.addr + "/"
			first := newClient(tc.tls)
			if _, body := get(t, first, url); body != "one at a time" {
				t.Fatalf("first client: %q", body)
			}
			second := newClient(tc.tls)
			done := make(chan string, 1)
			go func() {
				resp, err := second.Get(url)
				if err != nil {
					done <- err.Error()
					return
				}
				resp.Body.Close()
				done <- resp.Status
			}()
			select {
			case got := <-done:
				t.Fatalf("second client answered (%s) while the first holds the only connection", got)
			case <-time.After(300 * time.Millisecond):
			}
			first.CloseIdleConnections()
			select {
			case got := <-done:
				if got != "200 OK" {
					t.Errorf("second client after the first closed: %s", got)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("second client not served after the first closed its connection")
			}
		})
	}
}

// TestBasicAuthBusy sends more guesses at once than the server has CPUs
// for bcrypt: the ones that find every slot taken are answered 503 with
// Retry-After at once instead of queueing, and none is let in.
func TestBasicAuthBusy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "private")
	// Cost 12, about 0.2s a comparison: long enough for the guesses to
	// overlap on a loaded machine.
	hash, err := bcrypt.GenerateFromPassword([]byte("open sesame"), 12)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	writeFile(t, htpasswd, "ali:"+string(hash)+"\n")
	p := start(t, startOpts{env: []string{"GOMAXPROCS=1"}}, "--addr", "127.0.0.1:0", "--log-format", "off", "--basic-auth-file", htpasswd,
		"--cache-control-immutable", "public, max-age=60", dir)
	// A value given by flag is kept, but one that lets shared caches keep
	// protected files is worth a warning.
	p.waitLog(`--cache-control-immutable lets shared caches serve protected content.*value="public, max-age=60"`, 5*time.Second)

	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := ""
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", p.url("/"), nil)
			req.SetBasicAuth("ali", fmt.Sprint("guess ", i))
			resp, err := newClient(nil).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 503 {
				retryAfter = resp.Header.Get("Retry-After")
			}
		})
	}
	wg.Wait()
	if codes[503] == 0 || codes[401] == 0 || codes[401]+codes[503] != 6 {
		t.Errorf("status codes %v, want some 401 (checked) and some 503 (refused while busy), nothing else", codes)
	}
	if codes[503] > 0 && retryAfter != "1" {
		t.Errorf("503 with Retry-After %q, want 1", retryAfter)
	}

	// The right password, once a slot is free, and its Cache-Control: a
	// protected page is for the browser's cache only.
	req, _ := http.NewRequest("GET", p.url("/"), nil)
	req.SetBasicAuth("ali", "open sesame")
	resp, err := newClient(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("right password: %d, Cache-Control %q; want 200 and private, no-cache", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}
