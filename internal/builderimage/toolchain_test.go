package builderimage

import (
	"context"
	"errors"
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
			got := goEnv(tt.environ)
			if !slices.Equal(got, tt.want) {
				t.Errorf("goEnv(%q)\n got %q\nwant %q", tt.environ, got, tt.want)
			}
		})
	}
}

func TestSpecWithDefaults(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		want    Spec
		wantErr string
	}{
		{
			name: "defaults",
			spec: Spec{GoVersion: "1.26.8", Arch: "amd64"},
			want: Spec{GoVersion: "1.26.8", Tag: "smol/go:1.26.8", Arch: "amd64"},
		},
		{
			name: "prerelease and registry tag",
			spec: Spec{GoVersion: "1.27rc1", Tag: "registry.local:5000/team/go-builder:1.27rc1-b", Arch: "arm64"},
			want: Spec{GoVersion: "1.27rc1", Tag: "registry.local:5000/team/go-builder:1.27rc1-b", Arch: "arm64"},
		},
		{name: "language version", spec: Spec{GoVersion: "1.26"}, wantErr: `Go version "1.26": want a toolchain version`},
		{name: "go prefix", spec: Spec{GoVersion: "go1.26.8"}, wantErr: `Go version "go1.26.8"`},
		{name: "empty version", spec: Spec{}, wantErr: `Go version ""`},
		{name: "unknown arch", spec: Spec{GoVersion: "1.26.8", Arch: "x86_64"}, wantErr: `architecture "x86_64": want a linux GOARCH`},
		{name: "tag without tag", spec: Spec{GoVersion: "1.26.8", Tag: "smol/go"}, wantErr: `tag "smol/go": want NAME:TAG`},
		{name: "upper-case name", spec: Spec{GoVersion: "1.26.8", Tag: "Smol/go:1"}, wantErr: `tag "Smol/go:1"`},
		{name: "space", spec: Spec{GoVersion: "1.26.8", Tag: "smol/go:1 2"}, wantErr: `tag "smol/go:1 2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSpec) {
					t.Fatalf("withDefaults(%+v) error = %v, want ErrSpec containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("withDefaults(%+v): %v", tt.spec, err)
			}
			if got != tt.want {
				t.Errorf("withDefaults(%+v) = %+v, want %+v", tt.spec, got, tt.want)
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
			v, tm, err := readVersionFile(fstest.MapFS{"VERSION": {Data: []byte(tt.data)}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || v != tt.wantVer || tm != tt.wantTime {
				t.Errorf("readVersionFile = %q, %q, %v; want %q, %q", v, tm, err, tt.wantVer, tt.wantTime)
			}
		})
	}
}

func TestToolchainRejectsLanguageVersion(t *testing.T) {
	_, _, err := Toolchain(context.Background(), "1.26", nil)
	if !errors.Is(err, ErrSpec) {
		t.Fatalf("Toolchain(1.26) error = %v, want ErrSpec", err)
	}
}
