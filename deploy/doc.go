// Package deploy holds no code: its directory holds the files that run
// gohttp-smol on a host (systemd units, a Nomad job, the .deb's extra files),
// and its tests check each of them with the real tool that reads it:
// systemd-analyze and systemd-socket-activate for the units, a YAML parser
// and the Makefile for the CI configurations.
//
// The Nomad job is tested by cmd/mknomad, which fills it in, and the .deb by
// cmd/mkdeb, which builds it.
package deploy
