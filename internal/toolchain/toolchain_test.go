package toolchain

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestGoEnv(t *testing.T) {
	fixed := []string{"GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on"}
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{
			name:    "empty",
			environ: nil,
			want:    fixed,
		},
		{
			name: "keeps proxy, cache and network settings in order",
			environ: []string{
				"HOME=/home/u", "PATH=/usr/bin", "GOPROXY=https://proxy.example,direct",
				"GOMODCACHE=/cache/mod", "HTTPS_PROXY=http://p:3128", "GONOSUMDB=corp.example",
				"SSL_CERT_FILE=/etc/corp.pem",
			},
			want: append([]string{
				"HOME=/home/u", "PATH=/usr/bin", "GOPROXY=https://proxy.example,direct",
				"GOMODCACHE=/cache/mod", "HTTPS_PROXY=http://p:3128", "GONOSUMDB=corp.example",
				"SSL_CERT_FILE=/etc/corp.pem",
			}, fixed...),
		},
		{
			name: "drops what would change which toolchain answers or how",
			environ: []string{
				"GOROOT=/opt/go", "GOFLAGS=-mod=vendor", "GOOS=windows", "GOARCH=arm64",
				"GOTOOLCHAIN=go1.20.1", "GOWORK=/w/go.work", "CGO_ENABLED=1", "GOEXPERIMENT=arenas",
				"PATH=/bin",
			},
			want: append([]string{"PATH=/bin"}, fixed...),
		},
		{
			name:    "malformed entries are dropped",
			environ: []string{"PATH", "=x", "HOME=/h"},
			want:    append([]string{"HOME=/h"}, fixed...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Env(tt.environ)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Env(%q)\n got %q\nwant %q", tt.environ, got, tt.want)
			}
		})
	}
}

func TestReadVersionFile(t *testing.T) {
	tests := []struct {
		name, data        string
		wantVer, wantTime string
		wantErr           string
	}{
		{name: "release", data: "go1.26.8\ntime 2026-08-28T16:20:06Z\n", wantVer: "go1.26.8", wantTime: "2026-08-28T16:20:06Z"},
		{name: "old, no time line", data: "go1.20.14", wantVer: "go1.20.14"},
		{name: "empty", data: "", wantErr: "read VERSION: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, tm, err := ReadVersion(fstest.MapFS{"VERSION": {Data: []byte(tt.data)}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || v != tt.wantVer || tm != tt.wantTime {
				t.Errorf("ReadVersion = %q, %q, %v; want %q, %q", v, tm, err, tt.wantVer, tt.wantTime)
			}
		})
	}
}

func TestFindRejectsLanguageVersion(t *testing.T) {
	for _, v := range []string{"1.26", "go1.26.8", "", "1.26.8 "} {
		_, err := Find(context.Background(), v, "", "", nil)
		if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "want a toolchain version such as 1.26.8") {
			t.Errorf("Find(%q) error = %v, want ErrVersion", v, err)
		}
	}
}

// TestFindHost: when the go on PATH is the version asked for, its own GOROOT
// is used, whatever GOROOT, GOTOOLCHAIN or GOFLAGS the caller's shell holds.
func TestFindHost(t *testing.T) {
	host, err := HostGo(context.Background(), "go")
	if err != nil {
		t.Skipf("no usable go command on PATH: %v", err)
	}
	t.Setenv("GOROOT", t.TempDir())
	t.Setenv("GOTOOLCHAIN", "go1.20.1")
	t.Setenv("GOFLAGS", "-mod=vendor")
	v := strings.TrimPrefix(host.GOVERSION, "go")
	tc, err := Find(context.Background(), v, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tc.Host || tc.GOROOT != host.GOROOT || tc.Version != v || tc.Source != "host GOROOT "+host.GOROOT {
		t.Errorf("Find(%s) = %+v, want the host's GOROOT %s", v, tc, host.GOROOT)
	}
	if _, err := os.Stat(tc.Go()); err != nil {
		t.Errorf("Go(): %v", err)
	}
}

func TestModule(t *testing.T) {
	if got, want := Module("1.26.8", "linux", "arm64"), "golang.org/toolchain@v0.0.1-go1.26.8.linux-arm64"; got != want {
		t.Errorf("Module = %q, want %q", got, want)
	}
}
