// Package manifest reads and writes the record smol leaves beside its
// outputs: dist/manifest.json, which says how every output was built, and
// dist/SHA256SUMS, which `sha256sum -c` accepts.
//
// Both files are byte-identical for identical inputs: they hold no wall-clock
// time, no host name and no absolute path.
package manifest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/gohttp-smol/gohttp-smol/internal/source"
)

// Schema names the manifest format. A reader refuses any other value.
const Schema = "smol.manifest/v1"

// File names inside the output directory.
const (
	ManifestFile = "manifest.json"
	SumsFile     = "SHA256SUMS"
)

// Manifest records one smol build.
type Manifest struct {
	Schema    string `json:"schema"`
	Tool      Tool   `json:"tool"`
	Engine    string `json:"engine"`
	Image     Image  `json:"image"`
	GoVersion string `json:"go_version"`
	// GoPin is the version pinned outside go.mod (smol's --go or SMOL_GO),
	// which verify rebuilds with; empty when go.mod chose the toolchain.
	GoPin      string      `json:"go_pin,omitempty"`
	Module     string      `json:"module"`
	Source     source.Info `json:"source"`
	Packages   []string    `json:"packages"`
	Platforms  []string    `json:"platforms"`
	Version    string      `json:"version"`
	VersionVar string      `json:"version_var"`
	Tags       []string    `json:"tags,omitempty"`
	LDFlags    string      `json:"ldflags"`
	Flags      []string    `json:"flags"`
	Env        []string    `json:"env"`
	Outputs    []Output    `json:"outputs"`
	// Cgo is the user's choice for C code: "on" (--cgo), "off"
	// (--cgo=off), or empty when the build graph had none and the user did
	// not choose. Verify rebuilds with the same choice.
	Cgo string `json:"cgo,omitempty"`
	// CToolchain names the C compiler and C library of a --cgo build, with
	// their exact versions, as the cgo builder image lists them.
	CToolchain []string `json:"c_toolchain,omitempty"`
	// CEnv is, per platform of a --cgo build, the C compiler settings of
	// its build step (CC, CXX, CGO_CFLAGS, ...), as set.
	CEnv map[string][]string `json:"c_env,omitempty"`
}

// Tool is the program that wrote the manifest.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Image is the builder image: the reference asked for and the ID run.
// Both are empty for the native engine.
type Image struct {
	Ref string `json:"ref,omitempty"`
	ID  string `json:"id,omitempty"`
}

// Output is one file the build produced.
type Output struct {
	Name     string `json:"name"`     // file name in the output directory
	Package  string `json:"package"`  // the command's name as go build names it
	Platform string `json:"platform"` // GOOS/GOARCH
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// Marshal returns the manifest as indented JSON with a final newline. Outputs
// are sorted by name so that the same build always writes the same bytes.
func (m Manifest) Marshal() []byte {
	slices.SortFunc(m.Outputs, func(a, b Output) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		// Every field is a string, number, bool or slice of them.
		panic(err)
	}
	return append(b, '\n')
}

// Sums returns the SHA256SUMS text for the outputs: "<hex>  <name>" lines
// sorted by name, the format sha256sum -c reads.
func (m Manifest) Sums() []byte {
	outs := slices.Clone(m.Outputs)
	slices.SortFunc(outs, func(a, b Output) int { return strings.Compare(a.Name, b.Name) })
	var b bytes.Buffer
	for _, o := range outs {
		fmt.Fprintf(&b, "%s  %s\n", o.SHA256, o.Name)
	}
	return b.Bytes()
}

// ErrInvalid is wrapped by every error Parse returns for a manifest that is
// malformed, from another schema, or inconsistent with itself.
var ErrInvalid = errors.New("invalid manifest")

var (
	hexRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
)

// Parse decodes and checks a manifest. Unknown fields, a different schema,
// output names that are not plain file names, and malformed digests are all
// refused: a manifest drives a rebuild, so it must be exactly what smol
// wrote.
func Parse(data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if m.Schema != Schema {
		return Manifest{}, fmt.Errorf("%w: schema %q, this smol reads %q", ErrInvalid, m.Schema, Schema)
	}
	if m.GoPin != "" && m.GoPin != m.GoVersion {
		return Manifest{}, fmt.Errorf("%w: go_pin %q differs from go_version %q", ErrInvalid, m.GoPin, m.GoVersion)
	}
	if len(m.Outputs) == 0 {
		return Manifest{}, fmt.Errorf("%w: no outputs", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, o := range m.Outputs {
		if !nameRE.MatchString(o.Name) || seen[o.Name] {
			return Manifest{}, fmt.Errorf("%w: bad or repeated output name %q", ErrInvalid, o.Name)
		}
		seen[o.Name] = true
		if !hexRE.MatchString(o.SHA256) || o.Size <= 0 {
			return Manifest{}, fmt.Errorf("%w: output %s: bad sha256 %q or size %d", ErrInvalid, o.Name, o.SHA256, o.Size)
		}
		if !slices.Contains(m.Platforms, o.Platform) {
			return Manifest{}, fmt.Errorf("%w: output %s: platform %q is not among the built platforms %v", ErrInvalid, o.Name, o.Platform, m.Platforms)
		}
	}
	if !bytes.Equal(m.Marshal(), data) {
		// Key order, spacing or output order differ from what smol writes:
		// the file was edited.
		return Manifest{}, fmt.Errorf("%w: not in the form smol writes (edited by hand?)", ErrInvalid)
	}
	return m, nil
}

// Read reads and parses the manifest at path.
func Read(path string) (Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, err
	}
	m, err := Parse(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseSums reads SHA256SUMS text into a map from file name to hex digest.
// It accepts the text and binary ("*name") forms sha256sum writes.
func ParseSums(data []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			sum, name, ok = strings.Cut(line, " *")
		}
		if !ok || !hexRE.MatchString(sum) || name == "" {
			return nil, fmt.Errorf("SHA256SUMS line %d: want \"<64 hex digits>  <name>\", got %q", n, line)
		}
		if _, dup := sums[name]; dup {
			return nil, fmt.Errorf("SHA256SUMS line %d: %s listed twice", n, name)
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

// HashFile returns the hex SHA-256 and size of the file at path.
func HashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}
