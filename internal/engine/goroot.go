package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/filelock"
)

// A GOROOT volume is a named volume holding a copy of a builder image's
// GOROOT, mounted read-only over it in every container of a build
// (Container.GOROOTVolume). It exists for engines whose storage driver
// reads image files through FUSE (SlowImageFS): a build reads the standard
// library's source, and executes the go command, compiler and linker, from
// GOROOT thousands of times, and each read crosses into the fuse-overlayfs
// process and back. A volume is a plain directory on the daemon's side.
// On this project's 2-core build machine (Docker 20.10, fuse-overlayfs) a
// cold two-platform build of ./cmd/gohttp-smol took 10% less time and CPU
// with GOROOT on a volume (four alternating pairs, 0.85x–0.90x each).
//
// The copy is the engine's own: a volume that is empty when a container
// first mounts it is filled with what the image holds at the mount point
// (Docker's "copy-up"), so its files are the image's bytes, and what is
// built is the same. Docker fills it while creating that container, before
// the container runs; a second container created meanwhile would find it
// neither empty nor full, which is why FillGOROOT fills under a host lock
// and builds mount only a volume that FillGOROOT has filled.

// GOROOTDir is GOROOT in the official golang images and in smol's own
// (package builderimage): the images whose GOROOT smol knows.
const GOROOTDir = "/usr/local/go"

// LabelGOROOT marks a GOROOT volume; its value is the ID of the image
// whose GOROOT it holds.
const LabelGOROOT = "smol.goroot"

// SlowImageFS reports whether storage driver driver (as docker info names
// it) reads image files through a user-space file system, so that a GOROOT
// volume pays off. With overlay2 or btrfs the kernel reads image files as
// fast as a volume's, and a copy would only take disk space.
func SlowImageFS(driver string) bool { return driver == "fuse-overlayfs" }

// GOROOTVolumeName is the name of the GOROOT volume of image ID id.
func GOROOTVolumeName(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return "smol-goroot-" + id
}

// GOROOTVolumes lists the GOROOT volumes on the Docker daemon behind bin:
// the name of each, by the image ID its label names.
func GOROOTVolumes(ctx context.Context, bin string) (map[string]string, error) {
	out, err := Output(exec.CommandContext(ctx, bin, "volume", "ls", "--filter", "label="+LabelGOROOT,
		"--format", "{{.Name}}\t{{.Label \""+LabelGOROOT+"\"}}"), nil)
	if err != nil {
		return nil, explainOr("docker", err)
	}
	vols := map[string]string{}
	for _, f := range lines(out) {
		if len(f) == 2 && f[1] != "" {
			vols[f[1]] = f[0]
		}
	}
	return vols, nil
}

// gorootMount is the --mount option that puts volume name, the GOROOT
// volume of image ID id, read-only at GOROOTDir. Its labels are given to
// the volume if the engine has to make it (it was removed since it was
// filled): it is then filled from the image as it is mounted, and smol
// clean still finds it.
func gorootMount(name, id string) string {
	return "type=volume,src=" + name + ",dst=" + GOROOTDir + ",readonly" +
		",volume-label=" + LabelVolume + "=1,volume-label=" + LabelGOROOT + "=" + id
}

// findGOROOT sets GOROOTVolume from FindGOROOT, once.
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
	return []string{"--mount", gorootMount(c.GOROOTVolume, c.Image)}
}

// gorootLock is the host's lock file for filling GOROOT volumes. It is one
// file for every user and daemon: fills are rare, and processes of
// different users may share a daemon.
var gorootLock = filepath.Join(os.TempDir(), "smol-goroot.lock")

// FillGOROOT makes volume name the GOROOT volume of c.Image, which must be
// an image ID, of an image with its GOROOT at GOROOTDir. Under the host's
// lock, a volume already labelled with c.Image is left as it is; a
// missing one is made and filled by a container of the image that mounts
// it and runs its `go version`, and is removed again if that fails. A volume
// of that name with another label is not touched, and is an error.
//
// Only Docker is known to fill a volume from the image as described above.
func (c *Container) FillGOROOT(ctx context.Context, name string) error {
	unlock, err := filelock.Lock(ctx, gorootLock, 0o644)
	if err != nil {
		return fmt.Errorf("GOROOT volume: %w", err)
	}
	defer unlock()
	out, err := Output(exec.CommandContext(ctx, c.Bin, "volume", "inspect", "--format", `{{index .Labels "`+LabelGOROOT+`"}}`, name), nil)
	switch {
	case err == nil && strings.TrimSpace(string(out)) == c.Image:
		return nil // filled by another process while this one waited
	case err == nil:
		return fmt.Errorf("GOROOT volume %s: it is there, but not labelled %s=%s: remove it (docker volume rm %s)", name, LabelGOROOT, c.Image, name)
	case !strings.Contains(strings.ToLower(err.Error()), "no such volume"):
		return fmt.Errorf("GOROOT volume %s: %w", name, explainOr(c.Kind, err))
	}
	out, err = Output(exec.CommandContext(ctx, c.Bin, "run", "--rm", "--name", c.Prefix+"-goroot",
		"--user", fmt.Sprintf("%d:%d", c.UID, c.GID), "--pull=never", "--network=none",
		"--mount", gorootMount(name, c.Image), c.Image, GOROOTDir+"/bin/go", "version"), nil)
	if err == nil && !strings.HasPrefix(string(out), "go version go") {
		err = fmt.Errorf("go version printed %q", strings.TrimSpace(string(out)))
	}
	if err != nil {
		// Not left half-filled for the next build to mount.
		exec.Command(c.Bin, "volume", "rm", "--force", name).Run()
		return fmt.Errorf("GOROOT volume %s: fill from image %s: %w", name, c.Image, explainOr(c.Kind, err))
	}
	return nil
}
