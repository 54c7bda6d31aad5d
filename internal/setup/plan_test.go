package setup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

func TestCacheRoot(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/smol", ""},
		{map[string]string{"HOME": "/h"}, "/h/.cache/smol", ""},
		{nil, "", "set HOME, XDG_CACHE_HOME or --cache-dir"},
	} {
		got, err := CacheRoot(func(k string) string { return tt.env[k] })
		if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CacheRoot(%v) = %q, %v; want %q, %q", tt.env, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestPlan: the directories, the per-toolchain cache, the caller's user and
// the proxy settings come from the module and the environment; a --go pin
// names the cache.
func TestPlan(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.21\n"), 0o644)
	env := map[string]string{"HOME": "/home/u", "GOPROXY": "https://proxy.example", "GOFLAGS": "-race", "SOURCE_DATE_EPOCH": "1700000000"}
	getenv := func(k string) string { return env[k] }
	p, err := Plan(context.Background(), Dirs{Module: dir}, plan.Options{GoPin: "1.26.8", Version: "v1"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if p.OutDir != filepath.Join(dir, "dist") || p.CacheDir != "/home/u/.cache/smol/go1.26.8" || p.GoVersion != "1.26.8" || p.GoPin != "1.26.8" {
		t.Errorf("out %q cache %q go %q pin %q", p.OutDir, p.CacheDir, p.GoVersion, p.GoPin)
	}
	if p.UID != os.Getuid() || p.GID != os.Getgid() || p.Source.Epoch != 1700000000 {
		t.Errorf("uid %d gid %d epoch %d", p.UID, p.GID, p.Source.Epoch)
	}
	if !slices.Equal(p.Proxy, []string{"GOPROXY=https://proxy.example"}) {
		t.Errorf("proxy %q: want only the proxy variables that are set", p.Proxy)
	}

	p, err = Plan(context.Background(), Dirs{Module: dir, Out: "/elsewhere/out", CacheRoot: "/c"}, plan.Options{GoPin: "1.26.8", Version: "v1"}, getenv)
	if err != nil || p.OutDir != "/elsewhere/out" || p.CacheDir != "/c/go1.26.8" {
		t.Errorf("out %q cache %q, %v", p.OutDir, p.CacheDir, err)
	}
	if _, err := Plan(context.Background(), Dirs{Module: dir}, plan.Options{}, getenv); err == nil || !strings.Contains(err.Error(), "--go 1.21.N") {
		t.Errorf("no pin for a go 1.21 module: %v", err)
	}
}
