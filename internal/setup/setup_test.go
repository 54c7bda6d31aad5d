package setup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/gomod"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/source"
	"github.com/gohttp-smol/gohttp-smol/internal/toolchain"
)

// fakeCLI is a stand-in for the docker or podman CLI: a shell script that
// appends its arguments to argv beside it and answers from two files there,
// images (the local store, "REF ID" lines) and registry (what a pull can
// fetch). A file named down makes it answer as a CLI whose daemon is not
// running, and one named vague makes it say that an image is missing
// without naming it when asked about several. load reads the image ID from
// the archive's manifest.json, as the engine derives it from the config's
// digest.
const fakeCLI = `#!/bin/sh
PATH=$FAKE_TOOLS_PATH
d=$(dirname "$0")
echo "$*" >> "$d/argv"
if [ -e "$d/down" ]; then
	echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
	exit 1
fi
case "$1" in
image)
	shift 4
	rc=0
	for ref in "$@"; do
		id=$(awk -v r="$ref" '$1 == r { print $2 }' "$d/images")
		if [ -n "$id" ]; then echo "$id"; continue; fi
		rc=1
		if [ -e "$d/vague" ] && [ $# -gt 1 ]; then echo "Error: not every image was found" >&2; continue; fi
		echo "Error response from daemon: No such image: $ref" >&2
	done
	exit $rc;;
pull)
	id=$(awk -v r="$2" '$1 == r { print $2 }' "$d/registry")
	if [ -z "$id" ]; then echo "Error response from daemon: pull access denied for $2, repository does not exist" >&2; exit 1; fi
	echo "$2 $id" >> "$d/images";;
load)
	m=$(tar -xOf "$3" manifest.json) || exit 1
	cfg=$(echo "$m" | sed -n 's/.*"Config":"\([0-9a-f]*\)\.json".*/\1/p')
	tag=$(echo "$m" | sed -n 's/.*"RepoTags":\["\([^"]*\)"\].*/\1/p')
	echo "$tag sha256:$cfg" >> "$d/images"
	echo "Loaded image: $tag";;
*)
	echo "fake: unexpected command: $*" >&2
	exit 2;;
esac
`

// toolsPATH finds the tools the fake CLI uses (awk, sed, tar), whatever
// PATH a test sets for the code under test.
var toolsPATH = os.Getenv("PATH")

// fakeEngine puts a fake CLI named name first on PATH, with the given
// local images and registry, and returns its directory.
func fakeEngine(t *testing.T, name string, images, registry map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(file string, refs map[string]string) {
		var b strings.Builder
		for ref, id := range refs {
			b.WriteString(ref + " " + id + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("images", images)
	write("registry", registry)
	script := strings.Replace(fakeCLI, "$FAKE_TOOLS_PATH", "'"+toolsPATH+"'", 1)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// argv returns the commands the fake CLI in dir was run with.
func argv(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "argv"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	// The daemon's ID is asked beside the image's look-up, for the
	// transfer choice (faked in these tests): its place among the
	// commands is not fixed, so it is left out.
	return slices.DeleteFunc(strings.Split(strings.TrimSpace(string(b)), "\n"), func(a string) bool {
		return strings.HasPrefix(a, "info ")
	})
}

// hostGoVersion is the version of the go on PATH, "" when there is none.
func hostGoVersion(t *testing.T) string {
	t.Helper()
	v, err := toolchain.HostGo(context.Background(), "go")
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(v.GOVERSION, "go")
}

func testPlan(t *testing.T, pin string) plan.Plan {
	t.Helper()
	dir := t.TempDir()
	mod := gomod.Module{Dir: dir, Path: "example.com/m", Go: "1.21"}
	p, err := plan.New(mod, source.Info{Describe: "v1"}, plan.Options{GoPin: pin, CacheDir: filepath.Join(dir, "cache"), UID: os.Getuid(), GID: os.Getgid()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	officialID = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	ownID      = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	teamID     = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

// TestImageFallback walks every branch of the image choice with a fake CLI
// and checks the image chosen, the ID that runs, what the user is told and
// which CLI commands ran.
func TestImageFallback(t *testing.T) {
	tests := []struct {
		name     string
		choice   Choice
		images   map[string]string
		registry map[string]string
		down     bool
		vague    bool // the fake does not name a missing image when asked about several
		wantRef  string
		wantID   string
		wantLog  string
		wantArgv []string // exactly the CLI commands run
		wantErr  string
	}{
		{
			name:     "default image present",
			images:   map[string]string{"golang:1.26.8": officialID, "smol/go:1.26.8": ownID},
			wantRef:  "golang:1.26.8",
			wantID:   officialID,
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8"},
		},
		{
			name:     "own image present",
			images:   map[string]string{"smol/go:1.26.8": ownID},
			wantRef:  "smol/go:1.26.8",
			wantID:   ownID,
			wantLog:  "smol: image golang:1.26.8 not present; using smol/go:1.26.8 222222222222",
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8"},
		},
		{
			name:     "own image present, engine does not name the missing one",
			images:   map[string]string{"smol/go:1.26.8": ownID},
			vague:    true,
			wantRef:  "smol/go:1.26.8",
			wantID:   ownID,
			wantLog:  "smol: image golang:1.26.8 not present; using smol/go:1.26.8 222222222222",
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8", "image inspect --format {{.Id}} golang:1.26.8", "image inspect --format {{.Id}} smol/go:1.26.8"},
		},
		{
			name:     "both present, engine does not name the missing one",
			images:   map[string]string{"golang:1.26.8": officialID, "smol/go:1.26.8": ownID},
			vague:    true,
			wantRef:  "golang:1.26.8",
			wantID:   officialID,
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8"},
		},
		{
			name:     "pull ok",
			registry: map[string]string{"golang:1.26.8": officialID},
			wantRef:  "golang:1.26.8",
			wantID:   officialID,
			wantLog:  "smol: image golang:1.26.8 not present; pulling",
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8", "pull golang:1.26.8", "image inspect --format {{.Id}} golang:1.26.8"},
		},
		{
			name:     "explicit image present",
			choice:   Choice{Image: "team/go:1", Explicit: true},
			images:   map[string]string{"team/go:1": teamID},
			wantRef:  "team/go:1",
			wantID:   teamID,
			wantArgv: []string{"image inspect --format {{.Id}} team/go:1"},
		},
		{
			name:     "explicit image missing",
			choice:   Choice{Image: "team/go:1", Explicit: true},
			images:   map[string]string{"smol/go:1.26.8": ownID},
			wantErr:  `image team/go:1 is not present and cannot be pulled (docker pull team/go:1: exit status 1): load it, or run "smol image" and build with --image smol/go:1.26.8`,
			wantArgv: []string{"image inspect --format {{.Id}} team/go:1", "pull team/go:1"},
		},
		{
			name:     "recorded image missing falls back",
			choice:   Choice{Image: "golang:1.26.8"},
			images:   map[string]string{"smol/go:1.26.8": ownID},
			wantRef:  "smol/go:1.26.8",
			wantID:   ownID,
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8"},
		},
		{
			name:     "daemon down",
			down:     true,
			wantErr:  "container engine not reachable: docker: start it",
			wantArgv: []string{"image inspect --format {{.Id}} golang:1.26.8 smol/go:1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fakeEngine(t, "docker", tt.images, tt.registry)
			if tt.down {
				os.WriteFile(filepath.Join(dir, "down"), nil, 0o644)
			}
			if tt.vague {
				os.WriteFile(filepath.Join(dir, "vague"), nil, 0o644)
			}
			p := testPlan(t, "1.26.8")
			tt.choice.Engine = "docker"
			tt.choice.ToolVersion = "v-test"
			var log bytes.Buffer
			r, err := Prepare(context.Background(), tt.choice, p, &log)
			got := argv(t, dir)
			if strings.Join(got, "\n") != strings.Join(tt.wantArgv, "\n") {
				t.Errorf("CLI commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantArgv, "\n"))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if tt.down && !errors.Is(err, engine.ErrDaemon) {
					t.Errorf("error %v is not ErrDaemon", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, log.String())
			}
			c, ok := r.Executor.(*engine.Container)
			if !ok {
				t.Fatalf("executor %T, want a container", r.Executor)
			}
			if c.Image != tt.wantID || r.Record.ImageID != tt.wantID || r.Record.ImageRef != tt.wantRef || r.Record.ToolVersion != "v-test" {
				t.Errorf("runs %q, record %+v; want %s %s", c.Image, r.Record, tt.wantRef, tt.wantID)
			}
			if !strings.Contains(log.String(), tt.wantLog) || !strings.Contains(log.String(), "smol: image "+tt.wantRef+" ") {
				t.Errorf("log lacks %q and the chosen image:\n%s", tt.wantLog, log.String())
			}
		})
	}
}

// TestImageMade: when neither image is present and the default cannot be
// pulled, smol makes its own image from the pinned toolchain and loads it
// (here into the fake, which takes the ID from the archive).
func TestImageMade(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes a builder image archive of the host's GOROOT (about 270 MB)")
	}
	pin := hostGoVersion(t)
	if pin == "" || runtime.GOOS != "linux" {
		t.Skip("needs the go command on linux: the image is made from the host's GOROOT")
	}
	dir := fakeEngine(t, "docker", nil, nil)
	var log bytes.Buffer
	r, err := Prepare(context.Background(), Choice{Engine: "docker"}, testPlan(t, pin), &log)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	own := "smol/go:" + pin
	if r.Record.ImageRef != own || !strings.HasPrefix(r.Record.ImageID, "sha256:") || r.Executor.(*engine.Container).Image != r.Record.ImageID {
		t.Errorf("record %+v, want %s with the loaded ID running", r.Record, own)
	}
	for _, want := range []string{"cannot pull golang:" + pin + "; making " + own, "smol: made " + own} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	got := argv(t, dir)
	if len(got) != 4 || got[0] != "image inspect --format {{.Id}} golang:"+pin+" "+own || !strings.HasPrefix(got[2], "load -i ") || got[3] != "image inspect --format {{.Id}} "+own {
		t.Errorf("CLI commands:\n%s", strings.Join(got, "\n"))
	}
}

// TestEngineChoice: the engine named wins; without one, docker, else
// podman, from PATH; with none, an error that says what to install.
func TestEngineChoice(t *testing.T) {
	images := map[string]string{"golang:1.26.8": officialID}
	t.Run("podman when docker is absent", func(t *testing.T) {
		t.Setenv("PATH", "/nonexistent")
		fakeEngine(t, "podman", images, nil)
		r, err := Prepare(context.Background(), Choice{}, testPlan(t, "1.26.8"), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if c := r.Executor.(*engine.Container); c.Kind != "podman" || c.Bin != "podman" {
			t.Errorf("engine %s (%s), want podman", c.Kind, c.Bin)
		}
	})
	t.Run("docker first", func(t *testing.T) {
		t.Setenv("PATH", "/nonexistent")
		fakeEngine(t, "podman", images, nil)
		fakeEngine(t, "docker", images, nil)
		r, err := Prepare(context.Background(), Choice{}, testPlan(t, "1.26.8"), &bytes.Buffer{})
		if err != nil || r.Executor.Name() != "docker" {
			t.Fatalf("executor %v, %v; want docker", r.Executor, err)
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Prepare(context.Background(), Choice{}, testPlan(t, "1.26.8"), &bytes.Buffer{})
		if !errors.Is(err, engine.ErrNoEngine) || !strings.Contains(err.Error(), "install Docker or Podman") {
			t.Errorf("error %v, want ErrNoEngine saying what to install", err)
		}
	})
	t.Run("named but absent", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Prepare(context.Background(), Choice{Engine: "podman"}, testPlan(t, "1.26.8"), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "podman is not on PATH") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("dry run looks nothing up", func(t *testing.T) {
		dir := fakeEngine(t, "docker", nil, nil)
		r, err := Prepare(context.Background(), Choice{Engine: "docker", DryRun: true}, testPlan(t, "1.26.8"), &bytes.Buffer{})
		if err != nil || r.Executor.(*engine.Container).Image != "golang:1.26.8" {
			t.Fatalf("executor %+v, %v", r.Executor, err)
		}
		if got := argv(t, dir); len(got) != 1 || got[0] != "" {
			t.Errorf("a dry run ran the CLI: %q", got)
		}
	})
}

// TestNative: the native engine runs the pinned toolchain, which is the
// host's GOROOT when the go on PATH is the pin.
func TestNative(t *testing.T) {
	pin := hostGoVersion(t)
	if pin == "" {
		t.Skip("no go command on PATH")
	}
	host, err := toolchain.HostGo(context.Background(), "go")
	if err != nil {
		t.Fatal(err)
	}
	p := testPlan(t, pin)
	var log bytes.Buffer
	r, err := Prepare(context.Background(), Choice{Engine: "native"}, p, &log)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := r.Executor.(*engine.Native)
	if !ok {
		t.Fatalf("executor %T, want native", r.Executor)
	}
	if n.Go != filepath.Join(host.GOROOT, "bin", "go") || n.As != nil || r.Record.ImageRef != "" {
		t.Errorf("native executor %+v, record %+v", n, r.Record)
	}
	if want := "smol: toolchain go" + pin + " from host GOROOT " + host.GOROOT + ", engine native"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}

	// A plan for another user runs the host toolchain as that user.
	p.UID, p.GID = 12345, 12345
	r, err = Prepare(context.Background(), Choice{Engine: "native"}, p, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if as := r.Executor.(*engine.Native).As; as == nil || as.Uid != 12345 || as.Gid != 12345 {
		t.Errorf("As = %+v, want uid and gid 12345", as)
	}

	// Without a go command there is nothing to use or download with.
	t.Setenv("PATH", t.TempDir())
	_, err = Prepare(context.Background(), Choice{Engine: "native"}, testPlan(t, pin), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "engine native: find toolchain go"+pin+": no go command on PATH") {
		t.Errorf("error %v", err)
	}
}

// TestUseGOROOTVolume: a build reads GOROOT from a volume only with Docker
// in mount mode on fuse-overlayfs, from an image whose GOROOT smol knows,
// without cgo, and never when the image's own GOROOT is asked for.
func TestUseGOROOTVolume(t *testing.T) {
	p := plan.Plan{GoVersion: "1.26.8"}
	cgo := p
	cgo.Cgo = plan.CgoOn
	for _, tt := range []struct {
		name                    string
		c                       Choice
		p                       plan.Plan
		kind, mode, ref, driver string
		want                    bool
	}{
		{"own image", Choice{}, p, "docker", "mount", "smol/go:1.26.8", "fuse-overlayfs", true},
		{"official image", Choice{}, p, "docker", "mount", "golang:1.26.8", "fuse-overlayfs", true},
		{"overlay2", Choice{}, p, "docker", "mount", "smol/go:1.26.8", "overlay2", false},
		{"no driver known", Choice{}, p, "docker", "mount", "smol/go:1.26.8", "", false},
		{"copy mode", Choice{}, p, "docker", "copy", "smol/go:1.26.8", "fuse-overlayfs", false},
		{"podman", Choice{}, p, "podman", "mount", "smol/go:1.26.8", "fuse-overlayfs", false},
		{"another image", Choice{}, p, "docker", "mount", "example.com/go:1.26.8", "fuse-overlayfs", false},
		{"another version", Choice{}, p, "docker", "mount", "golang:1.26.7", "fuse-overlayfs", false},
		{"cgo", Choice{}, cgo, "docker", "mount", "smol/go:1.26.8", "fuse-overlayfs", false},
		{"verify", Choice{ImageGOROOT: true}, p, "docker", "mount", "smol/go:1.26.8", "fuse-overlayfs", false},
	} {
		if got := useGOROOTVolume(tt.c, tt.p, tt.kind, tt.mode, tt.ref, tt.driver); got != tt.want {
			t.Errorf("%s: useGOROOTVolume = %v, want %v", tt.name, got, tt.want)
		}
	}
}
