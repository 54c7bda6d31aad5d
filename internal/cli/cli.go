// Package cli is the main function of the repository's smaller commands
// (mkdeb, mknomad, the proof and the benchmarks): it wires signals, flag
// parsing and the exit status they all document, 0 on success or -h, 1 on
// failure, 2 for a usage error. smol and gohttp-smol have richer exit rules
// of their own.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrUsage marks an error whose message, with the usage where that helps,
// has already been printed.
var ErrUsage = errors.New("usage")

// RunFunc is a command's body: the arguments after the program name, the
// standard streams, and a context cancelled by SIGINT or SIGTERM.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and streams and exits with
// ExitCode's status. It does not return.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(name, err, os.Stderr))
}

// ExitCode is the exit status for err: 0 for nil and flag.ErrHelp (the
// usage was asked for and printed), 2 for ErrUsage, else 1 after writing
// "name: err" to stderr.
func ExitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// Parse parses args with fs, which must have been made with
// flag.ContinueOnError and its output set. It returns flag.ErrHelp for -h
// (fs has printed the usage), and ErrUsage for a bad flag (fs has printed
// what was wrong and the usage) or for positional arguments, which none of
// these commands take (Parse prints them and the usage).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q (flags only)\n", fs.Name(), fs.Args())
		fs.Usage()
		return ErrUsage
	}
	return nil
}
