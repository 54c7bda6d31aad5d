// Package deploy holds no code: its directory holds the files that run
// gohttp-smol on a host (systemd units, a Nomad job template, the .deb's
// extra files), and its tests check each of them with the real tool that
// reads it: systemd-analyze and systemd-socket-activate for the units,
// systemd itself (PID 1 of a Debian container made with debootstrap) for the
// installed .deb and DEPLOY.md's recipes, a YAML parser, make and smol for
// the CI configurations.
//
// The Nomad job is tested by cmd/mknomad, which fills it in, and the .deb's
// bytes by cmd/mkdeb, which builds it.
package deploy
