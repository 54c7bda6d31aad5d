package nomadjob

import (
	"strings"
	"testing"
)

const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestRender(t *testing.T) {
	good := Values{Version: "v1.2.3-4-gabc1234-dirty", Arch: "amd64", SHA256: sum}
	const tmpl = `source = "x/@VERSION@/f_@ARCH@"` + "\n" + `checksum = "sha256:@SHA256@"` + "\n" + `v = "@VERSION@"`
	for _, c := range []struct {
		name    string
		tmpl    string
		v       Values
		want    string
		wantErr string
	}{
		{"all filled", tmpl, good,
			`source = "x/v1.2.3-4-gabc1234-dirty/f_amd64"` + "\n" + `checksum = "sha256:` + sum + `"` + "\n" + `v = "v1.2.3-4-gabc1234-dirty"`, ""},
		{"missing placeholder", `checksum = "sha256:@SHA256@" @ARCH@`, good, "", "has no @VERSION@"},
		{"unknown placeholder", tmpl + ` @REGION@`, good, "", `unknown placeholders ["@REGION@"]`},
		{"short sha256", tmpl, Values{Version: "v1", Arch: "amd64", SHA256: sum[:63]}, "", "sha256"},
		{"upper-case sha256", tmpl, Values{Version: "v1", Arch: "amd64", SHA256: strings.ToUpper(sum)}, "", "sha256"},
		{"version with a quote", tmpl, Values{Version: `v1"`, Arch: "amd64", SHA256: sum}, "", "version"},
		{"version with interpolation", tmpl, Values{Version: "${x}", Arch: "amd64", SHA256: sum}, "", "version"},
		{"version with a slash", tmpl, Values{Version: "a/b", Arch: "amd64", SHA256: sum}, "", "version"},
		{"no arch", tmpl, Values{Version: "v1", SHA256: sum}, "", "arch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render([]byte(c.tmpl), c.v)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Render: %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
