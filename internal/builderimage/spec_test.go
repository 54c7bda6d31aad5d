package builderimage

import (
	"errors"
	"strings"
	"testing"
)

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
