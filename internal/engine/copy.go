package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohttp-smol/gohttp-smol/internal/plan"
	"github.com/gohttp-smol/gohttp-smol/internal/transfer"
)

// Copy runs steps as Container does, for a daemon that cannot see the
// caller's files (a remote DOCKER_HOST, docker:dind, a docker context on a
// build host): nothing is bind-mounted. Every directory of the layout is a
// named volume on the daemon's side instead:
//
//   - the caches (GOCACHE, GOMODCACHE, HOME) are volumes kept from build to
//     build, one set per Go version and uid (CacheVolumes), labelled so
//     that smol clean finds them; with TempCaches, a set of this run's own,
//     removed by Close;
//   - the source is a volume of this run's, filled once from a tar stream
//     of exactly Files with normalised owners and times, and mounted
//     read-only, as in mount mode;
//   - the outputs are written to a volume of this run's and come back as a
//     tar stream into the host's scratch directory (Host.Out), where the
//     build checks and publishes them exactly as in mount mode.
//
// The streams go through a container that is created, never started, with
// every volume mounted ("cp" reads and writes volumes through it). Steps
// run with the same image, user, flags, environment and networks as in
// mount mode, so their outputs are the same bytes. Steps never share a
// container, so the runner of mount mode is not used.
//
// The first step creates the volumes and sends the source; Close removes
// what this run made and must be called when the executor is done with,
// also after a cancelled build.
type Copy struct {
	C *Container // engine, image, user, labels and networks; its Host.Out is the scratch directory outputs come back to
	// Source is the module root on the caller's side and Files the
	// source files to send, as source.Files lists them.
	Source string
	Files  []string
	// MTime is the time every entry of the source stream carries.
	MTime time.Time
	// GoVersion labels the cache volumes (smol.go) and names them.
	GoVersion string
	// TempCaches gives this run empty caches of its own, removed by Close
	// (smol verify rebuilds with empty caches).
	TempCaches bool
	// Log gets one line for each stream: what went in and what came out.
	Log io.Writer

	once     sync.Once
	startErr error
	// sent is set once begin has sent the source to this run's volume;
	// atomic, since the std steps run beside the dependency steps.
	sent    atomic.Bool
	run     string // prefix of this run's container and volume names
	runOnce sync.Once
	mu      sync.Mutex
	made    []string // volumes this run made, removed by Close
}

// Volume labels. Every volume smol makes has LabelVolume; the cache
// volumes also LabelCache, LabelGo and LabelUID, the volumes of one run
// the owner label of its containers.
const (
	LabelVolume = "smol.volume"
	LabelCache  = "smol.cache"
	LabelGo     = "smol.go"
	LabelUID    = "smol.uid"
	// LabelMade is a random value given to a cache volume when it is
	// made: a volume made anew under the same name has another.
	LabelMade = "smol.made"
)

// runs numbers the copy-mode runs of this process (smol verify prepares
// several), so that their volumes never share a name.
var runs atomic.Int64

// CacheVolumes names the cache volumes of Go version goVersion for uid:
// GOCACHE, GOMODCACHE and HOME, in that order.
func CacheVolumes(goVersion string, uid int) [3]string {
	base := fmt.Sprintf("smol-go%s-uid%d-", goVersion, uid)
	return [3]string{base + "build", base + "mod", base + "home"}
}

// Name implements Executor: the engine's, as in mount mode, so that the
// manifest does not depend on how files reached the daemon.
func (c *Copy) Name() string { return c.C.Kind }

// Layout implements Executor.
func (c *Copy) Layout() plan.Layout { return plan.ContainerLayout }

// prefix is this run's, chosen on first use; steps of one run may ask from
// several goroutines (the std steps run beside the dependency steps).
func (c *Copy) prefix() string {
	c.runOnce.Do(func() { c.run = fmt.Sprintf("%s-%d", c.C.Prefix, runs.Add(1)) })
	return c.run
}

func (c *Copy) caches() [3]string {
	if c.TempCaches {
		p := c.prefix()
		return [3]string{p + "-build", p + "-mod", p + "-home"}
	}
	return CacheVolumes(c.GoVersion, c.C.UID)
}

func (c *Copy) srcVolume() string { return c.prefix() + "-src" }
func (c *Copy) outVolume() string { return c.prefix() + "-out" }
func (c *Copy) caVolume() string  { return c.prefix() + "-ca" }
func (c *Copy) filesName() string { return c.prefix() + "-files" }
func (c *Copy) stepName(s plan.Step) string {
	return c.prefix() + "-" + strings.NewReplacer(" ", "-", "/", "-").Replace(s.Name)
}

// mounts are the volumes of step s, where mount mode has bind mounts.
func (c *Copy) mounts(s plan.Step) []string {
	in := plan.ContainerLayout
	v := c.caches()
	argv := []string{"-v", c.srcVolume() + ":" + in.Src + ":ro"}
	if s.Network && c.C.CABundle != "" {
		argv = append(argv, "-v", c.caVolume()+":/etc/ssl/certs:ro")
	}
	if s.OutDir != "" {
		argv = append(argv, "-v", c.outVolume()+":"+in.Out)
	}
	return append(argv,
		"-v", v[0]+":"+in.GoCache,
		"-v", v[1]+":"+in.ModCache,
		"-v", v[2]+":"+in.Home,
	)
}

// Command implements Executor.
func (c *Copy) Command(s plan.Step) []string {
	argv := c.C.command(s, c.mounts(s))
	// The step's container is named for this run, whose volumes it uses.
	for i := range argv {
		if i > 0 && argv[i-1] == "--name" {
			argv[i] = c.stepName(s)
		}
	}
	return argv
}

// Commands implements Executor: one container per step, in parallel, or
// the warm copy-mode container (warmcopy.go).
func (c *Copy) Commands(steps []plan.Step) []Line {
	if c.warmCopySteps(steps) && c.C.runnerBuilt() {
		return c.warmCopyCommands(steps)
	}
	var lines []Line
	for i, s := range steps {
		comment := s.Name
		if len(steps) > 1 {
			comment += " (in parallel with the others)"
		}
		if i == 0 {
			comment += "; the source goes in once, before the first step, as a tar stream: " + c.C.Bin + " cp -a - " + c.filesName() + ":/"
		}
		if s.OutDir != "" && i == len(steps)-1 {
			comment += "; after it, the outputs come back: " + c.C.Bin + " cp " + c.filesName() + ":" + plan.ContainerLayout.Out + " -"
		}
		lines = append(lines, Line{Comment: comment, Argv: c.Command(s)})
	}
	return lines
}

// Run implements Executor.
func (c *Copy) Run(ctx context.Context, s plan.Step, stdout, stderr io.Writer) error {
	if err := c.runStep(ctx, s, stdout, stderr); err != nil {
		return err
	}
	if s.OutDir != "" {
		return c.fetch(ctx)
	}
	return nil
}

// RunAll implements Executor: each step in a container of its own, at most
// Jobs at a time, then one stream back with every step's outputs.
func (c *Copy) RunAll(ctx context.Context, steps []plan.Step, stdout, stderr io.Writer) []Result {
	if c.warmCopyUsable(ctx, steps) {
		if res, ok := c.runWarmCopy(ctx, steps, stdout, stderr); ok {
			return res
		}
	}
	res := runEach(ctx, steps, stdout, stderr, c.runStep)
	outs := false
	for _, r := range res {
		if r.Err != nil {
			return res
		}
	}
	for _, s := range steps {
		outs = outs || s.OutDir != ""
	}
	if outs {
		if err := c.fetch(ctx); err != nil {
			for i := range res {
				res[i].Err = err
			}
		}
	}
	return res
}

func (c *Copy) runStep(ctx context.Context, s plan.Step, stdout, stderr io.Writer) error {
	if err := c.start(ctx); err != nil {
		return err
	}
	return c.C.runCLI(ctx, c.Command(s), c.stepName(s), stdinFor(s), stdout, stderr)
}

// CacheKey names the daemon-side caches for the dependency step's stamp:
// the module cache volume and the random LabelMade it was made with (its
// CreatedAt changes whenever its directory does), so that a stamp never
// vouches for a volume that smol clean removed and the next build made
// anew.
func (c *Copy) CacheKey(ctx context.Context) (string, error) {
	mod := c.caches()[1]
	made := func() (string, error) {
		out, err := Output(exec.CommandContext(ctx, c.C.Bin, "volume", "inspect", "--format", `{{index .Labels "`+LabelMade+`"}}`, mod), nil)
		return strings.TrimSpace(string(out)), err
	}
	// A volume that is there already needs nothing made or sent: a build
	// whose dependencies are up to date may then compile in the warm
	// container without this run's volumes.
	label, err := made()
	if err != nil {
		if err := c.start(ctx); err != nil {
			return "", err
		}
		if label, err = made(); err != nil {
			return "", fmt.Errorf("cache volume: %w", err)
		}
	}
	return "copy " + mod + " " + label, nil
}

// start makes the volumes and the files container and sends the source,
// once.
func (c *Copy) start(ctx context.Context) error {
	c.once.Do(func() { c.startErr = c.begin(ctx) })
	return c.startErr
}

// cacheLabels are the labels of the kept cache volumes. The engine keeps an
// existing volume's labels, so LabelMade names the volume's first creation.
func (c *Copy) cacheLabels() []string {
	made := make([]byte, 8)
	rand.Read(made)
	return []string{LabelVolume + "=1", LabelCache + "=1", LabelGo + "=" + c.GoVersion, LabelUID + "=" + fmt.Sprint(c.C.UID), LabelMade + "=" + hex.EncodeToString(made)}
}

func (c *Copy) begin(ctx context.Context) error {
	t0 := time.Now()
	cacheLabels := c.cacheLabels()
	runLabels := append([]string{LabelVolume + "=1"}, c.C.Labels...)
	if c.TempCaches {
		cacheLabels = runLabels
	}
	for _, v := range c.caches() {
		if err := c.volume(ctx, v, cacheLabels, c.TempCaches); err != nil {
			return err
		}
	}
	in := plan.ContainerLayout
	create := []string{c.C.Bin, "create", "--name", c.filesName(), "--pull=never", "--network=none"}
	for _, l := range c.C.Labels {
		create = append(create, "--label", l)
	}
	v := c.caches()
	vols := [][2]string{{c.srcVolume(), in.Src}, {c.outVolume(), in.Out}, {v[0], in.GoCache}, {v[1], in.ModCache}, {v[2], in.Home}}
	if c.C.CABundle != "" {
		vols = append(vols, [2]string{c.caVolume(), "/smol-ca"})
	}
	for _, m := range vols[:2] {
		if err := c.volume(ctx, m[0], runLabels, true); err != nil {
			return err
		}
	}
	if c.C.CABundle != "" {
		if err := c.volume(ctx, c.caVolume(), runLabels, true); err != nil {
			return err
		}
	}
	for _, m := range vols {
		create = append(create, "-v", m[0]+":"+m[1])
	}
	create = append(create, c.C.Image, "go", "version")
	if _, err := Output(exec.CommandContext(ctx, create[0], create[1:]...), nil); err != nil {
		if d := explainDaemon(c.C.Kind, err.Error()); d != nil {
			return d
		}
		return fmt.Errorf("copy mode: %w", err)
	}
	c.mu.Lock()
	c.made = append(c.made, "container:"+c.filesName())
	c.mu.Unlock()

	// The stream: the directories the build writes, owned by the user it
	// runs as (an empty volume belongs to root), the CA bundle, and the
	// source.
	n, err := c.send(ctx, c.filesName()+":/", c.writeStream)
	if err != nil {
		return err
	}
	c.sent.Store(true)
	if c.Log != nil {
		what := fmt.Sprintf("%d files", len(c.Files))
		if c.C.CABundle != "" {
			what += " and the CA bundle"
		}
		fmt.Fprintf(c.Log, "smol: %-22s %6.1fs  %s, %s in (copy mode)\n", "source in", time.Since(t0).Seconds(), what, sizeOf(n))
	}
	return nil
}

// send streams what write writes into dst (CONTAINER:DIR) with cp, and
// returns the size of the stream.
func (c *Copy) send(ctx context.Context, dst string, write func(*transfer.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	sent := make(chan error, 1)
	var n int64
	go func() {
		tw := transfer.NewWriter(pw, c.MTime)
		err := write(tw)
		var cerr error
		n, cerr = tw.Close()
		if err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
		sent <- err
	}()
	cp := exec.CommandContext(ctx, c.C.Bin, "cp", "--archive", "-", dst)
	cp.Stdin = pr
	var errBuf bytes.Buffer
	cp.Stderr = &errBuf
	err := cp.Run()
	pr.CloseWithError(errors.New("copy stopped"))
	if serr := <-sent; serr != nil && err == nil {
		return n, fmt.Errorf("copy mode: source: %w", serr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("copy mode: %s cp of the source: %v: %s", c.C.Kind, err, strings.TrimSpace(errBuf.String()))
	}
	return n, nil
}

func (c *Copy) writeStream(tw *transfer.Writer) error {
	for _, d := range []string{"cache/go-build", "cache/mod", "cache/home", "out"} {
		if err := tw.Dir(d, c.C.UID, c.C.GID); err != nil {
			return err
		}
	}
	if c.C.CABundle != "" {
		b, err := os.ReadFile(c.C.CABundle)
		if err != nil {
			return err
		}
		if err := tw.Bytes("smol-ca/ca-certificates.crt", b, 0o644); err != nil {
			return err
		}
	}
	if err := tw.Dir("src", 0, 0); err != nil {
		return err
	}
	return tw.Tree("src", c.Source, c.Files)
}

// volume creates the named volume with labels; an existing one is used as
// it is. own records it for Close to remove.
func (c *Copy) volume(ctx context.Context, name string, labels []string, own bool) error {
	argv := []string{"volume", "create"}
	if c.C.Kind == "podman" {
		argv = append(argv, "--ignore")
	}
	for _, l := range labels {
		argv = append(argv, "--label", l)
	}
	argv = append(argv, name)
	if _, err := Output(exec.CommandContext(ctx, c.C.Bin, argv...), nil); err != nil {
		if d := explainDaemon(c.C.Kind, err.Error()); d != nil {
			return d
		}
		return fmt.Errorf("copy mode: %w", err)
	}
	if own {
		c.mu.Lock()
		c.made = append(c.made, "volume:"+name)
		c.mu.Unlock()
	}
	return nil
}

// fetch streams the outputs volume back into the scratch directory.
func (c *Copy) fetch(ctx context.Context) error {
	return c.fetchFrom(ctx, c.filesName(), plan.ContainerLayout.Out)
}

// fetchFrom streams directory dir of container ctr back into the scratch
// directory.
func (c *Copy) fetchFrom(ctx context.Context, ctr, dir string) error {
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, c.C.Bin, "cp", ctr+":"+dir, "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("copy mode: outputs: %w", err)
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("copy mode: outputs: %w", err)
	}
	n, xerr := transfer.Extract(out, c.C.Host.Out, path.Base(dir))
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("copy mode: %s cp of the outputs: %v: %s", c.C.Kind, err, strings.TrimSpace(errBuf.String()))
	case xerr != nil:
		return fmt.Errorf("copy mode: %w", xerr)
	}
	if c.Log != nil {
		fmt.Fprintf(c.Log, "smol: %-22s %6.1fs  %s out (copy mode)\n", "outputs back", time.Since(t0).Seconds(), sizeOf(n))
	}
	return nil
}

// Close removes the files container and the volumes this run made (never
// the kept cache volumes). It uses a fresh context, since the build's may be
// cancelled already, and is safe to call more than once.
func (c *Copy) Close() {
	c.mu.Lock()
	made := c.made
	c.made = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var vols []string
	for _, m := range made {
		kind, name, _ := strings.Cut(m, ":")
		if kind == "container" {
			exec.CommandContext(ctx, c.C.Bin, "rm", "--force", "--volumes", name).Run()
		} else {
			vols = append(vols, name)
		}
	}
	if len(vols) > 0 {
		exec.CommandContext(ctx, c.C.Bin, append([]string{"volume", "rm", "--force"}, vols...)...).Run()
	}
}

// ContainerOf returns the container executor x runs its steps with, when it
// runs them in containers.
func ContainerOf(x Executor) (*Container, bool) {
	switch x := x.(type) {
	case *Container:
		return x, true
	case *Copy:
		return x.C, true
	}
	return nil, false
}

// CacheKeyer is an executor whose caches are not the plan's cache
// directory: its key names them, for stamps kept in that directory.
type CacheKeyer interface {
	CacheKey(ctx context.Context) (string, error)
}

func sizeOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
