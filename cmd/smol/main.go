// Command smol builds static Go binaries repeatably: it runs go build inside
// a pinned builder container (or a matching local toolchain) with flags that
// make the same source give the same bytes on every machine, and leaves the
// binaries, their checksums and a manifest on the host, owned by the caller.
//
// Usage:
//
//	smol build [flags] [packages]   build commands into dist/
//	smol verify [flags]             rebuild from scratch and compare with dist/SHA256SUMS
//	smol test [flags] [-- go test args]   run go test in the same environment
//	smol shell [flags]              an interactive shell in the build environment
//	smol image [flags]              make the builder image from the pinned toolchain (--cgo: with C toolchains)
//	smol clean [--list]             remove warm builder containers, copy mode's cache volumes and what gone smol processes left
//	smol version                    print smol's version
//
// The toolchain comes from go.mod: the toolchain line, else an exact go line
// (go 1.26.8); --go VERSION (SMOL_GO) pins one without editing go.mod, as
// long as it is not older than the go line, and the manifest records it so
// that verify rebuilds with it. The builder image defaults to
// golang:<version>; when it is not present and cannot be pulled, smol makes
// smol/go:<version> from the exact toolchain and says so.
//
// Builds are pure Go (CGO_ENABLED=0). When a package outside the standard
// library has C code (cgo files), smol build stops before the compile and
// asks for a choice: --cgo builds static binaries with C (musl) for
// linux/amd64 and linux/arm64 in the cgo builder image, which
// `smol image --cgo` makes; --cgo=off accepts the pure-Go fallback. The
// choice is recorded in the manifest.
//
// Files reach the engine's daemon by bind mounts when it sees them, and as
// tar streams when it does not (a remote DOCKER_HOST, docker:dind in CI, a
// docker context on a build host): --transfer auto (the default; SMOL_TRANSFER)
// asks the daemon once per daemon and file system and remembers the answer
// under the cache root. In copy mode the source (the git-tracked and
// untracked-not-ignored files, nothing of .git or dist/) goes in as a tar
// stream, the module and build caches live in volumes on the daemon's side
// (labelled smol.cache; smol clean lists and removes them), and the outputs
// come back as a tar stream; the plan, flags and output bytes are those of
// mount mode. --transfer mount where the daemon cannot see the files fails
// and says so.
//
// smol verify first compares every output in dist/ with dist/SHA256SUMS (a
// changed or missing file fails by name), then rebuilds and compares again.
//
// smol build compiles in a warm builder container when one is running for
// the same image, directories and user (docker exec rather than docker run:
// a container start saved), and otherwise starts one for the next build; it
// has no network, sees the source read-only and exits after 10 minutes
// without a build. Its outputs are the same bytes as a fresh container's.
// --warm=false or SMOL_WARM=0 turns this off; smol verify never uses one;
// smol clean removes them.
//
// Environment:
//
//	SMOL_GO          exact Go version to build with instead of go.mod's pin (--go)
//	SMOL_ENGINE      docker, podman or native (default: docker, else podman, on PATH)
//	SMOL_IMAGE       builder image (default golang:<pinned version>)
//	SMOL_CACHE_DIR   cache root (default $XDG_CACHE_HOME/smol or ~/.cache/smol)
//	SMOL_TRANSFER    auto, mount or copy (--transfer; default auto)
//	SMOL_WARM        0 to compile in a fresh container every time (--warm=false)
//	SOURCE_DATE_EPOCH  mtime of outputs (default: the last commit's time)
//	GOPROXY, GOSUMDB, GOPRIVATE, GONOPROXY, GONOSUMDB, GOINSECURE
//	                 used by the dependency step only
//
// Exit status: 0 on success, 1 when the build or verification fails, 2 for a
// usage error, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is stamped by smol itself with -X main.version=...
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	code := exitCode(ctx, err, os.Stderr) // before stop, which cancels ctx
	stop()
	os.Exit(code)
}

// errUsage marks errors whose message has already been printed with usage.
var errUsage = errors.New("usage")

func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp):
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "smol: interrupted")
		return 130
	}
	fmt.Fprintln(stderr, "smol:", err)
	return 1
}

const usage = `usage: smol <command> [flags]

Commands:
  build    build static binaries of a Go module into dist/
  verify   rebuild everything in dist/manifest.json from a clean copy and compare
  test     run go test inside the pinned build environment
  shell    open a shell inside the pinned build environment
  image    make the builder image smol/go:<version> from the pinned toolchain
  clean    list or remove smol's warm containers, volumes and leftovers on the daemon
  version  print smol's version

Run "smol <command> -h" for a command's flags.
`

// run is smol without the process around it: tests call it with buffers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	env := os.Getenv
	switch cmd, rest := args[0], args[1:]; cmd {
	case "build":
		return runBuild(ctx, rest, env, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, env, stdout, stderr)
	case "test":
		return runTest(ctx, rest, env, stdout, stderr)
	case "shell":
		return runShell(ctx, rest, env, stdout, stderr)
	case "image":
		return runImage(ctx, rest, env, stdout, stderr)
	case "clean":
		return runClean(ctx, rest, env, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "smol", toolVersion())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "smol: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// toolVersion is smol's own version: the stamped one, else the module
// version go install recorded, else "devel".
func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// newFlagSet returns a flag set for a subcommand that reports errors to
// stderr and, asked for help, prints usage there: the text, then the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}
