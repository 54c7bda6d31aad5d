// Command seedserver is the benchmark's baseline: the seed repository's
// server (wperron/gohttp-smol, 2021), changed only so the harness can choose
// the address and the directory.
//
// The seed served the working directory with
//
//	http.Handle("/", http.FileServer(http.Dir("./")))
//	http.ListenAndServe(":8080", nil)
//
// and this program keeps that handler and the default http.Server (no
// timeouts, no logs, no compression) on purpose: it is what gohttp-smol is
// measured against, not something to improve.
//
// Usage:
//
//	seedserver [-addr ADDR] DIR
//
// Exit status is 1 when the flags are wrong or the listener fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "seedserver:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seedserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: seedserver [-addr ADDR] DIR (exactly one directory)")
	}
	dir := fs.Arg(0)

	// The seed's two lines, verbatim apart from the directory and address.
	http.Handle("/", http.FileServer(http.Dir(dir)))
	fmt.Fprintf(stdout, "Starting server at %s\n", *addr)
	return http.ListenAndServe(*addr, nil)
}
