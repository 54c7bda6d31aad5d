package h1

import (
	"net"
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
