package h1

import (
	"net/http"
	"sync"
	"testing"
	"time"
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
