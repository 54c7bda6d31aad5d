package site

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attempt is one line of testdata/traversal.txt.
type attempt struct {
	line   int
	target string
	status int
}

func readAttempts(t *testing.T) []attempt {
	t.Helper()
	data, err := os.ReadFile("testdata/traversal.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []attempt
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.LastIndexByte(line, '"')
		target, err := strconv.Unquote(line[:end+1])
		if err != nil {
			t.Fatalf("traversal.txt:%d: %v", i+1, err)
		}
		a := attempt{line: i + 1, target: target, status: 404}
		if rest := strings.TrimSpace(line[end+1:]); rest != "" {
			if a.status, err = strconv.Atoi(rest); err != nil {
				t.Fatalf("traversal.txt:%d: status %q: %v", i+1, rest, err)
			}
		}
		out = append(out, a)
	}
	if len(out) < 30 {
		t.Fatalf("traversal.txt holds %d attempts, want at least 30", len(out))
	}
	return out
}

// rawGet sends target as it is on a new connection, bypassing the
// normalisation a client library would apply.
func rawGet(t *testing.T, addr, target string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	return resp, body
}

// TestTraversal sends every attempt of the corpus over a real socket: each
// must get its expected status, and no response may hold a secret byte.
// With Listing and Fallback on, an attempt may also get the fallback page,
// but still nothing secret.
func TestTraversal(t *testing.T) {
	fx := newFixture(t)
	attempts := readAttempts(t)
	strict := serve(t, fx.load(t, Options{}))
	lax := serve(t, fx.load(t, Options{Listing: true, Fallback: "/index.html"}))
	notFound := fx.files["404.html"]
	for _, a := range attempts {
		t.Run(strconv.Quote(a.target), func(t *testing.T) {
			resp, body := rawGet(t, strict.Listener.Addr().String(), a.target)
			if resp.StatusCode != a.status {
				t.Errorf("traversal.txt:%d: GET %q = %d, want %d (body %.60q)", a.line, a.target, resp.StatusCode, a.status, body)
			}
			if a.status == 404 && !bytes.Equal(body, notFound) {
				t.Errorf("traversal.txt:%d: GET %q: body %.60q, want the 404 page", a.line, a.target, body)
			}
			if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte("root:")) {
				t.Errorf("traversal.txt:%d: GET %q disclosed: %q", a.line, a.target, body)
			}

			resp, body = rawGet(t, lax.Listener.Addr().String(), a.target)
			if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte("root:")) {
				t.Errorf("traversal.txt:%d: with listing and fallback, GET %q disclosed: %q", a.line, a.target, body)
			}
			if resp.StatusCode == 200 && !bytes.Equal(body, fx.files["index.html"]) {
				t.Errorf("traversal.txt:%d: with listing and fallback, GET %q = 200 with %.60q, want 404 or the fallback page", a.line, a.target, body)
			}
		})
	}
}
