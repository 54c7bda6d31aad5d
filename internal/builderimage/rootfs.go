package builderimage

import (
	"archive/tar"
	"bytes"
	"encoding/pem"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// baseEntries returns the image's files and directories other than GOROOT.
func baseEntries() []entry {
	dir := func(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }
	file := func(name string, data []byte) entry {
		return entry{name: name, typ: tar.TypeReg, mode: 0o644, size: int64(len(data)), data: data}
	}
	return []entry{
		dir("etc", 0o755),
		file("etc/group", []byte(etcGroup)),
		file("etc/nsswitch.conf", []byte(etcNsswitch)),
		file("etc/passwd", []byte(etcPasswd)),
		dir("etc/ssl", 0o755),
		dir("etc/ssl/certs", 0o755),
		file("etc/ssl/certs/ca-certificates.crt", caBundle()),
		// GOPATH as the official image makes it (chmod -R 1777 "$GOPATH"):
		// any uid the build runs as can install and download into it.
		dir("go", 0o1777),
		dir("go/bin", 0o1777),
		dir("go/src", 0o1777),
		dir("root", 0o700),
		dir("tmp", 0o1777),
		dir("usr", 0o755),
		dir("usr/local", 0o755),
	}
}

// Users and groups: root, and nobody for builds that ask for an unprivileged
// known user. No shell exists, hence nologin.
const (
	etcPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	etcGroup = "root:x:0:\n" +
		"nobody:x:65534:\n"
	// Go's resolver reads the hosts line: /etc/hosts (which the engine
	// mounts) before DNS, as with glibc's default.
	etcNsswitch = "passwd: files\n" +
		"group: files\n" +
		"hosts: files dns\n"
)

// caBundle returns the PEM bundle for /etc/ssl/certs/ca-certificates.crt,
// the first file Go's crypto/x509 looks for on Linux.
//
// The roots are Mozilla NSS's, from golang.org/x/crypto/x509roots/fallback,
// pinned in go.sum: unlike the host's /etc/ssl/certs (which changes with
// every ca-certificates update and differs between distributions) it is the
// same on every machine, so it keeps the image ID reproducible; updating
// the module is a deliberate change that changes the image ID. Roots that
// NSS distrusts after a date are left out: a PEM file cannot carry that
// constraint, and leaving them in would trust them more than NSS does.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// Writing PEM to a bytes.Buffer cannot fail.
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}
