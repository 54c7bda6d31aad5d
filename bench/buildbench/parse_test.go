package main

import (
	"strings"
	"testing"
	"time"
)

func lines(texts ...string) []line {
	var ls []line
	for i, t := range texts {
		ls = append(ls, line{At: time.Duration(i+1) * 100 * time.Millisecond, Text: t})
	}
	return ls
}

func TestParseProgress(t *testing.T) {
	tests := []struct {
		name    string
		in      []line
		want    progress
		wantErr string
	}{
		{
			name: "warm build with the image fallback",
			in: lines(
				"smol: image golang:1.26.8 not present; using smol/go:1.26.8 431cccece24e",
				"smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker",
				"smol: build linux/amd64         1.4s  gohttp-smol_linux_amd64 6.7 MiB",
				"smol: wrote 1 output(s), SHA256SUMS and manifest.json in dist",
			),
			want: progress{Image: "smol/go:1.26.8", ImageID: "431cccece24e", Ready: 200 * time.Millisecond,
				Steps: []stepLine{{Name: "build linux/amd64", Took: 1400 * time.Millisecond, At: 300 * time.Millisecond}},
				Wrote: 400 * time.Millisecond},
		},
		{
			name: "cold build with deps and compiler chatter",
			in: lines(
				"smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker",
				"go: downloading golang.org/x/crypto v0.45.0",
				"smol: deps                      4.9s  go mod download",
				"smol: build linux/arm64        49.4s  gohttp-smol_linux_arm64 6.5 MiB",
				"smol: build linux/amd64        12s  gohttp-smol_linux_amd64 6.7 MiB",
				"smol: wrote 2 output(s), SHA256SUMS and manifest.json in dist",
			),
			want: progress{Image: "smol/go:1.26.8", ImageID: "431cccece24e", Ready: 100 * time.Millisecond,
				Steps: []stepLine{
					{Name: "deps", Took: 4900 * time.Millisecond, At: 300 * time.Millisecond},
					{Name: "build linux/arm64", Took: 49400 * time.Millisecond, At: 400 * time.Millisecond},
					{Name: "build linux/amd64", Took: 12 * time.Second, At: 500 * time.Millisecond},
				},
				Wrote: 600 * time.Millisecond},
		},
		{
			name:    "failed build: no progress to time",
			in:      lines("smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker", "main.go:3:1: syntax error"),
			wantErr: "no step and \"wrote\" lines among 2 lines",
		},
		{
			name:    "step but no wrote line",
			in:      lines("smol: build linux/amd64   1.0s  x 1 MiB"),
			wantErr: "has smol's output format changed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProgress(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Image != tt.want.Image || got.ImageID != tt.want.ImageID || got.Ready != tt.want.Ready || got.Wrote != tt.want.Wrote {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if len(got.Steps) != len(tt.want.Steps) {
				t.Fatalf("steps = %+v, want %+v", got.Steps, tt.want.Steps)
			}
			for i := range got.Steps {
				if got.Steps[i] != tt.want.Steps[i] {
					t.Errorf("step %d = %+v, want %+v", i, got.Steps[i], tt.want.Steps[i])
				}
			}
		})
	}
}

func TestSplitPhases(t *testing.T) {
	p, err := parseProgress(lines(
		"smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker", // 100 ms
		"smol: build linux/amd64         1.2s  x 1 MiB",                    // 200 ms
		"smol: wrote 1 output(s), SHA256SUMS and manifest.json in dist",    // 300 ms
	))
	if err != nil {
		t.Fatal(err)
	}
	got := splitPhases(p, 350*time.Millisecond, "build linux/amd64")
	want := phases{Ready: 100 * time.Millisecond, Step: 100 * time.Millisecond, Publish: 100 * time.Millisecond,
		Exit: 50 * time.Millisecond, Said: 1200 * time.Millisecond}
	if got != want {
		t.Errorf("splitPhases = %+v, want %+v", got, want)
	}
}

func TestParseTrace(t *testing.T) {
	const link = "Executing action (link example.com/m/cmd/x)"
	tests := []struct {
		name    string
		json    string
		want    goTrace
		wantErr string
	}{
		{
			name: "build",
			json: `[{"name":"Running build command","ph":"B","ts":1000},
				{"name":"load.PackagesAndErrors","ph":"B","ts":1100},
				{"name":"load.PackagesAndErrors","ph":"E","ts":201100},
				{"name":"Executing action (build fmt) -> ` + link + `","ph":"s","ts":250000},
				{"name":"` + link + `","ph":"B","ts":300000},
				{"name":"` + link + `","ph":"E","ts":700000},
				{"name":"Running build command","ph":"E","ts":701000}]`,
			want: goTrace{Total: 700 * time.Millisecond, Load: 200 * time.Millisecond, Link: 400 * time.Millisecond},
		},
		{
			name:    "another package's link",
			json:    `[{"name":"load.PackagesAndErrors","ph":"B","ts":1},{"name":"load.PackagesAndErrors","ph":"E","ts":2},{"name":"Executing action (link example.com/m/cmd/y)","ph":"B","ts":3},{"name":"Executing action (link example.com/m/cmd/y)","ph":"E","ts":4}]`,
			wantErr: `no complete "Executing action (link example.com/m/cmd/x)" span`,
		},
		{
			name:    "link never ended",
			json:    `[{"name":"load.PackagesAndErrors","ph":"B","ts":1},{"name":"load.PackagesAndErrors","ph":"E","ts":2},{"name":"` + link + `","ph":"B","ts":3}]`,
			wantErr: "no complete",
		},
		{"empty", `[]`, goTrace{}, "no events"},
		{"not JSON", `{"trace`, goTrace{}, "go trace: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTrace([]byte(tt.json), "example.com/m/cmd/x")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseTrace = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSplitShell(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "docker run --rm -v /a:/b:ro img go version", want: []string{"docker", "run", "--rm", "-v", "/a:/b:ro", "img", "go", "version"}},
		{in: "go build '-ldflags=-s -w -X main.version=v1' -o /out/", want: []string{"go", "build", "-ldflags=-s -w -X main.version=v1", "-o", "/out/"}},
		{in: `-e 'A=it'\''s' -e B= -e ''`, want: []string{"-e", "A=it's", "-e", "B=", "-e", ""}},
		{in: `a\ b  c`, want: []string{"a b", "c"}},
		{in: "", want: nil},
		{in: "echo 'open", wantErr: "unterminated single quote"},
		{in: "echo $HOME", wantErr: `unquoted '$' at offset 5`},
		{in: "a; b", wantErr: "unquoted ';'"},
		{in: `a\`, wantErr: "trailing backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitShell(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("splitShell(%q) err = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
				t.Errorf("splitShell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestShellLineRoundTrip: what shellLine writes, splitShell reads back.
func TestShellLineRoundTrip(t *testing.T) {
	for _, argv := range [][]string{
		{"docker", "run", "-e", "GOFLAGS=", "-e", "X=a b", "img"},
		{"it's", "", "$HOME", "a;b", "tab\there", "~/x", "*.go"},
	} {
		got, err := splitShell(shellLine(argv))
		if err != nil {
			t.Fatalf("%q: %v", shellLine(argv), err)
		}
		if strings.Join(got, "\x00") != strings.Join(argv, "\x00") {
			t.Errorf("round trip of %q gave %q", argv, got)
		}
	}
}

// dryRun is what smol build --dry-run printed for the server (trimmed).
const dryRun = `# deps
/usr/local/bin/docker run --rm --name smol-2102-deps --user 0:0 --pull=never -v /w/repo:/src:ro -v /c/mod:/cache/mod -w /src -e GOFLAGS=-mod=readonly golang:1.26.8 go mod download
# build linux/amd64
/usr/local/bin/docker run --rm --name smol-2102-build-linux-amd64 --user 0:0 --pull=never --network=none -v /w/repo:/src:ro -v /w/repo/dist/.smol-2102:/out -v /c/go-build:/cache/go-build -w /src -e GOFLAGS= -e GOPROXY=off golang:1.26.8 go build -mod=readonly -trimpath -buildvcs=false '-ldflags=-s -w -buildid= -X main.version=5022e26' -o /out/linux_amd64/ ./cmd/gohttp-smol
`

func TestBuildCommandAndProber(t *testing.T) {
	step, err := buildCommand(dryRun, "build linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildCommand(dryRun, "build linux/arm64"); err == nil || !strings.Contains(err.Error(), `no "build linux/arm64" step`) {
		t.Errorf("missing step: err = %v", err)
	}
	p, err := newProber(step, "smol/go:1.26.8", "/tmp/probe", 42)
	if err != nil {
		t.Fatal(err)
	}
	base := "/usr/local/bin/docker run --rm --name buildbench-42-probe --user 0:0 --pull=never --network=none -v /w/repo:/src:ro -v /tmp/probe:/out -v /c/go-build:/cache/go-build -w /src -e GOFLAGS= -e GOPROXY=off smol/go:1.26.8 "
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"start", p.start, base + "go version"},
		{"traced", p.traced, base + "go build -debug-trace=/out/trace.json -mod=readonly -trimpath -buildvcs=false '-ldflags=-s -w -buildid= -X main.version=5022e26' -o /out/linux_amd64/ ./cmd/gohttp-smol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellLine(tt.got); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if got := p.traced[imageIndex(p.traced)]; got != "smol/go:1.26.8" {
		t.Errorf("imageIndex points at %q", got)
	}
	// The step it came from is untouched.
	if shellLine(step) == shellLine(p.traced) || !strings.Contains(shellLine(step), "smol-2102-build-linux-amd64") {
		t.Errorf("newProber changed smol's step: %s", shellLine(step))
	}
}

func TestNewProberRejects(t *testing.T) {
	tests := []struct {
		name, cmd, wantErr string
	}{
		{"no go build", "docker run --rm -v /a:/out img go vet ./...", `no "go build"`},
		{"no /out mount", "docker run --rm -v /a:/src img go build ./cmd/x", "mounts no /out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := splitShell(tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := newProber(argv, "img", "/p", 1); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
