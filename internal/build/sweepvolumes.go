package build

import (
	"context"
	"fmt"
	"io"

	"github.com/gohttp-smol/gohttp-smol/internal/engine"
	"github.com/gohttp-smol/gohttp-smol/internal/owner"
)

// sweepVolumes removes the volumes of copy-mode runs (the source, the
// outputs, the CA bundle) whose smol process has gone, after its containers
// (sweepContainers), which held them. The cache volumes carry no owner and
// are kept; smol clean removes those.
func sweepVolumes(ctx context.Context, c *engine.Container, log io.Writer) {
	// Only volumes with an owner: the common case lists none and asks the
	// daemon nothing more.
	things, err := engine.Volumes(ctx, c.Bin, c.Kind, OwnerLabel, OwnerLabel)
	if err != nil {
		return
	}
	for _, t := range things {
		if t.Kind != "volume" || t.Cache || t.Owner == "" {
			continue
		}
		id, err := owner.Parse(t.Owner)
		if err != nil || owner.Check(id) != owner.Gone {
			continue
		}
		if err := engine.Remove(ctx, c.Bin, c.Kind, t); err != nil {
			fmt.Fprintf(log, "smol: cannot remove volume %s, left by smol process %d, which has gone: %v\n", t.Name, id.PID, err)
			continue
		}
		fmt.Fprintf(log, "smol: removed volume %s, left by smol process %d, which has gone\n", t.Name, id.PID)
	}
}
