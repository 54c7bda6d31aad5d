package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
	"github.com/gohttp-smol/gohttp-smol/internal/manifest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	deploytest.Cleanup()
	os.Exit(code)
}

const tmplPath = "../../deploy/nomad/gohttp-smol.nomad.hcl"

func mknomad(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var o, e bytes.Buffer
	err := run(context.Background(), args, &o, &e)
	return o.String() + e.String(), err
}

func parse(t *testing.T, path string) *hclsyntax.Body {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s does not parse as HCL: %v", path, diags)
	}
	return f.Body.(*hclsyntax.Body)
}

// block returns the body of the only block of type typ (with the given
// labels, when any) directly in body.
func block(t *testing.T, body *hclsyntax.Body, typ string, labels ...string) *hclsyntax.Body {
	t.Helper()
	var found []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ && (len(labels) == 0 || strings.Join(b.Labels, " ") == strings.Join(labels, " ")) {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %q block, found %d", typ, labels, len(found))
	}
	return found[0].Body
}

// attr evaluates an attribute of body to a string. ${var.NAME} resolves to
// the job's variable defaults; references to Nomad's runtime values
// (${NOMAD_PORT_http}, ${attr.cpu.arch}) are left to checks of their own.
func attr(t *testing.T, body *hclsyntax.Body, name string, vars map[string]cty.Value) string {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		t.Fatalf("attribute %s missing", name)
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}})
	if diags.HasErrors() {
		t.Fatalf("attribute %s: %v", name, diags)
	}
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Number:
		return v.AsBigFloat().Text('f', -1)
	}
	t.Fatalf("attribute %s is a %s, want a string or number", name, v.Type().FriendlyName())
	return ""
}

// refs returns the root names an attribute's expression refers to.
func refs(t *testing.T, body *hclsyntax.Body, name string) []string {
	t.Helper()
	a, ok := body.Attributes[name]
	if !ok {
		t.Fatalf("attribute %s missing", name)
	}
	var names []string
	for _, tr := range a.Expr.Variables() {
		names = append(names, tr.RootName())
	}
	return names
}

func duration(t *testing.T, s, what string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return d
}

// TestJob fills the template from a dist/ and checks the job the way Nomad
// would read it: the artifact and its checksum, which must be the sha256 of
// the binary itself, the port handed over in PORT, the health check, the
// stop timing and the resources.
func TestJob(t *testing.T) {
	dist := deploytest.Dist(t)
	arch := runtime.GOARCH
	out, err := mknomad(t, "-dist", dist, "-template", tmplPath, "-arch", arch)
	if err != nil {
		t.Fatalf("mknomad: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dist, "gohttp-smol_linux_"+arch))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(bin)
	binSum := hex.EncodeToString(digest[:])

	body := parse(t, filepath.Join(dist, "gohttp-smol.nomad.hcl"))
	vars := map[string]cty.Value{"release_url": cty.StringVal(attr(t, block(t, body, "variable", "release_url"), "default", nil))}
	job := block(t, body, "job", "gohttp-smol")
	if got := attr(t, block(t, job, "meta"), "version", vars); got != deploytest.Version {
		t.Errorf("meta.version = %q, want %q", got, deploytest.Version)
	}
	group := block(t, job, "group", "web")
	task := block(t, group, "task", "server")

	if got := attr(t, task, "driver", vars); got != "exec" {
		t.Errorf("driver = %q, want exec", got)
	}
	art := block(t, task, "artifact")
	wantSource := vars["release_url"].AsString() + "/" + deploytest.Version + "/gohttp-smol_linux_" + arch
	if got := attr(t, art, "source", vars); got != wantSource {
		t.Errorf("artifact source = %q, want %q", got, wantSource)
	}
	if got := attr(t, block(t, art, "options"), "checksum", vars); got != "sha256:"+binSum {
		t.Errorf("artifact checksum = %q, want sha256:%s (the built binary's)", got, binSum)
	}
	if got, want := attr(t, block(t, task, "config"), "command", vars), attr(t, art, "destination", vars); got != want {
		t.Errorf("config.command = %q, want the artifact's destination %q", got, want)
	}

	// The port: a dynamic port in the group's network, passed as PORT.
	network := block(t, group, "network")
	var port *hclsyntax.Block
	for _, b := range network.Blocks {
		if b.Type == "port" {
			port = b
		}
	}
	if port == nil || len(port.Labels) != 1 || len(port.Body.Attributes) != 0 {
		t.Fatalf("network needs one dynamic port block (no static, no to): %v", port)
	}
	label := port.Labels[0]
	env := block(t, task, "env")
	if got := refs(t, env, "PORT"); len(got) != 1 || got[0] != "NOMAD_PORT_"+label {
		t.Errorf("env PORT refers to %v, want NOMAD_PORT_%s", got, label)
	}

	service := block(t, group, "service")
	if got := attr(t, service, "port", vars); got != label {
		t.Errorf("service port = %q, want %q", got, label)
	}
	check := block(t, service, "check")
	if got := attr(t, check, "type", vars) + " " + attr(t, check, "path", vars); got != "http /healthz" {
		t.Errorf("check = %q, want \"http /healthz\"", got)
	}

	// Stop: SIGTERM or SIGINT (the server drains on either), and longer
	// than the drain before Nomad sends SIGKILL.
	if sig := attr(t, task, "kill_signal", vars); sig != "SIGTERM" && sig != "SIGINT" {
		t.Errorf("kill_signal = %q, want SIGTERM or SIGINT", sig)
	}
	drain := duration(t, attr(t, env, "GOHTTP_SMOL_SHUTDOWN_TIMEOUT", vars), "env GOHTTP_SMOL_SHUTDOWN_TIMEOUT")
	if kill := duration(t, attr(t, task, "kill_timeout", vars), "kill_timeout"); kill <= drain {
		t.Errorf("kill_timeout %v must exceed the drain time %v", kill, drain)
	}

	res := block(t, task, "resources")
	memMB, err := strconv.Atoi(attr(t, res, "memory", vars))
	if err != nil {
		t.Fatal(err)
	}
	if maxMB, err := strconv.Atoi(attr(t, res, "memory_max", vars)); err != nil || maxMB < memMB {
		t.Errorf("memory_max = %d, %v; want at least memory (%d)", maxMB, err, memMB)
	}
	peak := peakRSS(t, filepath.Join(dist, "gohttp-smol_linux_"+arch))
	t.Logf("peak RSS after a short load: %d KiB; the job reserves %d MB", peak>>10, memMB)
	if int64(memMB)<<20 < 2*peak {
		t.Errorf("resources.memory = %d MB is less than twice the peak RSS measured here (%d KiB)", memMB, peak>>10)
	}
	if !strings.Contains(out, "wrote "+filepath.Join(dist, "gohttp-smol.nomad.hcl")) {
		t.Errorf("output %q does not say what it wrote", out)
	}
}

// peakRSS runs the server on the default site, sends it 2000 requests over
// 32 connections, and returns its peak resident memory (VmHWM) in bytes.
func peakRSS(t *testing.T, bin string) int64 {
	t.Helper()
	addr := deploytest.FreeAddr(t)
	p := deploytest.Start(t, exec.Command(bin, "--addr", addr, "--log-format", "off"))
	deploytest.WaitOK(t, "http://"+addr+"/healthz", 10*time.Second, p.Done, p.Output)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 / 32 {
				if _, _, err := deploytest.Get(ctx, "http://"+addr+"/"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestTemplateParses keeps the committed templates valid HCL on their own,
// so an editor's or `nomad fmt`'s view of them matches what mknomad
// produces.
func TestTemplateParses(t *testing.T) {
	parse(t, tmplPath)
	parse(t, httpsTmplPath)
}

const httpsTmplPath = "../../deploy/nomad/gohttp-smol-https.nomad.hcl"

// TestHTTPSJob fills the automatic-HTTPS template and checks what the
// server needs from it: ports 443 and 80 on a client of its own and the
// right to bind them, each passed to the listener of its role, the ACME
// directory on the mounted volume, the names and the agreement from job
// variables, and a readiness check that follows the certificate.
func TestHTTPSJob(t *testing.T) {
	dist := deploytest.Dist(t)
	out := filepath.Join(t.TempDir(), "https.nomad.hcl")
	if msg, err := mknomad(t, "-dist", dist, "-template", httpsTmplPath, "-arch", runtime.GOARCH, "-o", out); err != nil {
		t.Fatalf("mknomad: %v\n%s", err, msg)
	}
	body := parse(t, out)
	vars := map[string]cty.Value{
		"release_url": cty.StringVal("https://r.example"), "domains": cty.StringVal("example.com"),
		"agree_to_ca_terms": cty.StringVal("true"), "acme_ca": cty.StringVal("staging"),
	}
	group := block(t, block(t, body, "job", "gohttp-smol-https"), "group", "web")
	task := block(t, group, "task", "server")
	if got := attr(t, block(t, group, "constraint"), "operator", vars); got != "distinct_hosts" {
		t.Errorf("constraint operator = %q, want distinct_hosts (static ports)", got)
	}
	network := block(t, group, "network")
	for label, want := range map[string]string{"https": "443", "http": "80"} {
		if got := attr(t, block(t, network, "port", label), "static", vars); got != want {
			t.Errorf("port %s static = %q, want %s", label, got, want)
		}
	}
	env := block(t, task, "env")
	for name, port := range map[string]string{"GOHTTP_SMOL_ADDR": "NOMAD_PORT_https", "GOHTTP_SMOL_REDIRECT_ADDR": "NOMAD_PORT_http"} {
		if got := refs(t, env, name); len(got) != 1 || got[0] != port {
			t.Errorf("env %s refers to %v, want %s", name, got, port)
		}
	}
	for name, want := range map[string]string{"GOHTTP_SMOL_ACME_DOMAIN": "example.com", "GOHTTP_SMOL_ACME_AGREE": "true", "GOHTTP_SMOL_ACME_CA": "staging"} {
		if got := attr(t, env, name, vars); got != want {
			t.Errorf("env %s = %q, want %q from the job variable", name, got, want)
		}
	}
	mount := block(t, task, "volume_mount")
	if got, want := attr(t, env, "GOHTTP_SMOL_ACME_DIR", vars), attr(t, mount, "destination", vars); got != want {
		t.Errorf("GOHTTP_SMOL_ACME_DIR = %q, want the volume's mount point %q", got, want)
	}
	if got, want := attr(t, mount, "volume", vars), "acme"; got != want {
		t.Errorf("volume_mount volume = %q, want %q", got, want)
	}
	if got := attr(t, block(t, group, "volume", "acme"), "type", vars); got != "host" {
		t.Errorf("volume type = %q, want host", got)
	}
	caps, ok := block(t, task, "config").Attributes["cap_add"]
	if !ok || !strings.Contains(string(caps.SrcRange.SliceBytes(mustRead(t, out))), "net_bind_service") {
		t.Errorf("config.cap_add does not grant net_bind_service")
	}
	check := block(t, block(t, group, "service"), "check")
	if got := attr(t, check, "path", vars); got != "/readyz" {
		t.Errorf("check path = %q, want /readyz", got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadInput(t *testing.T) {
	arch := runtime.GOARCH
	binName := "gohttp-smol_linux_" + arch
	for _, c := range []struct {
		name    string
		setup   func(t *testing.T, dist string) []string
		wantErr string
	}{
		{"no SHA256SUMS", func(t *testing.T, dist string) []string {
			os.Remove(filepath.Join(dist, manifest.SumsFile))
			return nil
		}, "run `make build`"},
		{"architecture not built", func(t *testing.T, dist string) []string {
			return []string{"-arch", "riscv64"}
		}, "lists no gohttp-smol_linux_riscv64"},
		{"SHA256SUMS from another build", func(t *testing.T, dist string) []string {
			os.WriteFile(filepath.Join(dist, manifest.SumsFile), []byte(strings.Repeat("0", 64)+"  "+binName+"\n"), 0o644)
			return nil
		}, "dist/ mixes two builds"},
		{"binary changed since the build", func(t *testing.T, dist string) []string {
			os.WriteFile(filepath.Join(dist, binName), []byte("not the binary"), 0o755)
			return nil
		}, "run `make build` again"},
		{"template with an unknown placeholder", func(t *testing.T, dist string) []string {
			tmpl, _ := os.ReadFile(tmplPath)
			p := filepath.Join(t.TempDir(), "job.hcl")
			os.WriteFile(p, append(tmpl, []byte("# @REGION@\n")...), 0o644)
			return []string{"-template", p}
		}, "@REGION@"},
		{"no template", func(t *testing.T, dist string) []string {
			return []string{"-template", filepath.Join(t.TempDir(), "none.hcl")}
		}, "read template"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dist := deploytest.Dist(t)
			args := append([]string{"-dist", dist, "-template", tmplPath, "-arch", arch}, c.setup(t, dist)...)
			out, err := mknomad(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("mknomad %v: %v (output %q), want an error containing %q", args, err, out, c.wantErr)
			}
			if left, _ := filepath.Glob(filepath.Join(dist, "*.hcl*")); len(left) > 0 {
				t.Errorf("a failed run left %v", left)
			}
		})
	}
}
