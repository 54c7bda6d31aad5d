package site

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// secret marks the bytes of every file the site must never serve.
const secret = "TOPSECRET-4f1d9c"

// modTime is the modification time of every file of the test tree.
var modTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// testMaxFileSize makes big.* streamed while keeping the tree small.
const testMaxFileSize = 64 << 10

// fixture holds the contents of the test tree's files by name.
type fixture struct {
	root    string            // the served directory
	outside string            // a secret file beside it
	files   map[string][]byte // regular files by slash name
}

// newFixture writes a site covering every rule of the package into a
// temporary directory.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	base := t.TempDir()
	fx := &fixture{root: filepath.Join(base, "www"), outside: filepath.Join(base, "outside"), files: map[string][]byte{}}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	text := func(line string, n int) []byte {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			b.WriteString(line)
			b.WriteByte(byte('a' + i%26))
			b.WriteByte('\n')
		}
		return b.Bytes()[:n]
	}
	page := func(title string) []byte {
		return append([]byte("<!doctype html>\n<title>"+title+"</title>\n"), text("<p>"+title+" paragraph of text</p>", 1024)...)
	}
	pre := text("function pre() { return 42 }", 4096)
	bigText := text("big text line that compresses well", 100<<10)

	fx.files = map[string][]byte{
		"index.html":               page("Home"),
		"404.html":                 page("Not found here"),
		"app.3f9a1c2e.js":          text("console.log('app')", 4096),
		"main-5D3FGX7Q.css":        text("body { color: red }", 2048),
		"style.css":                text("p { margin: 0 }", 2048),
		"logo.png":                 append([]byte("\x89PNG\r\n\x1a\n"), random(3000)...),
		"empty.txt":                {},
		"noext":                    []byte("just some plain text without an extension\n"),
		"tiny.txt":                 []byte("0123456789abcdefghij"),
		"pre.js":                   pre,
		"pre.js.gz":                gzipBytes(pre),
		"pre.js.br":                []byte("BROTLI-STAND-IN"),
		"pre.js.zst":               []byte("ZSTD-STAND-IN"),
		"big.bin":                  random(200 << 10),
		"big.txt":                  bigText,
		"big.txt.gz":               gzipBytes(bigText),
		"docs/index.html":          page("Docs"),
		"docs/guide.html":          page("Guide"),
		"nolist/a.txt":             []byte("a\n"),
		"nolist/b c&d<e>.txt":      []byte("b\n"),
		"nolist/x:y.txt":           []byte("x\n"),
		"nolist/sub/deep.txt":      []byte("deep\n"),
		".well-known/security.txt": []byte("Contact: mailto:security@example.com\n"),
	}
	secrets := []string{".secret", ".git/config", "sub/.env", ".well-known/.hidden", "nolist/.env", "docs/.draft.html"}
	for name, data := range fx.files {
		writeFile(t, filepath.Join(fx.root, name), data)
	}
	for _, name := range secrets {
		writeFile(t, filepath.Join(fx.root, name), []byte(secret+" "+name+"\n"))
	}
	writeFile(t, filepath.Join(fx.outside, "secret.txt"), []byte(secret+" outside\n"))
	links := map[string]string{
		"link-in.txt":   "docs/guide.html",
		"link-out.txt":  "../outside/secret.txt",
		"link-abs.txt":  filepath.Join(fx.outside, "secret.txt"),
		"link-dot.txt":  ".secret",
		"link-git.txt":  ".git/config",
		"linkdir":       "docs",
		"link-up":       "..",
		"dangling.txt":  "does-not-exist",
		"big-link.bin":  "big.bin",
		"docs/up.txt":   "../.secret",
		"docs/rel.html": "guide.html",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(fx.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fx.files["link-in.txt"] = fx.files["docs/guide.html"]
	fx.files["big-link.bin"] = fx.files["big.bin"]
	fx.files["docs/rel.html"] = fx.files["docs/guide.html"]
	if err := syscall.Mkfifo(filepath.Join(fx.root, "pipe.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	return fx
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, modTime, modTime); err != nil {
		t.Fatal(err)
	}
}

// load loads fx's root with opts (Dir and, when zero, MaxFileSize filled in).
func (fx *fixture) load(t testing.TB, opts Options) *Site {
	t.Helper()
	opts.Dir = fx.root
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = testMaxFileSize
	}
	s, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serve starts a real HTTP server on loopback for s.
func serve(t testing.TB, s http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// client neither follows redirects nor decompresses, so that tests see the
// responses as sent.
var client = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get sends a request and returns the response with its body read.
func get(t testing.TB, srv *httptest.Server, method, target string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return request(t, srv.URL, method, target, hdr)
}

// request sends method target to the server at base (scheme://host:port)
// and returns the response with its body read.
func request(t testing.TB, base, method, target string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestLoadStats(t *testing.T) {
	fx := newFixture(t)
	s := fx.load(t, Options{})
	st := s.Stats()
	// Every regular file of fx.files plus the symlinks to files inside
	// the tree that lead nowhere secret.
	if want := len(fx.files); st.Entries != want {
		t.Errorf("Stats().Entries = %d, want %d", st.Entries, want)
	}
	if want := 3; st.Streamed != want {
		t.Errorf("Stats().Streamed = %d, want %d (big.bin, big-link.bin, big.txt)", st.Streamed, want)
	}
	var inMemory int64
	for _, data := range fx.files {
		if len(data) <= testMaxFileSize {
			inMemory += int64(len(data))
		}
	}
	if st.Bytes <= inMemory {
		t.Errorf("Stats().Bytes = %d, want more than the %d bytes of small files (gzip variants are held too)", st.Bytes, inMemory)
	}
}

func TestLoadErrors(t *testing.T) {
	fx := newFixture(t)
	missing := filepath.Join(t.TempDir(), "nope")
	regular := filepath.Join(fx.root, "index.html")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		opts    Options
		want    string // substring of the error
		wantIs  error
		wantPfx string
	}{
		{"neither", context.Background(), Options{}, "exactly one of Options.Dir and Options.FS", nil, "site: load fs: "},
		{"both", context.Background(), Options{Dir: fx.root, FS: fstest.MapFS{}}, "exactly one of", nil, "site: load " + fx.root + ": "},
		{"missing dir", context.Background(), Options{Dir: missing}, "no such file", fs.ErrNotExist, "site: load " + missing + ": "},
		{"not a dir", context.Background(), Options{Dir: regular}, "not a directory", nil, "site: load " + regular + ": "},
		{"fallback missing", context.Background(), Options{Dir: fx.root, Fallback: "/app.html"}, `fallback "/app.html": no such file in the site`, nil, "site: load "},
		{"fallback dotfile", context.Background(), Options{Dir: fx.root, Fallback: "/.secret"}, `fallback "/.secret"`, nil, "site: load "},
		{"fallback dir without index", context.Background(), Options{Dir: fx.root, Fallback: "/nolist"}, `fallback "/nolist"`, nil, "site: load "},
		{"cancelled", cancelled, Options{Dir: fx.root}, "context canceled", context.Canceled, "site: load "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(tt.ctx, tt.opts)
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want error containing %q", s.Stats(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.wantPfx) {
				t.Errorf("Load error = %q, want prefix %q and %q in it", err, tt.wantPfx, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Load error = %v, want errors.Is %v", err, tt.wantIs)
			}
		})
	}
}

// failingFS fails to open one file, as a file without read permission
// would (which root, running the tests in CI, could read anyway).
type failingFS struct {
	fstest.MapFS
	fail string
}

func (f failingFS) Open(name string) (fs.File, error) {
	if name == f.fail {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.Open(name)
}

func TestLoadUnreadableFileFails(t *testing.T) {
	fsys := failingFS{MapFS: fstest.MapFS{
		"index.html":    {Data: []byte("home")},
		"css/style.css": {Data: []byte("p {}")},
	}, fail: "css/style.css"}
	s, err := Load(context.Background(), Options{FS: fsys})
	if err == nil {
		t.Fatalf("Load succeeded with %d entries, want it to fail on css/style.css", s.Stats().Entries)
	}
	if want := "site: load fs: open css/style.css: permission denied"; err.Error() != want || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Load error = %q, want %q wrapping fs.ErrPermission", err, want)
	}
}

// TestReload checks that Load builds an independent index each time: the
// old Site keeps serving what it loaded, the new one serves the change.
func TestReload(t *testing.T) {
	fx := newFixture(t)
	old := fx.load(t, Options{})
	writeFile(t, filepath.Join(fx.root, "index.html"), []byte("new home"))
	writeFile(t, filepath.Join(fx.root, "added.txt"), []byte("added"))
	cur := fx.load(t, Options{})

	oldSrv, curSrv := serve(t, old), serve(t, cur)
	if _, body := get(t, oldSrv, "GET", "/", nil); !bytes.Equal(body, fx.files["index.html"]) {
		t.Errorf("old site: GET / = %.40q, want the content loaded first", body)
	}
	if resp, _ := get(t, oldSrv, "GET", "/added.txt", nil); resp.StatusCode != 404 {
		t.Errorf("old site: GET /added.txt = %d, want 404", resp.StatusCode)
	}
	if _, body := get(t, curSrv, "GET", "/", nil); string(body) != "new home" {
		t.Errorf("new site: GET / = %.40q, want %q", body, "new home")
	}
	if resp, body := get(t, curSrv, "GET", "/added.txt", nil); resp.StatusCode != 200 || string(body) != "added" {
		t.Errorf("new site: GET /added.txt = %d %q, want 200 %q", resp.StatusCode, body, "added")
	}
	if o, c := old.Stats().Entries, cur.Stats().Entries; c != o+1 {
		t.Errorf("Stats().Entries: old %d, new %d, want new = old+1", o, c)
	}
}

// TestFS serves an fs.FS, as the embedded default site is: no times, so no
// Last-Modified, and large files streamed through the FS.
func TestFS(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 1000)
	fsys := fstest.MapFS{
		"index.html":   {Data: []byte("<!doctype html><title>default</title>")},
		"big.txt":      {Data: big},
		".hidden":      {Data: []byte(secret)},
		"sub/page.txt": {Data: []byte("page")},
	}
	s, err := Load(context.Background(), Options{FS: fsys, MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Entries != 3 || st.Streamed != 1 {
		t.Errorf("Stats() = %+v, want 3 entries, 1 streamed", st)
	}
	srv := serve(t, s)
	resp, body := get(t, srv, "GET", "/", nil)
	if resp.StatusCode != 200 || string(body) != "<!doctype html><title>default</title>" {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		t.Errorf("GET / Last-Modified = %q, want none (fs has no times)", lm)
	}
	resp, body = get(t, srv, "GET", "/big.txt", http.Header{"Range": {"bytes=10-19"}})
	if resp.StatusCode != 206 || string(body) != "0123456789" || resp.Header.Get("Content-Range") != "bytes 10-19/10000" {
		t.Errorf("GET /big.txt Range = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
	}
	if resp, _ := get(t, srv, "GET", "/.hidden", nil); resp.StatusCode != 404 {
		t.Errorf("GET /.hidden = %d, want 404", resp.StatusCode)
	}
}
