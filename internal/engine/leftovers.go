package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Thing is a container or volume smol made, as the engine lists it.
type Thing struct {
	Kind   string // "container" or "volume"
	Name   string
	Owner  string // the smol.owner label: the process that made it, "" for none
	Cache  bool   // a kept cache volume (LabelCache) or a GOROOT volume
	Warm   bool   // a warm builder container (WarmLabel)
	Detail string // what a cache or GOROOT volume holds, a container's state
}

// Leftovers lists what smol made on the daemon behind bin: containers with
// the owner label ownerLabel, warm builder containers, and volumes with
// LabelVolume.
func Leftovers(ctx context.Context, bin, kind, ownerLabel string) ([]Thing, error) {
	label := func(k string) string {
		if kind == "podman" {
			return `{{index .Labels "` + k + `"}}`
		}
		return `{{.Label "` + k + `"}}`
	}
	var things []Thing
	out, err := Output(exec.CommandContext(ctx, bin, "ps", "--all", "--filter", "label="+ownerLabel, "--format", "{{.Names}}\t"+label(ownerLabel)+"\t{{.State}}"), nil)
	if err != nil {
		return nil, explainOr(kind, err)
	}
	for _, f := range lines(out) {
		if len(f) == 3 {
			things = append(things, Thing{Kind: "container", Name: f[0], Owner: f[1], Detail: f[2]})
		}
	}
	out, err = Output(exec.CommandContext(ctx, bin, "ps", "--all", "--filter", "label="+WarmLabel+"=1", "--format", "{{.Names}}\t{{.State}}"), nil)
	if err != nil {
		return nil, explainOr(kind, err)
	}
	for _, f := range lines(out) {
		if len(f) == 2 {
			things = append(things, Thing{Kind: "container", Name: f[0], Warm: true, Detail: f[1]})
		}
	}
	vols, err := Volumes(ctx, bin, kind, ownerLabel, LabelVolume)
	return append(things, vols...), err
}

// Volumes lists smol's volumes that carry the label filter (LabelVolume
// for all of them, ownerLabel for those of a run rather than the caches).
func Volumes(ctx context.Context, bin, kind, ownerLabel, filter string) ([]Thing, error) {
	var things []Thing
	vlabel := func(k string) string { return `{{index .Labels "` + k + `"}}` }
	out, err := Output(exec.CommandContext(ctx, bin, "volume", "ls", "--filter", "label="+filter, "--format", "{{.Name}}"), nil)
	if err != nil {
		return nil, explainOr(kind, err)
	}
	var names []string
	for _, f := range lines(out) {
		names = append(names, f[0])
	}
	if len(names) == 0 {
		return things, nil
	}
	// volume ls cannot show labels on every engine; inspect can.
	out, err = Output(exec.CommandContext(ctx, bin, append([]string{"volume", "inspect", "--format",
		"{{.Name}}\t" + vlabel(ownerLabel) + "\t" + vlabel(LabelCache) + "\t" + vlabel(LabelGo) + "\t" + vlabel(LabelUID) + "\t" + vlabel(LabelGOROOT)}, names...)...), nil)
	if err != nil {
		return nil, explainOr(kind, err)
	}
	for _, f := range lines(out) {
		if len(f) != 6 {
			continue
		}
		t := Thing{Kind: "volume", Name: f[0], Owner: noValue(f[1]), Cache: noValue(f[2]) == "1"}
		switch image := noValue(f[5]); {
		case t.Cache:
			t.Detail = fmt.Sprintf("cache of go%s for uid %s", noValue(f[3]), noValue(f[4]))
		case image != "" && t.Name == GOROOTDone(GOROOTVolumeName(image)):
			t.Cache = true
			t.Detail = "mark that the GOROOT copy of image " + image + " is complete"
		case image != "":
			t.Cache = true
			t.Detail = "copy of the GOROOT of image " + image
		}
		things = append(things, t)
	}
	return things, nil
}

// Remove removes t; a volume in use by a container is refused by the
// engine, and the error says so.
func Remove(ctx context.Context, bin, kind string, t Thing) error {
	// --volumes: a warm copy-mode container has an anonymous volume.
	argv := []string{"rm", "--force", "--volumes", t.Name}
	if t.Kind == "volume" {
		argv = []string{"volume", "rm", t.Name}
	}
	if _, err := Output(exec.CommandContext(ctx, bin, argv...), nil); err != nil {
		return explainOr(kind, err)
	}
	return nil
}

func explainOr(kind string, err error) error {
	if d := explainDaemon(kind, err.Error()); d != nil {
		return d
	}
	return err
}

func noValue(s string) string {
	if s == "<no value>" {
		return ""
	}
	return s
}

// lines splits the engine's tab-separated listing.
func lines(out []byte) [][]string {
	var ls [][]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			ls = append(ls, strings.Split(l, "\t"))
		}
	}
	return ls
}
