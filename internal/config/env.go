package config

import (
	"flag"
	"fmt"
	"strings"
)

// EnvName is the environment variable of flag name: "shutdown-timeout"
// gives "GOHTTP_SMOL_SHUTDOWN_TIMEOUT".
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// FlagName is the flag of environment variable name, the inverse of
// [EnvName]; ok is false when name does not have the prefix.
func FlagName(envName string) (name string, ok bool) {
	rest, ok := strings.CutPrefix(envName, EnvPrefix)
	if !ok || rest == "" {
		return "", false
	}
	return strings.ToLower(strings.ReplaceAll(rest, "_", "-")), true
}

// multiValue is a flag.Value that may be given several times. Its
// environment variable holds one value per line, since no value of such a
// flag (a header) can contain a newline.
type multiValue interface {
	flag.Value
	multi()
}

// ApplyEnv sets each flag of fs that was not given on the command line from
// its environment variable, when lookup finds it. Flags named in skip have
// no variable. A variable that is set but empty sets the flag to "", which
// is an error for flags that are not strings. Errors name the variable.
func ApplyEnv(fs *flag.FlagSet, lookup Lookup, skip map[string]bool) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || onCommandLine[f.Name] || skip[f.Name] {
			return
		}
		env := EnvName(f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		values := []string{v}
		if _, multi := f.Value.(multiValue); multi {
			values = nil
			for line := range strings.Lines(v) {
				if line = strings.TrimSpace(line); line != "" {
					values = append(values, line)
				}
			}
		}
		for _, v := range values {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", env, v, e)
				return
			}
		}
	})
	return err
}
