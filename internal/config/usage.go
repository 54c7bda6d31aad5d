package config

import (
	"flag"
	"fmt"
	"io"
)

// usage writes the synopsis and one entry per flag with its default and its
// environment variable, the way an operator reads it in a terminal.
func usage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, "usage: gohttp-smol [flags] [DIR]\n\n"+
		"Serves DIR, or an embedded page saying how to use it when DIR is not given.\n"+
		"Every flag can also be set by the environment variable shown; the command line wins.\n\nflags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(out, "%s\n    \t%s", line, help)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(out, " (default %q)", f.DefValue)
		}
		if !noEnv[f.Name] {
			fmt.Fprintf(out, "\n    \tenv %s", EnvName(f.Name))
		}
		fmt.Fprintln(out)
	})
}
