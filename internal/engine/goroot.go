package engine

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/filelock"
)

// A GOROOT volume is a named volume holding a copy of a builder image's
// GOROOT, mounted read-only over it in every container of a build
// (Container.GOROOTVolume). It exists for engines whose storage driver
// reads image files through FUSE (SlowImageFS): a build reads the standard
// library's source, and executes the go command, compiler and linker, from
// GOROOT thousands of times, and each read crosses into the fuse-overlayfs
// process and back. A volume is a plain directory on the daemon's side
// (BENCHMARKS.md has what that saves).
//
// The copy is the engine's own: a volume that is empty when a container
// first mounts it is filled with what the image holds at the mount point
// (Docker's "copy-up"), so its files are the image's bytes, and what is
// built is the same. Docker fills it while creating that container, before
// the container runs. A second container created meanwhile would find it
// neither empty nor full, and Docker never completes a volume that is not
// empty. So FillGOROOT fills under a host lock, and marks a volume whose
// fill finished with a second, empty volume (GOROOTDone), made only after
// the image's go command ran from the copy; it looks volumes up under the
// same lock, and a volume without its mark is removed and filled again.
// Builds mount the volume with volume-nocopy: if it was removed since, the
// engine makes an empty one, the build fails on a missing go command, and
// the next build's FillGOROOT fills it again, rather than several
// containers of one build racing to fill it.

// GOROOTDir is GOROOT in the official golang images and in smol's own
// (package builderimage): the images whose GOROOT smol knows.
const GOROOTDir = "/usr/local/go"

// LabelGOROOT marks a GOROOT volume and its completion mark; its value is
// the ID of the image whose GOROOT the volume holds.
const LabelGOROOT = "smol.goroot"

// SlowImageFS reports whether storage driver driver (as docker info names
// it) reads image files through a user-space file system, so that a GOROOT
// volume pays off. With overlay2 or btrfs the kernel reads image files as
// fast as a volume's, and a copy would only take disk space.
func SlowImageFS(driver string) bool { return driver == "fuse-overlayfs" }

// GOROOTVolumeName is the name of the GOROOT volume of image ID id.
func GOROOTVolumeName(id string) string { return "smol-goroot-" + ShortID(id) }

// GOROOTDone is the name of the empty volume that marks GOROOT volume name
// as filled.
func GOROOTDone(name string) string { return name + "-filled" }

// gorootLabels are the labels, KEY=VALUE, of the GOROOT volume of image ID
// id and of its mark.
func gorootLabels(id string) []string {
	return []string{LabelVolume + "=1", LabelGOROOT + "=" + id}
}

// gorootMount is the --mount option that puts volume name, the GOROOT
// volume of image ID id, read-only at GOROOTDir. volume-nocopy: a volume
// removed since it was filled comes back empty, not filled by whichever
// of a build's containers starts first while the others see it half full
// (see the top of this file); its labels let the next FillGOROOT know it.
func gorootMount(name, id string, nocopy bool) string {
	m := "type=volume,src=" + name + ",dst=" + GOROOTDir + ",readonly"
	if nocopy {
		m += ",volume-nocopy"
	}
	for _, l := range gorootLabels(id) {
		m += ",volume-label=" + l
	}
	return m
}

// findGOROOT sets GOROOTVolume from FindGOROOT, once. ctx is that of
// whichever step gets here first; the others wait for it, so a cancel of
// that step ends the look-up for all, which then read GOROOT from the
// image.
func (c *Container) findGOROOT(ctx context.Context) {
	c.gorootOnce.Do(func() {
		if c.FindGOROOT != nil {
			c.GOROOTVolume = c.FindGOROOT(ctx)
		}
	})
}

// gorootArgs are the options that mount c's GOROOT volume, if it has one.
func (c *Container) gorootArgs() []string {
	if c.GOROOTVolume == "" {
		return nil
	}
	return []string{"--mount", gorootMount(c.GOROOTVolume, c.Image, true)}
}

// gorootLock is the host's lock file for GOROOT volumes, one for every
// user and daemon: fills are rare, and users may share a daemon. It is in
// /tmp itself rather than $TMPDIR, which differs from user to user.
const gorootLock = "/tmp/smol-goroot.lock"

// FillGOROOT makes volume name the filled GOROOT volume of c.Image, which
// must be an image ID, of an image with its GOROOT at GOROOTDir, and
// says on log when it fills one. Under the host's lock:
//
//   - a volume marked filled (GOROOTDone) for c.Image is left as it is;
//   - one of smol's without the mark (a fill that was cut short, or the
//     empty volume a build's mount made after the volume was removed) is
//     removed, with its mark, and filled again;
//   - a missing one is made and filled by a container of the image that
//     mounts it and runs its go version, and is marked when that succeeds,
//     or removed when it fails;
//   - a volume of that name that is not labelled for c.Image is not
//     touched, and is an error.
//
// Only Docker is known to fill a volume from the image as described above.
func (c *Container) FillGOROOT(ctx context.Context, name string, log io.Writer) error {
	unlock, err := filelock.Lock(ctx, gorootLock, 0o644)
	if err != nil {
		return fmt.Errorf("GOROOT volume: %w", err)
	}
	defer unlock()
	done := GOROOTDone(name)
	labels, err := c.volumeLabels(ctx, name, done)
	if err != nil {
		return fmt.Errorf("GOROOT volume %s: %w", name, err)
	}
	switch {
	case labels[name] == c.Image && labels[done] == c.Image:
		return nil
	case labels[name] != "" && labels[name] != c.Image || labels[done] != "" && labels[done] != c.Image:
		return fmt.Errorf("GOROOT volume %s: it is there, but not labelled %s=%s: remove it (docker volume rm %s %s)", name, LabelGOROOT, c.Image, name, done)
	case labels[name] != "" || labels[done] != "":
		// Ours, but not marked filled.
		if _, err := Output(exec.CommandContext(ctx, c.Bin, "volume", "rm", "--force", name, done), nil); err != nil {
			return fmt.Errorf("GOROOT volume %s is not marked filled and cannot be removed to fill it again: %w", name, explainOr(c.Kind, err))
		}
	}
	fmt.Fprintf(log, "smol: copying the GOROOT of image %s to volume %s, once (smol clean removes it)\n", ShortID(c.Image), name)
	ctr := c.Prefix + "-goroot"
	argv := []string{"run", "--rm", "--name", ctr, "--user", fmt.Sprintf("%d:%d", c.UID, c.GID), "--pull=never", "--network=none"}
	for _, l := range c.Labels {
		argv = append(argv, "--label", l)
	}
	argv = append(argv, "--mount", gorootMount(name, c.Image, false), c.Image, GOROOTDir+"/bin/go", "version")
	out, err := Output(exec.CommandContext(ctx, c.Bin, argv...), nil)
	if err == nil && !strings.HasPrefix(string(out), "go version go") {
		err = fmt.Errorf("go version printed %q", strings.TrimSpace(string(out)))
	}
	if err == nil {
		argv := []string{"volume", "create"}
		for _, l := range gorootLabels(c.Image) {
			argv = append(argv, "--label", l)
		}
		_, err = Output(exec.CommandContext(ctx, c.Bin, append(argv, done)...), nil)
	}
	if err != nil {
		// Neither a container holding the volume nor the volume half
		// filled is left behind; a cancelled ctx must not stop that.
		c.remove(ctr)
		c.removeVolumes(name, done)
		return fmt.Errorf("GOROOT volume %s: fill from image %s: %w", name, c.Image, explainOr(c.Kind, err))
	}
	return nil
}

// noGOROOTLabel stands, in the answer of volumeLabels, for a volume without
// LabelGOROOT.
const noGOROOTLabel = "(none)"

// volumeLabels returns the LabelGOROOT label of each of the volumes names
// that exists (noGOROOTLabel for one without it), in one inspect call.
func (c *Container) volumeLabels(ctx context.Context, names ...string) (map[string]string, error) {
	format := "{{.Name}}\t{{index .Labels \"" + LabelGOROOT + "\"}}\t."
	out, err := Output(exec.CommandContext(ctx, c.Bin, append([]string{"volume", "inspect", "--format", format}, names...)...), nil)
	// inspect fails when one is missing, and still prints the others.
	if err != nil && !strings.Contains(strings.ToLower(err.Error()), "no such volume") {
		return nil, explainOr(c.Kind, err)
	}
	labels := map[string]string{}
	for _, f := range lines(out) {
		if len(f) == 3 {
			labels[f[0]] = cmp.Or(noValue(f[1]), noGOROOTLabel)
		}
	}
	return labels, nil
}

// removeVolumes removes volumes, whatever the caller's context.
func (c *Container) removeVolumes(names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, c.Bin, append([]string{"volume", "rm", "--force"}, names...)...).Run()
}
