package h1

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/connlimit"
)

// TestClientAlive pipelines requests and closes the connection: the
// handler of the first waits until ClientAlive notices the close, and the
// request after it must see the client gone at once. On a connection that
// stays open, ClientAlive keeps reporting true.
func TestClientAlive(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		alive := ClientAlive(r.Context())
		if r.URL.Path == "/wait" {
			for deadline := time.Now().Add(5 * time.Second); alive && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
				alive = ClientAlive(r.Context())
			}
		}
		mu.Lock()
		seen[r.URL.Path] = alive
		mu.Unlock()
		w.Write([]byte("x"))
	})
	s, addr, _ := start(t, h, nil)

	open := dial(t, addr)
	if resp, _ := open.get("/open"); resp.StatusCode != 200 {
		t.Fatalf("GET /open = %d", resp.StatusCode)
	}

	c := dial(t, addr)
	c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n")
	c.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		_, done := seen["/after"]
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]bool{"/open": true, "/wait": false, "/after": false} {
		if got, ok := seen[path]; !ok || got != want {
			t.Errorf("%s: ClientAlive = %v (served: %v), want %v", path, got, ok, want)
		}
	}
}

// TestServeWrappedTCP serves a listener whose connections wrap TCP ones
// (connlimit's): h1 must serve them itself rather than hand them over, and
// close them through the wrapper, which frees the limit's slot.
func TestServeWrappedTCP(t *testing.T) {
	servedHere := make(chan bool, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Value(connKey{}).(*conn)
		servedHere <- ok
		w.Write([]byte("x"))
	})
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 2 * time.Second, ErrorLog: quietLog()}
	s := &Server{HTTP: hs}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(connlimit.New(1).Listen(raw))
	t.Cleanup(func() { s.Close() })

	// Each connection is accepted only if the one before freed its slot
	// when it was closed: by h1 for a GET, by net/http for a POST, which
	// h1 hands over.
	for i, tc := range []struct {
		req  string
		byH1 bool
	}{
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", true},
		{"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx", false},
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", true},
	} {
		c := dial(t, raw.Addr().String())
		c.send(tc.req)
		if resp, _ := c.read(); resp.StatusCode != 200 {
			t.Fatalf("connection %d: status %d", i, resp.StatusCode)
		}
		if got := <-servedHere; got != tc.byH1 {
			t.Errorf("connection %d: served by h1 %v, want %v", i, got, tc.byH1)
		}
	}
}
