package h1

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestArmRead: a read deadline moves only when it has fallen more than
// slack(d) behind now+d, or when the timeout changes; a zero timeout
// clears it.
func TestArmRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &conn{rwc: nc.(*net.TCPConn)}

	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, step := range []struct {
		now     time.Duration
		timeout time.Duration
		want    time.Time
	}{
		{0, 64 * time.Second, at(64 * time.Second)},
		{500 * time.Millisecond, 64 * time.Second, at(64 * time.Second)},                        // within slack (1 s): kept
		{1500 * time.Millisecond, 64 * time.Second, at(1500*time.Millisecond + 64*time.Second)}, // past it: moved
		{1600 * time.Millisecond, 32 * time.Second, at(1600*time.Millisecond + 32*time.Second)}, // another timeout
		{1700 * time.Millisecond, 32 * time.Second, at(1600*time.Millisecond + 32*time.Second)}, // slack 0.5 s: kept
		{2200 * time.Millisecond, 32 * time.Second, at(2200*time.Millisecond + 32*time.Second)}, // moved
		{2300 * time.Millisecond, 0, time.Time{}},                                               // cleared
		{2400 * time.Millisecond, 32 * time.Second, at(2400*time.Millisecond + 32*time.Second)}, // set again at once
	} {
		c.armRead(at(step.now), step.timeout)
		if !c.rdl.Equal(step.want) {
			t.Errorf("armRead at +%v with %v: deadline +%v, want +%v", step.now, step.timeout, c.rdl.Sub(t0), step.want.Sub(t0))
		}
	}
}

// TestBegan: a handler reads from its ResponseWriter when the request's
// head was parsed, a fresh reading for every request of a connection.
func TestBegan(t *testing.T) {
	began := make(chan time.Time, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began <- w.(interface{ Began() time.Time }).Began()
	})
	_, addr, _ := start(t, h, nil)
	c := dial(t, addr)
	before := time.Now()
	c.get("/a")
	first := <-began
	time.Sleep(10 * time.Millisecond)
	c.get("/b")
	second := <-began
	if first.Before(before) || !second.After(first.Add(10*time.Millisecond)) || second.After(time.Now()) {
		t.Errorf("Began: %v then %v, for requests sent from %v, 10 ms apart", first.Sub(before), second.Sub(before), before)
	}
}
