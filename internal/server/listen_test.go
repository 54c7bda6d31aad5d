package server

import (
	"net"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/systemd"
)

// fakeListener stands for a passed socket; sortPassed only looks at names.
type fakeListener struct{ net.Listener }

func sock(l net.Listener, name string) systemd.Listener {
	return systemd.Listener{Listener: l, Name: name}
}

func TestSortPassed(t *testing.T) {
	a, b, m, r := &fakeListener{}, &fakeListener{}, &fakeListener{}, &fakeListener{}
	for _, tc := range []struct {
		name    string
		passed  []systemd.Listener
		main    []net.Listener
		metrics net.Listener
		redir   net.Listener
		wantErr string
		acme    bool
		tls     bool
	}{
		{"one unnamed", []systemd.Listener{sock(a, "unknown")}, []net.Listener{a}, nil, nil, "", false, false},
		{"all roles in any order", []systemd.Listener{sock(r, "redirect"), sock(m, "metrics"), sock(a, "http")}, []net.Listener{a}, m, r, "", false, false},
		{"two main", []systemd.Listener{sock(a, "http"), sock(b, "http6")}, []net.Listener{a, b}, nil, nil, "", false, false},
		{"no main", []systemd.Listener{sock(m, "metrics")}, nil, nil, nil, "no main socket", false, false},
		{"two metrics", []systemd.Listener{sock(a, "http"), sock(m, "metrics"), sock(b, "metrics")}, nil, nil, nil, `two sockets named "metrics"`, false, false},
		{"acme: http is port 80", []systemd.Listener{sock(a, "https"), sock(r, "http"), sock(m, "metrics")}, []net.Listener{a}, m, r, "", true, false},
		{"acme: http and redirect", []systemd.Listener{sock(a, "https"), sock(r, "http"), sock(b, "redirect")}, nil, nil, nil, `"redirect" or "http"`, true, false},
		{"https without TLS", []systemd.Listener{sock(a, "https")}, nil, nil, nil, `named "https", but neither`, false, false},
		{"https with a certificate file", []systemd.Listener{sock(a, "https"), sock(r, "redirect")}, []net.Listener{a}, nil, r, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := sortPassed(tc.passed, tc.acme, tc.acme || tc.tls)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ls.main) != len(tc.main) || ls.metrics != tc.metrics || ls.redirect != tc.redir {
				t.Fatalf("got %+v", ls)
			}
			for i := range ls.main {
				if ls.main[i] != tc.main[i] {
					t.Errorf("main[%d] differs", i)
				}
			}
		})
	}
}
