package setup

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/builderimage"
	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/plan"
)

// resolveCgoImage makes sure ref, the builder image of a --cgo build, is
// present and is a cgo builder image, and returns its ID and the C
// toolchain its label names (which the manifest records). It never pulls
// or falls back to another image: the C toolchains --cgo names are those
// of smol image --cgo, which only that command makes.
func resolveCgoImage(ctx context.Context, c *engine.Container, ref, goVersion string) (id string, toolchain []string, err error) {
	want := plan.CgoImageTag(goVersion)
	id, err = c.ImageID(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if id == "" {
		return "", nil, fmt.Errorf("--cgo: image %s is not present: make it with \"smol image --cgo\" (or docker load the archive a teammate saved with docker save %s)", ref, want)
	}
	out, err := engine.Output(exec.CommandContext(ctx, c.Bin, "image", "inspect", "--format", `{{index .Config.Labels "`+builderimage.LabelCToolchain+`"}}`, id), nil)
	if err != nil {
		return "", nil, fmt.Errorf("--cgo: image %s: %w", ref, err)
	}
	label := strings.TrimSpace(string(out))
	if label == "" || label == "<no value>" {
		return "", nil, fmt.Errorf("--cgo: image %s has no C toolchain for static cgo builds: make the cgo builder image with \"smol image --cgo\" and build with it (the default, %s)", ref, want)
	}
	return id, strings.Fields(label), nil
}
