// Package source describes the source tree a build starts from: its git
// revision, the version string stamped into binaries, and the time used for
// output mtimes.
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Info is what smol records about the source of a build.
type Info struct {
	// Revision is the full commit hash of HEAD; "" outside a git checkout.
	Revision string `json:"revision,omitempty"`
	// Describe is `git describe --tags --always --dirty`; "" outside git.
	Describe string `json:"describe,omitempty"`
	// Dirty reports uncommitted changes to tracked files.
	Dirty bool `json:"dirty"`
	// Epoch is SOURCE_DATE_EPOCH when set, else the committer time of HEAD,
	// else 0 (unknown: output mtimes are left alone).
	Epoch int64 `json:"source_date_epoch,omitempty"`
}

// Inspect gathers Info for the module at dir. sourceDateEpoch is the value of
// SOURCE_DATE_EPOCH ("" when unset); it wins over the commit time, as
// https://reproducible-builds.org/specs/source-date-epoch/ asks.
//
// A directory that is not in a git checkout, or a host without git, is not an
// error: the build is still reproducible, it just has no revision to record.
//
// Untracked files that .gitignore does not cover make the tree dirty, except
// those under the directories in ignore (smol's own output directory).
func Inspect(ctx context.Context, dir, sourceDateEpoch string, ignore ...string) (Info, error) {
	var info Info
	if sourceDateEpoch != "" {
		n, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil || n < 0 {
			return Info{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative integer of seconds since 1970", sourceDateEpoch)
		}
		info.Epoch = n
	}
	rev, err := git(ctx, dir, "rev-parse", "--verify", "HEAD")
	if err != nil {
		if errors.Is(err, errNotGit) {
			return info, nil
		}
		return Info{}, err
	}
	info.Revision = rev
	// The three queries are independent, and each is mostly git's start-up:
	// run them at once. The untracked list and the commit time are asked
	// for even when they turn out not to be needed.
	var (
		wg                       sync.WaitGroup
		untracked, ct            string
		errDesc, errUntr, errLog error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		untracked, errUntr = git(ctx, dir, "ls-files", "--others", "--exclude-standard", "--", ".")
	}()
	go func() {
		defer wg.Done()
		if sourceDateEpoch == "" {
			ct, errLog = git(ctx, dir, "log", "-1", "--format=%ct", "HEAD")
		}
	}()
	info.Describe, errDesc = git(ctx, dir, "describe", "--tags", "--always", "--dirty")
	wg.Wait()
	if err := errors.Join(errDesc, errUntr, errLog); err != nil {
		return Info{}, err
	}
	info.Dirty = strings.HasSuffix(info.Describe, "-dirty")
	if !info.Dirty {
		// git describe --dirty looks at tracked files only, but go build
		// compiles an untracked .go file too, and a rebuild from git archive
		// would not have it: such a tree is dirty as well.
		for _, f := range strings.Split(untracked, "\n") {
			if f != "" && !under(filepath.Join(dir, f), ignore) {
				info.Dirty = true
				info.Describe += "-dirty"
				break
			}
		}
	}
	if info.Epoch == 0 && sourceDateEpoch == "" {
		var err error
		if info.Epoch, err = strconv.ParseInt(ct, 10, 64); err != nil {
			return Info{}, fmt.Errorf("git log: commit time %q: %w", ct, err)
		}
	}
	return info, nil
}

// Version is the string stamped into binaries: the describe output, or
// "devel" outside git, so a binary always says something about where it came
// from.
func (i Info) Version() string {
	if i.Describe == "" {
		return "devel"
	}
	return i.Describe
}

// under reports whether path is one of dirs or inside one.
func under(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && filepath.IsLocal(rel) || path == d {
			return true
		}
	}
	return false
}

var errNotGit = errors.New("not a git checkout")

func git(ctx context.Context, dir string, args ...string) (string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", errNotGit
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	// A checkout owned by another user (a CI cache, a mounted volume) makes
	// git refuse to run; the revision is still worth recording.
	cmd.Env = append(os.Environ(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "not a git repository") || strings.Contains(msg, "unknown revision") ||
			strings.Contains(msg, "Needed a single revision") || strings.Contains(msg, "does not have any commits") {
			return "", errNotGit
		}
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(msg))
	}
	return strings.TrimSpace(string(out)), nil
}

// Files lists the files of the source tree at dir that a build can read,
// as slash-separated paths relative to dir, sorted: in a git checkout the
// tracked files (including those deleted from the work tree, which the
// caller will find missing) and the untracked files .gitignore does not
// cover, the same set Inspect counts as dirty; outside git, every file
// under dir. Paths under the directories in ignore are left out.
func Files(ctx context.Context, dir string, ignore ...string) ([]string, error) {
	out, err := git(ctx, dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	var files []string
	switch {
	case err == nil:
		for _, f := range strings.Split(out, "\x00") {
			if f != "" && !under(filepath.Join(dir, filepath.FromSlash(f)), ignore) {
				files = append(files, f)
			}
		}
	case errors.Is(err, errNotGit):
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || under(p, ignore)) && p != dir {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("source files: %w", err)
		}
	default:
		return nil, err
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}
