package deploy

import (
	"bufio"
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gohttp-smol/gohttp-smol/internal/deploytest"
)

// ciCommand is one command a CI job runs, with where it came from.
type ciCommand struct {
	where string // file and job, for messages
	line  string
}

// ciJob is what the checks need of a job, whichever CI it comes from.
type ciJob struct {
	name      string
	image     string            // container image the job runs in; "" for the bare runner
	env       map[string]string // variables the job sees (global and its own)
	commands  []ciCommand
	artifacts []string // paths kept after the job
	dind      bool     // a docker:dind service is the job's Docker daemon
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", path, err)
	}
	if len(doc) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return doc
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	for k, e := range asMap(v) {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

// gitlabReserved are the top-level keys of .gitlab-ci.yml that are not jobs
// (docs.gitlab.com/ci/yaml, "Global keywords").
var gitlabReserved = []string{"default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script", "after_script"}

func gitlabJobs(t *testing.T, path string) []ciJob {
	doc := readYAML(t, path)
	globals := stringMap(doc["variables"])
	def := asMap(doc["default"])
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return globals[k] })
	}
	var jobs []ciJob
	for name, v := range doc {
		if slices.Contains(gitlabReserved, name) || strings.HasPrefix(name, ".") {
			continue
		}
		job := asMap(v)
		if job == nil {
			t.Fatalf("%s: job %s is not a mapping", path, name)
		}
		j := ciJob{name: name, env: map[string]string{}}
		for k, v := range globals {
			j.env[k] = v
		}
		for k, v := range stringMap(job["variables"]) {
			j.env[k] = v
		}
		j.image, _ = job["image"].(string)
		if j.image == "" {
			j.image, _ = def["image"].(string)
		}
		j.image = expand(j.image)
		for _, key := range []string{"before_script", "script", "after_script"} {
			lines := asStrings(job[key])
			if job[key] == nil && key != "script" {
				lines = asStrings(def[key])
			}
			for _, l := range lines {
				j.commands = append(j.commands, ciCommand{path + ": " + name + "." + key, l})
			}
		}
		j.artifacts = asStrings(asMap(job["artifacts"])["paths"])
		services, _ := job["services"].([]any)
		for _, s := range services {
			name, _ := s.(string)
			if m := asMap(s); m != nil {
				name, _ = m["name"].(string)
			}
			j.dind = j.dind || strings.HasPrefix(name, "docker:") && strings.Contains(name, "dind")
		}
		jobs = append(jobs, j)
	}
	return jobs
}

func githubJobs(t *testing.T, path string) []ciJob {
	doc := readYAML(t, path)
	if _, ok := doc["on"]; !ok {
		t.Fatalf("%s has no on: trigger", path)
	}
	var jobs []ciJob
	for name, v := range asMap(doc["jobs"]) {
		job := asMap(v)
		j := ciJob{name: name, env: stringMap(doc["env"])}
		for k, v := range stringMap(job["env"]) {
			j.env[k] = v
		}
		switch c := job["container"].(type) {
		case string:
			j.image = c
		case map[string]any:
			j.image, _ = c["image"].(string)
		}
		steps, _ := job["steps"].([]any)
		for i, s := range steps {
			step := asMap(s)
			if run, ok := step["run"].(string); ok {
				for _, l := range strings.Split(strings.TrimSpace(run), "\n") {
					j.commands = append(j.commands, ciCommand{path + ": " + name + ".steps[" + strconv.Itoa(i) + "]", l})
				}
			}
			if uses, _ := step["uses"].(string); strings.HasPrefix(uses, "actions/upload-artifact@") {
				j.artifacts = append(j.artifacts, asStrings(asMap(step["with"])["path"])...)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// makeTargets lists the targets of the repository's Makefile as make itself
// sees them (make -qp: the database, without running anything).
func makeTargets(t *testing.T) []string {
	t.Helper()
	deploytest.NeedTool(t, "make")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-qp")
	cmd.Dir = ".."
	out, _ := cmd.Output() // -q exits 1 when the default goal is out of date
	var targets []string
	notTarget := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	targetRE := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.-]*):(?:[^=]|$)`)
	for sc.Scan() {
		line := sc.Text()
		if line == "# Not a target:" {
			notTarget = true
			continue
		}
		if m := targetRE.FindStringSubmatch(line); m != nil && !notTarget {
			targets = append(targets, m[1])
		}
		notTarget = false
	}
	if !slices.Contains(targets, "build") {
		t.Fatalf("make -qp lists no build target; parsed %v", targets)
	}
	return targets
}

// smolCommands lists smol's subcommands from its own help text.
func smolCommands(t *testing.T) []string {
	t.Helper()
	deploytest.NeedTool(t, "go")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/smol", "help")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./cmd/smol help: %v\n%s", err, out)
	}
	_, list, ok := strings.Cut(string(out), "Commands:\n")
	if !ok {
		t.Fatalf("smol help has no Commands: section:\n%s", out)
	}
	var cmds []string
	for _, l := range strings.Split(list, "\n") {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		cmds = append(cmds, strings.Fields(l)[0])
	}
	return cmds
}

// checkCommand returns why line is not a make target or smol subcommand
// that exists, or "" when it is.
func checkCommand(line string, targets, smol []string) string {
	f := strings.Fields(line)
	if len(f) > 0 && f[0] == "sudo" {
		f = f[1:]
	}
	switch {
	case len(f) >= 2 && f[0] == "make":
		for _, a := range f[1:] {
			if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
				continue // a flag or a variable, not a target
			}
			if !slices.Contains(targets, a) {
				return "make target " + a + " does not exist in the Makefile"
			}
		}
		return ""
	case len(f) >= 2 && (f[0] == "smol" || f[0] == "bin/smol"):
		if !slices.Contains(smol, f[1]) {
			return "smol has no subcommand " + f[1]
		}
		return ""
	case len(f) >= 4 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/smol":
		if !slices.Contains(smol, f[3]) {
			return "smol has no subcommand " + f[3]
		}
		return ""
	}
	return "neither a make target nor a smol command"
}

func TestCheckCommand(t *testing.T) {
	targets, smol := []string{"build", "test"}, []string{"build", "verify"}
	for _, c := range []struct{ line, want string }{
		{"make build", ""},
		{"sudo make test", ""},
		{"make -j2 build PLATFORMS=linux/arm64", ""},
		{"make deploy", "make target deploy does not exist"},
		{"bin/smol verify --native", ""},
		{"go run ./cmd/smol verify", ""},
		{"smol publish", "smol has no subcommand publish"},
		{"go test ./...", "neither"},
		{"curl https://example.invalid | sh", "neither"},
	} {
		if got := checkCommand(c.line, targets, smol); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("checkCommand(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

// goImage is the pinned builder image: golang:<go.mod's toolchain version>.
func goImage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain go([0-9.]+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no toolchain line")
	}
	return "golang:" + string(m[1])
}

// dindTestProblems returns what keeps job, which runs make test, from
// running the suite against a docker:dind service: the service itself, the
// client variables that reach it over TLS, and a TMPDIR the daemon can see.
// The Docker executor shares the builds volume ($CI_BUILDS_DIR) with service
// containers, and the tests bind-mount t.TempDir() into containers; a TMPDIR
// inside the checkout would add files to the module under test.
func dindTestProblems(j ciJob) []string {
	var problems []string
	if !j.dind {
		problems = append(problems, "no docker:dind service")
	}
	for k, want := range map[string]string{
		"DOCKER_HOST":        "tcp://docker:2376",
		"DOCKER_TLS_CERTDIR": "/certs",
		"DOCKER_TLS_VERIFY":  "1",
		"DOCKER_CERT_PATH":   "/certs/client",
	} {
		if j.env[k] != want {
			problems = append(problems, k+"="+strconv.Quote(j.env[k])+", want "+strconv.Quote(want))
		}
	}
	tmp := j.env["TMPDIR"]
	underBuilds := strings.HasPrefix(tmp, "$CI_BUILDS_DIR/") || strings.HasPrefix(tmp, "${CI_BUILDS_DIR}/")
	inProject := strings.Contains(tmp, "CI_PROJECT_DIR")
	if !underBuilds || inProject {
		problems = append(problems, "TMPDIR="+strconv.Quote(tmp)+", want a directory under $CI_BUILDS_DIR outside the checkout")
	}
	slices.Sort(problems)
	return problems
}

func TestDindTestProblems(t *testing.T) {
	good := ciJob{dind: true, env: map[string]string{
		"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_CERTDIR": "/certs", "DOCKER_TLS_VERIFY": "1",
		"DOCKER_CERT_PATH": "/certs/client", "TMPDIR": "$CI_BUILDS_DIR/smol-test-tmp",
	}}
	with := func(k, v string) ciJob {
		j := ciJob{dind: good.dind, env: maps.Clone(good.env)}
		j.env[k] = v
		return j
	}
	noDind := good
	noDind.dind = false
	for _, c := range []struct {
		name string
		job  ciJob
		want string
	}{
		{"good", good, ""},
		{"no service", noDind, "no docker:dind service"},
		{"host socket", with("DOCKER_HOST", "unix:///var/run/docker.sock"), `DOCKER_HOST="unix:///var/run/docker.sock", want "tcp://docker:2376"`},
		{"no TLS", with("DOCKER_TLS_VERIFY", ""), `DOCKER_TLS_VERIFY="", want "1"`},
		{"no cert path", with("DOCKER_CERT_PATH", ""), `DOCKER_CERT_PATH="", want "/certs/client"`},
		{"TMPDIR unset", with("TMPDIR", ""), `TMPDIR="", want a directory under $CI_BUILDS_DIR`},
		{"TMPDIR in /tmp", with("TMPDIR", "/tmp/smol"), `TMPDIR="/tmp/smol"`},
		{"TMPDIR in the checkout", with("TMPDIR", "$CI_PROJECT_DIR/tmp"), "outside the checkout"},
		{"TMPDIR in the checkout, by the builds dir", with("TMPDIR", "${CI_BUILDS_DIR}/$CI_PROJECT_DIR/tmp"), "outside the checkout"},
		{"braces", with("TMPDIR", "${CI_BUILDS_DIR}/t"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(dindTestProblems(c.job), "; ")
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("dindTestProblems = %q, want %q", got, c.want)
			}
		})
	}
}

// TestCIConfigs checks both CI files: they parse, every command is a make
// target or smol subcommand that exists, the jobs run test, build and
// verify, the ones inside the pinned golang image use smol's native engine,
// the job that builds keeps dist/, and GitLab's make test job has what
// dindTestProblems asks for.
func TestCIConfigs(t *testing.T) {
	targets := makeTargets(t)
	smol := smolCommands(t)
	image := goImage(t)
	for _, c := range []struct {
		path string
		jobs func(*testing.T, string) []ciJob
		// GitLab's test job has no Docker of its own: it gets a
		// docker:dind service. GitHub's runner has a daemon.
		dindTest bool
	}{
		{filepath.Join("..", ".gitlab-ci.yml"), gitlabJobs, true},
		{filepath.Join("..", ".github", "workflows", "build.yml"), githubJobs, false},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			jobs := c.jobs(t, c.path)
			ran := map[string]bool{}
			for _, j := range jobs {
				runsTests := slices.ContainsFunc(j.commands, func(c ciCommand) bool {
					f := strings.Fields(c.line)
					return len(f) > 1 && f[0] == "make" && slices.Contains(f[1:], "test")
				})
				if c.dindTest && runsTests {
					for _, p := range dindTestProblems(j) {
						t.Errorf("job %s runs make test, which needs a docker:dind service whose daemon sees TMPDIR: %s", j.name, p)
					}
				}
				for _, cmd := range j.commands {
					if why := checkCommand(cmd.line, targets, smol); why != "" {
						t.Errorf("%s: %q: %s", cmd.where, cmd.line, why)
					}
					if f := strings.Fields(strings.TrimPrefix(cmd.line, "sudo ")); len(f) > 1 && f[0] == "make" {
						for _, target := range f[1:] {
							ran[target] = true
							if target == "build" && !slices.Contains(j.artifacts, "dist/") {
								t.Errorf("job %s runs make build but keeps no dist/ artifacts (has %v)", j.name, j.artifacts)
							}
						}
					}
				}
				if strings.HasPrefix(j.image, "golang:") {
					if j.image != image {
						t.Errorf("job %s runs in %s, but go.mod pins %s", j.name, j.image, image)
					}
					usesSmol := slices.ContainsFunc(j.commands, func(c ciCommand) bool {
						return strings.Contains(c.line, "make build") || strings.Contains(c.line, "make verify")
					})
					// With no daemon of its own a job builds with the go in
					// the image; one with a docker:dind service builds through
					// that daemon (smol copies the files: it cannot see them).
					switch {
					case j.dind && !strings.HasPrefix(j.env["DOCKER_HOST"], "tcp://docker:"):
						t.Errorf("job %s has a docker:dind service but DOCKER_HOST=%q, not the service", j.name, j.env["DOCKER_HOST"])
					case j.dind && usesSmol && j.env["SMOL_ENGINE"] != "" && j.env["SMOL_ENGINE"] != "docker":
						t.Errorf("job %s builds through its docker:dind service but SMOL_ENGINE=%q", j.name, j.env["SMOL_ENGINE"])
					case !j.dind && usesSmol && j.env["SMOL_ENGINE"] != "native":
						t.Errorf("job %s builds inside %s but SMOL_ENGINE=%q, want native", j.name, j.image, j.env["SMOL_ENGINE"])
					}
				}
			}
			for _, want := range []string{"test", "build", "verify"} {
				if !ran[want] {
					t.Errorf("no job runs make %s", want)
				}
			}
		})
	}
}
