package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// Dirs are where a build reads and writes, as the user gave them.
type Dirs struct {
	Module string // module root; relative to the working directory
	// Out is the output directory, relative to the module root unless
	// absolute; "" means dist.
	Out string
	// CacheRoot holds the caches of every toolchain; "" means
	// CacheRoot(getenv).
	CacheRoot string
}

// Plan reads the module in d.Module and plans the build o describes,
// filling in what comes from the module, the host and the environment: the
// source's revision and time (SOURCE_DATE_EPOCH), the output directory, the
// cache directory of the pinned toolchain, the caller's uid and gid, and the
// module proxy settings (plan.ProxyVars). o's fields for those are
// overwritten.
func Plan(ctx context.Context, d Dirs, o plan.Options, getenv func(string) string) (plan.Plan, error) {
	mod, err := gomod.Read(d.Module)
	if err != nil {
		return plan.Plan{}, err
	}
	out := d.Out
	if out == "" {
		out = "dist"
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(mod.Dir, out)
	}
	src, err := source.Inspect(ctx, mod.Dir, getenv("SOURCE_DATE_EPOCH"), out)
	if err != nil {
		return plan.Plan{}, err
	}
	pin, err := mod.PinWith(o.GoPin)
	if err != nil {
		return plan.Plan{}, err
	}
	root := d.CacheRoot
	if root == "" {
		if root, err = CacheRoot(getenv); err != nil {
			return plan.Plan{}, err
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return plan.Plan{}, err
	}
	o.Proxy = map[string]string{}
	for _, k := range plan.ProxyVars {
		o.Proxy[k] = getenv(k)
	}
	// Caches are per toolchain: a new Go version starts clean rather than
	// sharing a build cache with another compiler.
	o.CacheDir = filepath.Join(root, "go"+pin)
	o.OutDir = out
	o.UID, o.GID = os.Getuid(), os.Getgid()
	return plan.New(mod, src, o)
}

// CacheRoot is where smol keeps caches when the user names no directory:
// $XDG_CACHE_HOME/smol, else $HOME/.cache/smol.
func CacheRoot(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "smol"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "smol"), nil
	}
	return "", errors.New("no cache directory: set HOME, XDG_CACHE_HOME or --cache-dir")
}
