// Package systemd speaks the two systemd protocols a service needs, with no
// dependency: socket activation (sd_listen_fds(3)) and readiness
// notification (sd_notify(3)).
//
// Both are driven by environment variables that the service manager sets;
// when they are absent, [Listeners] returns nothing and a nil [*Notifier]
// ignores every call, so a program calls them unconditionally.
package systemd
