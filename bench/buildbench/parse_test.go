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
				"smol: std linux/amd64          9.8s  go build, 49 standard packages into the build cache",
				"smol: build linux/arm64        49.4s  gohttp-smol_linux_arm64 6.5 MiB",
				"smol: build linux/amd64        12s  gohttp-smol_linux_amd64 6.7 MiB",
				"smol: wrote 2 output(s), SHA256SUMS and manifest.json in dist",
			),
			want: progress{Image: "smol/go:1.26.8", ImageID: "431cccece24e", Ready: 100 * time.Millisecond,
				Steps: []stepLine{
					{Name: "deps", Took: 4900 * time.Millisecond, At: 300 * time.Millisecond},
					{Name: "std linux/amd64", Took: 9800 * time.Millisecond, At: 400 * time.Millisecond},
					{Name: "build linux/arm64", Took: 49400 * time.Millisecond, At: 500 * time.Millisecond},
					{Name: "build linux/amd64", Took: 12 * time.Second, At: 600 * time.Millisecond},
				},
				Wrote: 700 * time.Millisecond},
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

// TestTransferBytes: the bytes of a copy-mode build come from its step
// lines; a mount-mode build has none.
func TestTransferBytes(t *testing.T) {
	for _, tt := range []struct {
		name, in, out string
		lines         []line
	}{
		{"copy", "222.5 KiB", "13.4 MiB", lines(
			"smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker, transfer copy (asked for)",
			"smol: source in                 0.3s  3 files and the CA bundle, 222.5 KiB in (copy mode)",
			"smol: outputs back              0.1s  13.4 MiB out (copy mode)",
		)},
		{"mount", "", "", lines("smol: image smol/go:1.26.8 431cccece24e, go1.26.8, engine docker, transfer mount (the daemon sees this machine's files)")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, out := transferBytes(tt.lines)
			if in != tt.in || out != tt.out {
				t.Errorf("transferBytes = %q, %q; want %q, %q", in, out, tt.in, tt.out)
			}
		})
	}
}
