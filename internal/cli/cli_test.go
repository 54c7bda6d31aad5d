package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{ErrUsage, 2, ""},
		{fmt.Errorf("bad -runs: %w", ErrUsage), 2, ""},
		{errors.New("disk full"), 1, "tool: disk full\n"},
	} {
		var stderr bytes.Buffer
		if got := ExitCode("tool", tc.err, &stderr); got != tc.code || stderr.String() != tc.stderr {
			t.Errorf("ExitCode(%v) = %d, %q; want %d, %q", tc.err, got, stderr.String(), tc.code, tc.stderr)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		want   error
		stderr string // a part of what was printed
	}{
		{[]string{"-n", "3"}, nil, ""},
		{[]string{"-h"}, flag.ErrHelp, "usage: tool"},
		{[]string{"-x"}, ErrUsage, "flag provided but not defined: -x"},
		{[]string{"-n", "3", "extra"}, ErrUsage, "tool: unexpected arguments [\"extra\"] (flags only)\nusage: tool"},
	} {
		var stderr bytes.Buffer
		fs := flag.NewFlagSet("tool", flag.ContinueOnError)
		fs.SetOutput(&stderr)
		fs.Usage = func() { fmt.Fprintln(&stderr, "usage: tool [-n N]") }
		n := fs.Int("n", 0, "a number")
		err := Parse(fs, tc.args)
		if err != tc.want || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("Parse(%q) = %v, printed %q; want %v and %q", tc.args, err, stderr.String(), tc.want, tc.stderr)
		}
		if tc.want == nil && *n != 3 {
			t.Errorf("Parse(%q): n = %d", tc.args, *n)
		}
	}
}
