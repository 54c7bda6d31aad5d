package site

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCurl drives the handler with curl, a client whose decoding, redirect
// and resume logic is not ours.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not on PATH; CI must install it (Debian package curl)")
		}
		t.Skip("curl is not on PATH")
	}
	fx := newFixture(t)
	srv := serve(t, fx.load(t, Options{}))
	dir := t.TempDir()
	etag, _ := validatorsOf(t, testServer{srv.URL}, "/index.html", nil)
	partial := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(partial, fx.files["big.bin"][:12345], 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		want    []byte   // stdout, when not nil
		headers []string // lines the response headers must contain (lowercase)
		file    string   // a file that must end up equal to big.bin
	}{
		{name: "gzip decoded by curl", args: []string{"--compressed", srv.URL + "/style.css"}, want: fx.files["style.css"],
			headers: []string{"content-encoding: gzip", "vary: accept-encoding"}},
		{name: "range", args: []string{"-r", "0-9", srv.URL + "/tiny.txt"}, want: []byte("0123456789"),
			headers: []string{"http/1.1 206 partial content", "content-range: bytes 0-9/20"}},
		{name: "head", args: []string{"-I", srv.URL + "/index.html"}, want: nil,
			headers: []string{"http/1.1 200 ok", "etag: " + strings.ToLower(etag), "cache-control: no-cache"}},
		{name: "revalidate", args: []string{"-H", "If-None-Match: " + etag, srv.URL + "/index.html"}, want: []byte{},
			headers: []string{"http/1.1 304 not modified"}},
		{name: "redirect followed", args: []string{"-L", srv.URL + "/docs"}, want: fx.files["docs/index.html"],
			headers: []string{"http/1.1 301 moved permanently", "location: /docs/", "http/1.1 200 ok"}},
		{name: "traversal as is", args: []string{"--path-as-is", srv.URL + "/../outside/secret.txt"}, want: fx.files["404.html"],
			headers: []string{"http/1.1 404 not found"}},
		{name: "resume a download", args: []string{"-C", "-", "-o", partial, srv.URL + "/big.bin"}, want: []byte{},
			headers: []string{"http/1.1 206 partial content", "content-range: bytes 12345-204799/204800"}, file: partial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdrFile := filepath.Join(dir, "headers")
			args := append([]string{"-sS", "--max-time", "10", "-D", hdrFile}, tt.args...)
			cmd := exec.CommandContext(t.Context(), curl, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
			}
			if tt.want != nil && !bytes.Equal(stdout.Bytes(), tt.want) {
				t.Errorf("curl %s: stdout %.60q (%d bytes), want %.60q (%d bytes)", strings.Join(tt.args, " "), stdout.Bytes(), stdout.Len(), tt.want, len(tt.want))
			}
			hdr, err := os.ReadFile(hdrFile)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ToLower(strings.ReplaceAll(string(hdr), "\r", ""))
			for _, line := range tt.headers {
				if !strings.Contains(got, line+"\n") {
					t.Errorf("curl %s: headers lack %q:\n%s", strings.Join(tt.args, " "), line, got)
				}
			}
			if bytes.Contains(stdout.Bytes(), []byte(secret)) {
				t.Errorf("curl %s: disclosed %q", strings.Join(tt.args, " "), stdout.Bytes())
			}
			if tt.file != "" {
				data, err := os.ReadFile(tt.file)
				if err != nil || !bytes.Equal(data, fx.files["big.bin"]) {
					t.Errorf("curl %s: %s is %d bytes (%v), want big.bin's %d", strings.Join(tt.args, " "), tt.file, len(data), err, len(fx.files["big.bin"]))
				}
			}
		})
	}
}
